package dockerhost

// The pause program's connect command: TCP connections from inside a
// sandbox's network namespace, for probes and hooks when pod IPs are not
// routable from the provider (--probe-network=sandbox).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// SandboxDialer returns a dialer that opens TCP connections from inside the
// network namespace of the sandbox sandboxID, by running the pause program's
// connect command there with `docker exec` and relaying its stdin/stdout.
// It reaches pod IPs (and the pod's localhost) even when the engine is on
// another host whose container network the provider cannot route to. The
// sandbox must run the project's pause image.
func SandboxDialer(c Client, sandboxID string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network != "tcp" && network != "tcp4" && network != "tcp6" {
			return nil, fmt.Errorf("dial %s %s from the sandbox: only tcp", network, addr)
		}
		timeout := 30 * time.Second
		if d, ok := ctx.Deadline(); ok {
			timeout = max(time.Until(d), time.Millisecond)
		}
		execID, err := c.ExecCreate(ctx, sandboxID, container.ExecOptions{
			Cmd:          []string{PauseBinaryPath, "connect", addr, timeout.String()},
			AttachStdin:  true,
			AttachStdout: true,
			AttachStderr: true,
		})
		if err != nil {
			return nil, fmt.Errorf("dial %s from sandbox %.12s: %w", addr, sandboxID, err)
		}
		hj, err := c.ExecAttach(ctx, execID, false)
		if err != nil {
			return nil, fmt.Errorf("dial %s from sandbox %.12s: %w", addr, sandboxID, err)
		}
		pr, pw := io.Pipe()
		stderr := &lockedBuffer{}
		go func() {
			_, err := stdcopy.StdCopy(pw, stderr, hj.Reader)
			_ = pw.CloseWithError(err)
		}()
		br := bufio.NewReader(pr)
		line, err := br.ReadString('\n')
		if line != "OK\n" {
			hj.Close()
			msg := strings.TrimSpace(stderr.String())
			if msg == "" && err != nil {
				msg = err.Error()
			}
			// The relay's own words ("dial tcp IP:port: connect: connection
			// refused"), as a direct dial would have said it.
			return nil, errors.New(msg)
		}
		return &execConn{r: br, hj: hj, addr: addr}, nil
	}
}

// execConn is a TCP connection relayed by an exec's standard streams.
type execConn struct {
	r    *bufio.Reader
	hj   types.HijackedResponse
	addr string
	once sync.Once
}

func (c *execConn) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *execConn) Write(b []byte) (int, error) { return c.hj.Conn.Write(b) }
func (c *execConn) Close() error {
	c.once.Do(c.hj.Close)
	return nil
}

// CloseWrite ends the stream towards the pod (the relay half-closes its
// connection).
func (c *execConn) CloseWrite() error                  { return c.hj.CloseWrite() }
func (c *execConn) LocalAddr() net.Addr                { return c.hj.Conn.LocalAddr() }
func (c *execConn) RemoteAddr() net.Addr               { return relayAddr(c.addr) }
func (c *execConn) SetDeadline(t time.Time) error      { return c.hj.Conn.SetDeadline(t) }
func (c *execConn) SetReadDeadline(t time.Time) error  { return c.hj.Conn.SetReadDeadline(t) }
func (c *execConn) SetWriteDeadline(t time.Time) error { return c.hj.Conn.SetWriteDeadline(t) }

type relayAddr string

func (a relayAddr) Network() string { return "tcp" }
func (a relayAddr) String() string  { return string(a) }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
