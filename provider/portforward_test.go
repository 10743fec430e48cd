package provider

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// clientStream is kubectl's side of one forwarded connection: it sends its
// request, then ends its sending side, and collects the answer.
type clientStream struct {
	io.Reader
	mu  sync.Mutex
	out bytes.Buffer
}

func (s *clientStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.Write(p)
}
func (s *clientStream) Close() error { return nil }

// A client that sends its request and closes its side still gets the whole
// answer: the pod sees end-of-input (a half close), not a reset.
func TestRelayHalfClosesTowardsThePod(t *testing.T) {
	conn := podConn(t, func(c net.Conn) {
		req, _ := io.ReadAll(c) // until the client's half close
		_, _ = c.Write([]byte("pong:" + string(req)))
	})
	stream := &clientStream{Reader: strings.NewReader("ping")}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := relay(ctx, conn, stream); err != nil {
		t.Fatal(err)
	}
	if got := stream.out.String(); got != "pong:ping" {
		t.Errorf("client got %q, want pong:ping", got)
	}
}

// A client that goes away ends the relay even if the pod never answers.
func TestRelayEndsWithTheClient(t *testing.T) {
	conn := podConn(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c) // never answers; ends when the relay closes
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay(ctx, conn, &clientStream{Reader: strings.NewReader("")}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("relay after the client left: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("relay still running after the client left")
	}
}

// podConn connects to a loopback server that serves one connection with
// serve, as a pod would.
func podConn(t *testing.T, serve func(net.Conn)) net.Conn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return conn
}
