package main

import (
	"net/http"
	"net/http/pprof"

	"github.com/vk-docker/vk-docker/metrics"
)

// handleMetrics adds the provider's own metrics and Go's profiles to the
// kubelet API, where the node's authentication and authorization apply as
// on a kubelet: /metrics needs nodes/metrics, /debug/pprof nodes/proxy.
// (/metrics/resource, the pods' usage, is virtual-kubelet's route.)
func handleMetrics(mux *http.ServeMux) {
	mux.Handle("/metrics", metrics.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
