package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

func TestHealthzSaysStartingUntilTheNodeIsReady(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	h, err := startHealthServer(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer h.stop()
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusServiceUnavailable || body != "starting\n" {
		t.Errorf("before the node is Ready: %d %q, want 503 \"starting\"", code, body)
	}
	h.setReady()
	if code, body := get(); code != http.StatusOK || body != "ok" {
		t.Errorf("once the node is Ready: %d %q, want 200 \"ok\"", code, body)
	}
}

func TestNoHealthAddressServesNothing(t *testing.T) {
	h, err := startHealthServer(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	h.setReady()
	h.stop()
}

func TestHealthAddressInUseIsAnError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := startHealthServer(context.Background(), l.Addr().String()); err == nil {
		t.Error("want an error for an address in use")
	}
}
