package lifecycle

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/probes"
	v1 "k8s.io/api/core/v1"
)

// Event reasons of probes, as the kubelet's.
const (
	EventUnhealthy    = "Unhealthy"
	EventProbeWarning = "ProbeWarning"
)

type probeKey struct {
	containerID string
	kind        probes.Kind
}

// probeSet runs the probe workers of one pod: one per running container
// instance and probe kind. Workers report from their own goroutines; the pod
// worker reads the results when it builds the status.
type probeSet struct {
	mu      sync.Mutex
	workers map[probeKey]*probes.Worker
	results map[probeKey]probes.Result
	wg      sync.WaitGroup
}

func newProbeSet() *probeSet {
	return &probeSet{workers: map[probeKey]*probes.Worker{}, results: map[probeKey]probes.Result{}}
}

func (ps *probeSet) result(id string, kind probes.Kind) (probes.Result, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	r, ok := ps.results[probeKey{id, kind}]
	return r, ok
}

// stopAll stops every worker and waits for them.
func (ps *probeSet) stopAll() {
	ps.mu.Lock()
	for k, pw := range ps.workers {
		pw.Stop()
		delete(ps.workers, k)
	}
	ps.mu.Unlock()
	ps.wg.Wait()
}

// probeSpecs are the probes of a container by kind.
func probeSpecs(c *v1.Container) map[probes.Kind]*v1.Probe {
	m := map[probes.Kind]*v1.Probe{}
	if c.StartupProbe != nil {
		m[probes.Startup] = c.StartupProbe
	}
	if c.LivenessProbe != nil {
		m[probes.Liveness] = c.LivenessProbe
	}
	if c.ReadinessProbe != nil {
		m[probes.Readiness] = c.ReadinessProbe
	}
	return m
}

// started reports whether a running instance counts as started: its startup
// probe succeeded, or it has none.
func (w *Worker) started(c *v1.Container, id string) bool {
	if c.StartupProbe == nil {
		return true
	}
	r, _ := w.probes.result(id, probes.Startup)
	return r == probes.Success
}

// ready reports whether a running, started instance is ready: its readiness
// probe succeeded, or it has none.
func (w *Worker) ready(c *v1.Container, id string) bool {
	if !w.started(c, id) {
		return false
	}
	if c.ReadinessProbe == nil {
		return true
	}
	r, _ := w.probes.result(id, probes.Readiness)
	return r == probes.Success
}

// probeFailed returns the kind of the liveness or startup probe that failed
// for an instance, if one did.
func (w *Worker) probeFailed(id string) (probes.Kind, bool) {
	for _, k := range []probes.Kind{probes.Startup, probes.Liveness} {
		if r, ok := w.probes.result(id, k); ok && r == probes.Failure {
			return k, true
		}
	}
	return "", false
}

// ensureProbes runs a worker for each probe of each running container
// instance, and stops those of instances that no longer run.
func (w *Worker) ensureProbes(ctx context.Context, pod *v1.Pod, obs *observation) {
	ps := w.probes
	want := map[probeKey]bool{}
	podIP, sandboxID := w.rt.sandboxIP(obs.sandbox), ""
	if obs.sandbox != nil {
		sandboxID = obs.sandbox.id()
	}
	for _, sl := range append(initSlots(pod), appSlots(pod)...) {
		cur := obs.latest(sl.c.Name)
		if cur == nil || !cur.running() || (sl.init && !sl.sidecar) {
			continue
		}
		for kind, spec := range probeSpecs(sl.c) {
			key := probeKey{cur.id(), kind}
			want[key] = true
			ps.mu.Lock()
			_, exists := ps.workers[key]
			ps.mu.Unlock()
			if exists {
				continue
			}
			w.startProbe(ctx, pod, sl, cur, kind, spec, podIP, sandboxID)
		}
	}
	ps.mu.Lock()
	for k, pw := range ps.workers {
		if !want[k] {
			pw.Stop()
			delete(ps.workers, k)
		}
	}
	for k := range ps.results {
		if !want[k] {
			delete(ps.results, k)
		}
	}
	ps.mu.Unlock()
}

