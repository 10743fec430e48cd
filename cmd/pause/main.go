// Command pause is the process of a pod's sandbox container: it holds the
// pod's network, IPC and (with shareProcessNamespace) PID namespaces open,
// reaps the zombies that end up parented to it as PID 1, and exits cleanly on
// SIGTERM or SIGINT. It is built statically and shipped inside vk-docker, which
// turns it into the vk-docker/pause image when the engine lacks it.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Println("vk-docker pause")
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "connect" {
		os.Exit(connect(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "write-volume" {
		os.Exit(writeVolume(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "setup" {
		os.Exit(runSetup(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "subpath" {
		os.Exit(subPath(os.Args[2:]))
	}
	if len(os.Args) > 1 {
		// A command this version lacks must fail, not hold the exec open
		// as a second pause process.
		fmt.Fprintf(os.Stderr, "pause: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		switch sig {
		case syscall.SIGCHLD:
			reap()
		default:
			fmt.Fprintf(os.Stderr, "pause: shutting down on %v\n", sig)
			os.Exit(0)
		}
	}
}

// reap collects every exited child. SIGCHLD coalesces, so one signal may
// stand for several children.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// connect is `pause connect <host:port> <timeout>`: run by the provider with
// `docker exec` in a sandbox, it opens a TCP connection from inside the pod's
// network namespace and relays it over stdin/stdout, so that probes, hooks
// and port-forwards reach pods whose IPs the provider cannot route to. It
// writes "OK\n" once connected, or the error on stderr and exits 1.
func connect(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pause connect <host:port> <timeout>")
		return 2
	}
	timeout, err := time.ParseDuration(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pause connect:", err)
		return 2
	}
	conn, err := net.DialTimeout("tcp", args[0], timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer conn.Close()
	if _, err := os.Stdout.WriteString("OK\n"); err != nil {
		return 1
	}
	go func() {
		_, _ = io.Copy(conn, os.Stdin)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	_, _ = io.Copy(os.Stdout, conn)
	return 0
}
