// Command pause is the process of a pod's sandbox container: it holds the
// pod's network, IPC and (with shareProcessNamespace) PID namespaces open,
// reaps the zombies that end up parented to it as PID 1, and exits cleanly on
// SIGTERM or SIGINT. It is built statically and shipped inside vk-docker, which
// turns it into the vk-docker/pause image when the engine lacks it.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Println("vk-docker pause")
		return
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
