package framework

import (
	"io"
	"net"
	"os"
	"strings"
	"sync"
)

// EngineProxy relays a unix socket to the Docker engine's socket, so that a
// node given `--docker-host unix://<Path>` can be cut off from its engine
// (every relayed connection closed, new ones refused) and given it back,
// while the engine and the pods' containers run on.
type EngineProxy struct {
	// Path is the proxy's socket.
	Path string
	// Target is the engine's socket.
	Target string

	mu    sync.Mutex
	l     net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// NewEngineProxy makes a proxy at path to the engine's local socket
// (DOCKER_HOST when it is a unix socket, else /var/run/docker.sock); Listen
// starts it.
func NewEngineProxy(path string) *EngineProxy {
	target := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		target = strings.TrimPrefix(h, "unix://")
	}
	return &EngineProxy{Path: path, Target: target, conns: map[net.Conn]bool{}}
}

// Listen opens the proxy's socket and relays each connection to the engine.
func (p *EngineProxy) Listen() error {
	l, err := net.Listen("unix", p.Path)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.l = l
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
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return nil
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
	_ = os.Remove(p.Path)
}
