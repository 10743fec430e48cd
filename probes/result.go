// Package probes runs the kubelet's container probes: the handlers (exec,
// tcpSocket, httpGet, grpc) and one worker per container instance and probe
// kind, which applies the probe's timing and thresholds.
package probes

// Result is the outcome of a probe, as the kubelet's prober has it.
type Result int

const (
	// Unknown: no verdict yet (a startup probe before it succeeded), or the
	// prober itself broke.
	Unknown Result = iota
	// Success: the container is healthy.
	Success
	// Failure: the container is unhealthy.
	Failure
)

func (r Result) String() string {
	switch r {
	case Success:
		return "success"
	case Failure:
		return "failure"
	}
	return "unknown"
}
