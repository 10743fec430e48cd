package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The kubelet API's /metrics tells the process's goroutines and open files
// (what the soak suite reads), and /debug/pprof/ lists the profiles.
func TestMetricsRoutes(t *testing.T) {
	mux := http.NewServeMux()
	handleMetrics(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for path, want := range map[string][]string{
		"/metrics":      {"\ngo_goroutines ", "\nprocess_open_fds ", "\nprocess_resident_memory_bytes "},
		"/debug/pprof/": {"goroutine"},
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %v", path, resp.Status, err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("GET %s lacks %q", path, w)
			}
		}
	}
}
