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

// trigger makes an instance's probe of kind run now, if it has one.
func (ps *probeSet) trigger(id string, kind probes.Kind) {
	ps.mu.Lock()
	pw := ps.workers[probeKey{id, kind}]
	ps.mu.Unlock()
	if pw != nil {
		pw.Trigger()
	}
}

// snapshot copies the probes' results at this instant.
func (ps *probeSet) snapshot() probeResults {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make(probeResults, len(ps.results))
	for k, r := range ps.results {
		out[k] = r
	}
	return out
}

// started is probeResults.started on the live results, for the probe
// workers that wait for the startup probe.
func (ps *probeSet) started(c *v1.Container, id string) bool {
	if c.StartupProbe == nil {
		return true
	}
	r, _ := ps.result(id, probes.Startup)
	return r == probes.Success
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
	ref := containerRef(pod, c.Name, sl.kind())
	logger := log.G(ctx).WithFields(log.Fields{"container": c.Name, "containerID": id, "probe": string(kind)})
	var execer probes.Execer = probes.ContainerExec{Docker: w.rt.Docker, ID: id}
	var session *probes.ExecSession
	if spec.Exec != nil && !w.rt.ExecProbesPlain {
		session = probes.NewExecSession(w.rt.Docker, id)
		execer = session
	}
	pw := probes.NewWorker(probes.WorkerConfig{
		Kind:      kind,
		Probe:     spec,
		StartedAt: dockerTime(cur.inspect.State.StartedAt).Time,
		Clock:     w.rt.Clock,
		Run: func(ctx context.Context, p *v1.Probe, timeout time.Duration) (probes.Result, string, error) {
			if w.rt.hostSilent() {
				return probes.Unknown, "", errHostSilent
			}
			res, out, err := probes.Run(w.netContext(ctx, sandboxID), execer, p.ProbeHandler, podIP, c, timeout)
			if res != probes.Success && w.rt.engineSilent(ctx) {
				// The engine stopped answering before its health check
				// noticed: the probe could not reach the pod.
				return probes.Unknown, "", errHostSilent
			}
			return res, out, err
		},
		Started: func() bool { return w.probes.started(c, id) },
		Report: func(kind probes.Kind, attempt probes.Result, output string, result probes.Result, changed bool) {
			switch {
			case attempt == probes.Unknown && w.rt.hostSilent():
				// Said once for the whole pod (provider/lost_host.go).
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
			if !changed {
				return
			}
			logger.WithField("result", fmt.Sprint(result)).Debug("Probe result changed")
			if kind == probes.Startup && result == probes.Success {
				// The kubelet probes readiness at once when the container
				// has started, not a whole period later.
				w.probes.trigger(id, probes.Readiness)
			}
			if result == probes.Failure && kind != probes.Readiness {
				// The container is to be killed: what the pass in flight
				// does (a hook, a pull) must not hold that up.
				w.interrupt()
				return
			}
			w.Wake()
		},
	})
	w.probes.mu.Lock()
	w.probes.workers[probeKey{id, kind}] = pw
	w.probes.mu.Unlock()
	w.probes.wg.Add(1)
	go func() {
		defer w.probes.wg.Done()
		pw.Run(ctx)
		if session != nil {
			session.Close()
		}
	}()
}

// netContext makes network probes and hooks under ctx connect from inside
// the sandbox when the runtime says so.
func (w *Worker) netContext(ctx context.Context, sandboxID string) context.Context {
	if !w.rt.ProbeViaSandbox || sandboxID == "" {
		return ctx
	}
	return probes.WithDialer(ctx, dockerhost.SandboxDialer(w.rt.Docker, sandboxID))
}