func (w *Worker) startProbe(ctx context.Context, pod *v1.Pod, sl slot, cur *instance, kind probes.Kind, spec *v1.Probe, podIP, sandboxID string) {
	c, id := sl.c, cur.id()
	ref := containerRef(pod, c.Name, sl.init)
	logger := log.G(ctx).WithFields(log.Fields{"container": c.Name, "containerID": id, "probe": string(kind)})
	pw := probes.NewWorker(probes.WorkerConfig{
		Kind:      kind,
		Probe:     spec,
		StartedAt: dockerTime(cur.inspect.State.StartedAt).Time,
		Clock:     w.rt.Clock,
		Run: func(ctx context.Context, p *v1.Probe, timeout time.Duration) (probes.Result, string, error) {
			return probes.Run(w.netContext(ctx, sandboxID), w.rt.Docker, p.ProbeHandler, podIP, c, id, timeout)
		},
		Started: func() bool { return w.started(c, id) },
		Report: func(kind probes.Kind, attempt probes.Result, output string, result probes.Result, changed bool) {
			switch {
			case attempt == probes.Unknown:
				w.rt.Recorder.Eventf(ref, v1.EventTypeWarning, EventUnhealthy, "%s probe errored and resulted in %s state: %s", kind, attempt, strings.TrimSpace(output))
			case attempt == probes.Failure:
				w.rt.Recorder.Eventf(ref, v1.EventTypeWarning, EventUnhealthy, "%s probe failed: %s", kind, strings.TrimSpace(output))
			case attempt == probes.Success && output != "":
				w.rt.Recorder.Eventf(ref, v1.EventTypeWarning, EventProbeWarning, "%s probe warning: %s", kind, strings.TrimSpace(output))
			}
			w.probes.mu.Lock()
			w.probes.results[probeKey{id, kind}] = result
			w.probes.mu.Unlock()
			if changed {
				logger.WithField("result", fmt.Sprint(result)).Debug("Probe result changed")
				w.Wake()
			}
		},
	})
	w.probes.mu.Lock()
	w.probes.workers[probeKey{id, kind}] = pw
	w.probes.mu.Unlock()
	w.probes.wg.Add(1)
	go func() {
		defer w.probes.wg.Done()
		pw.Run(ctx)
	}()
}

// probeGrace is how long a container killed by a failed liveness or startup
// probe gets to stop: the probe's terminationGracePeriodSeconds, else the
// pod's.
func probeGrace(pod *v1.Pod, c *v1.Container, kind probes.Kind) time.Duration {
	p := c.LivenessProbe
	if kind == probes.Startup {
		p = c.StartupProbe
	}
	grace := gracePeriod(pod, nil)
	if p != nil && p.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(max(*p.TerminationGracePeriodSeconds, 0)) * time.Second
	}
	// The kubelet never gives a container it kills less than 2 s
	// (minimumGracePeriodInSeconds).
	return max(grace, minimumKillGrace)
}

// minimumKillGrace is the kubelet's minimumGracePeriodInSeconds for the
// containers it kills to restart them.
const minimumKillGrace = 2 * time.Second

// killUnhealthy stops an instance whose liveness or startup probe failed,
// with the kubelet's Killing event; it comes back per restart policy.
func (w *Worker) killUnhealthy(ctx context.Context, pod *v1.Pod, sl slot, cur *instance, kind probes.Kind) time.Duration {
	return w.killForRestart(ctx, pod, cur, probeGrace(pod, sl.c, kind),
		fmt.Sprintf("Container %s failed %s probe, will be restarted", sl.c.Name, strings.ToLower(string(kind))))
}

// killForRestart stops a running instance with its grace period (preStop
// first), to be restarted per restart policy; it returns when to look again.
func (w *Worker) killForRestart(ctx context.Context, pod *v1.Pod, cur *instance, grace time.Duration, message string) time.Duration {
	now := w.rt.Clock.Now()
	deadline, ok := w.killDeadlines[cur.id()]
	if !ok {
		deadline = now.Add(grace)
	}
	// As Docker's stop timeout does for the kubelet, what is left of the
	// grace period counts from the stop signal's delivery.
	deadline = deadline.Add(w.killInstance(ctx, pod, cur, deadline, message, true))
	w.killDeadlines[cur.id()] = deadline
	if now = w.rt.Clock.Now(); !now.Before(deadline) {
		return retryAfterError
	}
	return deadline.Sub(now)
}

// netContext makes network probes and hooks under ctx connect from inside
// the sandbox when the runtime says so.
func (w *Worker) netContext(ctx context.Context, sandboxID string) context.Context {
	if !w.rt.ProbeViaSandbox || sandboxID == "" {
		return ctx
	}
	return probes.WithDialer(ctx, dockerhost.SandboxDialer(w.rt.Docker, sandboxID))
}
