// Package metrics holds the provider's own Prometheus metrics, served on
// the kubelet API port at /metrics (behind the same authentication and
// nodes/metrics authorization as a kubelet's): how long pods take to start,
// how long a container's exit takes to reach the status, how long probes
// and engine calls take, how many pod starts wait for an engine slot, and
// the process's own CPU and memory.
//
// Names follow the kubelet's where it has one (kubelet_pod_start_duration_seconds,
// prober_probe_duration_seconds, kubelet_runtime_operations_duration_seconds),
// under the vk_docker_ prefix so that both can be scraped side by side.
package metrics

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "vk_docker"

// latencyBuckets span 5 ms to 2 min: an engine call, a probe and a pod
// start under load all fall inside.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .15, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 120}

var (
	// PodStartDuration: the provider was handed the pod (CreatePod) →
	// the first status with every app container started.
	PodStartDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "pod_start_duration_seconds",
		Help:    "Time from the provider being handed a new pod to the first status with all its containers started.",
		Buckets: latencyBuckets,
	})
	// ExitToStatus: the engine's die event time → the status showing that
	// exit handed to virtual-kubelet for the API.
	ExitToStatus = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "container_exit_to_status_seconds",
		Help:    "Time from a container's exit (the engine's die event time) to the pod status showing it being handed to virtual-kubelet.",
		Buckets: latencyBuckets,
	})
	// ProbeDuration: one probe attempt, by kind (Liveness, Readiness,
	// Startup) and handler (exec, http, tcp, grpc).
	ProbeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "probe_duration_seconds",
		Help:    "Duration of one probe attempt, by probe kind and handler.",
		Buckets: latencyBuckets,
	}, []string{"probe_type", "handler"})
	// ProbeIntervalRatio: the time between the starts of two attempts of
	// one probe divided by its periodSeconds (1 is on time).
	ProbeIntervalRatio = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "probe_interval_ratio",
		Help:    "Time between the starts of consecutive attempts of a probe, divided by its period.",
		Buckets: []float64{0.9, 0.98, 1.01, 1.02, 1.05, 1.1, 1.2, 1.5, 2, 3, 5},
	}, []string{"probe_type"})
	// EngineCallDuration: one Docker engine call, by operation.
	EngineCallDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "engine_operation_duration_seconds",
		Help:    "Duration of Docker engine calls, by operation.",
		Buckets: latencyBuckets,
	}, []string{"operation"})
	// EngineCallErrors counts the engine calls that failed, by operation.
	EngineCallErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "engine_operation_errors_total",
		Help: "Docker engine calls that returned an error, by operation.",
	}, []string{"operation"})
	// StartQueueWait: how long a sandbox or container start waited for an
	// engine slot (--max-parallel-starts).
	StartQueueWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "start_queue_wait_seconds",
		Help:    "Time a sandbox or container start waited for one of the --max-parallel-starts slots.",
		Buckets: latencyBuckets,
	})
)

// Registry holds every metric above plus the Go runtime's and the process's
// (process_resident_memory_bytes, process_cpu_seconds_total).
var Registry = prometheus.NewRegistry()

func init() {
	Registry.MustRegister(PodStartDuration, ExitToStatus, ProbeDuration, ProbeIntervalRatio,
		EngineCallDuration, EngineCallErrors, StartQueueWait, startQueueDepth, startsInFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// StartQueue reports the pod starts waiting for an engine slot and those
// holding one.
type StartQueue interface {
	Waiting() int
	InFlight() int
}

// startQueue is the process's StartQueue (SetStartQueue); nil reads as 0.
var startQueue atomic.Pointer[StartQueue]

// SetStartQueue makes q's depth vk_docker_start_queue_depth and its slots
// in use vk_docker_starts_in_flight.
func SetStartQueue(q StartQueue) { startQueue.Store(&q) }

func readStartQueue(f func(StartQueue) int) float64 {
	q := startQueue.Load()
	if q == nil || *q == nil {
		return 0
	}
	return float64(f(*q))
}

var (
	startQueueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "start_queue_depth",
		Help: "Sandbox and container starts waiting for one of the --max-parallel-starts slots.",
	}, func() float64 { return readStartQueue(StartQueue.Waiting) })
	startsInFlight = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "starts_in_flight",
		Help: "Sandbox and container starts holding one of the --max-parallel-starts slots.",
	}, func() float64 { return readStartQueue(StartQueue.InFlight) })
)

// Handler serves Registry in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{})
}
