package probes

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vk-docker/vk-docker/metrics"
	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// Kind is one of the three probes a container may have.
type Kind string

const (
	Liveness  Kind = "Liveness"
	Readiness Kind = "Readiness"
	Startup   Kind = "Startup"
)

// ProbeFunc runs one attempt of probe for the worker's container and returns
// its result and the output the kubelet puts in events; an error means the
// prober itself broke.
type ProbeFunc func(ctx context.Context, probe *v1.Probe, timeout time.Duration) (Result, string, error)

// WorkerConfig describes one probe of one container instance.
type WorkerConfig struct {
	// Kind and Probe are the probe; Probe carries the API's defaults.
	Kind  Kind
	Probe *v1.Probe
	// StartedAt is when the container instance started: initialDelaySeconds
	// counts from it.
	StartedAt time.Time
	// Run probes the container once.
	Run ProbeFunc
	// Started reports whether the container's startup probe succeeded (or it
	// has none); liveness and readiness probes wait for it, as in the kubelet.
	Started func() bool
	// Report is called with every attempt's outcome (for Unhealthy events)
	// and whether the thresholded result changed; an attempt whose prober
	// broke is reported as Unknown with the error as output.
	Report func(kind Kind, attempt Result, output string, result Result, changed bool)
	// Clock times the probe.
	Clock clock.Clock
}

// Worker probes one container instance for one probe kind, periodically, in
// its own goroutine (Run), until Stop or until a liveness or startup probe
// has failed: the container is then restarted, and a new instance gets a new
// worker.
type Worker struct {
	cfg      WorkerConfig
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	trigger  chan struct{}

	// Owned by Run.
	result      Result // the thresholded result
	lastRaw     Result
	runLength   int
	lastAttempt time.Time // start of the last attempt, for metrics.ProbeIntervalRatio
}

// NewWorker returns a worker whose result starts as the kubelet's does: not
// ready, alive, not started.
func NewWorker(cfg WorkerConfig) *Worker {
	w := &Worker{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{}), trigger: make(chan struct{}, 1)}
	switch cfg.Kind {
	case Readiness:
		w.result = Failure
	case Liveness:
		w.result = Success
	default:
		w.result = Unknown
	}
	return w
}

// Stop ends the worker and cancels a probe in flight; it is safe to call
// more than once, and returns once the goroutine has ended (if it started).
func (w *Worker) Stop() {
	w.stopOnce.Do(func() { close(w.stop) })
}

// Trigger makes the worker probe now instead of at the end of its period,
// as the kubelet does for a readiness probe once the startup probe
// succeeded; it never blocks.
func (w *Worker) Trigger() {
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

// Done is closed when Run has returned.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Run probes every periodSeconds until stopped.
func (w *Worker) Run(ctx context.Context) {
	defer close(w.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	period := time.Duration(w.cfg.Probe.PeriodSeconds) * time.Second
	if period <= 0 {
		period = 10 * time.Second
	}
	// The first attempt waits for initialDelaySeconds after the start.
	if d := w.cfg.StartedAt.Add(time.Duration(w.cfg.Probe.InitialDelaySeconds) * time.Second).Sub(w.cfg.Clock.Now()); d > 0 {
		if !w.sleep(ctx, d, nil) {
			return
		}
	}
	// Attempts start every period, as the kubelet's ticker has them: the
	// time an attempt takes (a docker exec under load) does not stretch it.
	for {
		began := w.cfg.Clock.Now()
		if !w.Step(ctx) {
			return
		}
		if !w.sleep(ctx, period-w.cfg.Clock.Since(began), w.trigger) {
			return
		}
	}
}

// sleep waits d, or until triggered (a nil trigger never fires); it
// reports false when ctx ended first.
func (w *Worker) sleep(ctx context.Context, d time.Duration, trigger <-chan struct{}) bool {
	t := w.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
	case <-trigger:
	}
	return true
}

// Step runs one probe attempt and applies the thresholds; it reports
// whether the worker should go on. Tests call it directly.
func (w *Worker) Step(ctx context.Context) bool {
	p := w.cfg.Probe
	if w.cfg.Kind != Startup && w.cfg.Started != nil && !w.cfg.Started() {
		return true // liveness and readiness wait for the startup probe
	}
	if w.cfg.Kind == Startup && w.result == Success {
		return false // a startup probe stops once it succeeded
	}
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second
	}
	began := w.cfg.Clock.Now()
	if !w.lastAttempt.IsZero() && p.PeriodSeconds > 0 {
		metrics.ProbeIntervalRatio.WithLabelValues(string(w.cfg.Kind)).
			Observe(began.Sub(w.lastAttempt).Seconds() / float64(p.PeriodSeconds))
	}
	w.lastAttempt = began
	raw, output, err := w.cfg.Run(ctx, p, timeout)
	metrics.ProbeDuration.WithLabelValues(string(w.cfg.Kind), handlerName(p.ProbeHandler)).
		Observe(w.cfg.Clock.Since(began).Seconds())
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		// The prober broke: the kubelet reports it and keeps the result
		// as it was (no threshold counts it).
		if w.cfg.Report != nil {
			w.cfg.Report(w.cfg.Kind, Unknown, err.Error(), w.result, false)
		}
		return true
	}
	if raw == w.lastRaw {
		w.runLength++
	} else {
		w.lastRaw, w.runLength = raw, 1
	}
	success, failure := int(p.SuccessThreshold), int(p.FailureThreshold)
	if success <= 0 {
		success = 1
	}
	if failure <= 0 {
		failure = 3
	}
	changed := false
	if (raw == Success && w.runLength >= success) || (raw == Failure && w.runLength >= failure) {
		changed = w.result != raw
		w.result = raw
	}
	if w.cfg.Report != nil {
		w.cfg.Report(w.cfg.Kind, raw, output, w.result, changed)
	}
	// After a liveness or startup failure the container is killed; this
	// worker's instance will not be probed again.
	return !(w.result == Failure && (w.cfg.Kind == Liveness || w.cfg.Kind == Startup))
}

// Result is the worker's thresholded result so far. It may be read only by
// the goroutine that calls Step, or after Done.
func (w *Worker) Result() Result { return w.result }

// String names the worker in logs.
func (w *Worker) String() string { return fmt.Sprintf("%s probe", w.cfg.Kind) }

// handlerName labels a probe's handler in metrics.
func handlerName(h v1.ProbeHandler) string {
	switch {
	case h.Exec != nil:
		return "exec"
	case h.HTTPGet != nil:
		return "http"
	case h.TCPSocket != nil:
		return "tcp"
	case h.GRPC != nil:
		return "grpc"
	}
	return "none"
}
