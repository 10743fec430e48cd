package main

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// attachDebugRoutes adds the kubelet's own process endpoints to the kubelet
// API: /metrics with the Go runtime's and the process's metrics
// (go_goroutines, process_open_fds, process_resident_memory_bytes, ...) and
// /debug/pprof/, as the kubelet serves them on its port. Both sit behind the
// API's authentication, and the authorizer asks for nodes/metrics and
// nodes/proxy, as for the kubelet's. The fault and soak suites read them to
// prove that nothing leaks in the provider itself.
func attachDebugRoutes(mux *http.ServeMux) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
