package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
)

// healthServer answers GET /healthz over plain HTTP, without authentication,
// as the kubelet's healthz port does: 503 while the node is starting, 200
// once it has registered and turned Ready. It says only whether this process
// runs its node, so a liveness probe on it restarts a wedged process, never
// one whose Docker engine is down (the node's Ready condition reports that).
type healthServer struct {
	ready atomic.Bool
	srv   *http.Server
	done  chan struct{}
}

// startHealthServer listens on addr ("" for no health endpoint) and serves
// until stop is called.
func startHealthServer(ctx context.Context, addr string) (*healthServer, error) {
	h := &healthServer{done: make(chan struct{})}
	if addr == "" {
		close(h.done)
		return h, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--health-address %q: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !h.ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	h.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(h.done)
		if err := h.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.G(ctx).WithError(err).Error("Health endpoint stopped")
		}
	}()
	log.G(ctx).WithField("address", l.Addr().String()).Debug("Serving /healthz")
	return h, nil
}

// setReady turns /healthz to 200.
func (h *healthServer) setReady() { h.ready.Store(true) }

// stop closes the listener and waits for the server's goroutine.
func (h *healthServer) stop() {
	if h.srv != nil {
		_ = h.srv.Close()
	}
	<-h.done
}
