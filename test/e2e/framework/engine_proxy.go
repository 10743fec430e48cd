package framework

import (
	"io"
	"net"
	"os"
	"strings"
	"sync"
)

// EngineProxy relays a unix socket or a TCP port on 127.0.0.1 to the Docker
// engine's socket, so that a node given `--docker-host <DockerHost()>` can
// be cut off from its engine (every relayed connection closed, new ones
// refused) and given it back, while the engine and the pods' containers run
// on.
type EngineProxy struct {
	// Network is "unix" or "tcp"; Path is the proxy's socket or, for TCP,
	// its address (the port chosen by the first Listen, kept after).
	Network, Path string
	// Target is the engine's socket.
	Target string

	mu    sync.Mutex
	l     net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// NewEngineProxy makes a proxy at the unix socket path to the engine's
// local socket (DOCKER_HOST when it is a unix socket, else
// /var/run/docker.sock); Listen starts it.
func NewEngineProxy(path string) *EngineProxy {
	target := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		target = strings.TrimPrefix(h, "unix://")
	}
	return &EngineProxy{Network: "unix", Path: path, Target: target, conns: map[net.Conn]bool{}}
}

// NewTCPEngineProxy makes a proxy on a free TCP port of 127.0.0.1 to the
// engine's local socket, as a remote engine is reached; Listen starts it.
func NewTCPEngineProxy() *EngineProxy {
	p := NewEngineProxy("127.0.0.1:0")
	p.Network = "tcp"
	return p
}

// DockerHost is the proxy's address as --docker-host takes it.
func (p *EngineProxy) DockerHost() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Network + "://" + p.Path
}

// Listen opens the proxy's socket and relays each connection to the engine.
func (p *EngineProxy) Listen() error {
	p.mu.Lock()
	addr := p.Path
	p.mu.Unlock()
	l, err := net.Listen(p.Network, addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.l = l
	p.Path = l.Addr().String()
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", p.Target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.relay(c, up) }()
		}
	}()
	return nil
}

// relay copies both ways between a client's connection and the engine's
// until both ends are done, then closes both. An end that stops sending
// has its half-close passed on: a hijacked exec's client closes its
// writing side once stdin is sent and still reads the output; closing the
// engine's connection altogether there would end the exec before it ran
// (exit 126).
func (p *EngineProxy) relay(c, up net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); halfCopy(up, c) }()
	go func() { defer wg.Done(); halfCopy(c, up) }()
	wg.Wait()
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// halfCopy copies src to dst and then closes dst's writing side; on an
// error it closes both, which ends the other direction too.
func halfCopy(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil && cw.CloseWrite() == nil {
		return
	}
	dst.Close()
	src.Close()
}

// Cut closes the listener and every relayed connection, and waits for the
// relaying goroutines; safe to call when already cut.
func (p *EngineProxy) Cut() {
	p.mu.Lock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.wg.Wait()
	if p.Network == "unix" {
		_ = os.Remove(p.Path)
	}
}
