package lifecycle

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
)

// sandboxStopTimeout is how long the pause process gets to exit on SIGTERM
// (it exits at once) before it is killed.
const sandboxStopTimeout = 2 * time.Second

// terminate is one step of a pod's termination, as the kubelet does it:
// containers get their stop signal (the image's STOPSIGNAL, or SIGTERM) with
// a Killing event, in order (see stopContainers); whatever still runs at the
// deadline gets SIGKILL; then the sandbox stops; then the terminal status is
// reported, and only then are containers and volumes removed. Docker's die
// events wake the worker between steps.
func (w *Worker) terminate(ctx context.Context, pod *v1.Pod, obs *observation, deadline time.Time) time.Duration {
	if next, stopping := w.stopContainers(ctx, pod, obs, deadline); stopping {
		// Readiness is false from the start of the termination on: say so
		// while the containers stop.
		w.report(ctx, pod, obs, false)
		return next
	}
	now := w.rt.Clock.Now()
	if sb := obs.sandbox; sb != nil && sb.running() {
		w.stopSandbox(ctx, sb, now)
		return sandboxStopTimeout
	}

	w.report(ctx, pod, obs, true)
	if err := w.removeAll(ctx, obs); err != nil {
		log.G(ctx).WithError(err).Warn("Cannot remove pod from the engine")
		return retryAfterError
	}
	w.mu.Lock()
	w.removed = true
	w.mu.Unlock()
	log.G(ctx).Info("Pod removed from the engine")
	return 0
}

// stopContainers is one step of stopping every running container of the
// pod as the kubelet's killContainersWithSyncResult does: all of them at
// once get their Killing event and start their preStop hooks in parallel
// (see killInstance); app containers (and a running regular init
// container) get their stop signal as soon as their own hook is done;
// sidecars only once, in addition, every app container and every sidecar
// declared after them has exited (kuberuntime_termination_order.go).
// Whatever still runs at the deadline gets SIGKILL. It reports whether
// containers are still running, and when to look again.
func (w *Worker) stopContainers(ctx context.Context, pod *v1.Pod, obs *observation, deadline time.Time) (time.Duration, bool) {
	sidecars := map[string]bool{}
	var order []string
	for _, sl := range initSlots(pod) {
		if sl.sidecar {
			sidecars[sl.c.Name] = true
			order = append(order, sl.c.Name)
		}
	}
	running := func(name string) []*instance {
		var out []*instance
		for _, inst := range obs.containers[name] {
			if inst.running() {
				out = append(out, inst)
			}
		}
		return out
	}
	// before: something that must exit before the next sidecar's turn
	// still runs.
	before := false
	for name := range obs.containers {
		if sidecars[name] {
			continue
		}
		for _, inst := range running(name) {
			w.stopInstance(ctx, pod, inst, deadline, true)
			before = true
		}
	}
	any := before
	for i := len(order) - 1; i >= 0; i-- {
		insts := running(order[i])
		for _, inst := range insts {
			w.stopInstance(ctx, pod, inst, deadline, !before)
		}
		if len(insts) > 0 {
			before, any = true, true
		}
	}
	if !any {
		return 0, false
	}
	now := w.rt.Clock.Now()
	if !now.Before(deadline) {
		return retryAfterError, true
	}
	return deadline.Sub(now), true
}

// stopInstance is killInstance for a pod's termination, with the kubelet's
// message; turn tells whether the instance may get its stop signal yet.
func (w *Worker) stopInstance(ctx context.Context, pod *v1.Pod, inst *instance, deadline time.Time, turn bool) {
	_ = w.killInstance(ctx, pod, inst, deadline, fmt.Sprintf("Stopping container %s", inst.name.Container), turn)
}

// killInstance is one step of stopping a running instance, as the kubelet's
// killContainer: the first call records the Killing event with message and
// starts the instance's preStop hook in its own goroutine (it wakes the
// worker when done); a later call, once the hook is done and it is the
// instance's turn, sends the stop signal, once. The preStop hook runs inside
// the grace period: the SIGKILL deadline does not move for it, and at the
// deadline a hook still running is abandoned and the instance gets SIGKILL.
// It returns how long sending the stop signal took (0 when none was sent
// now).
func (w *Worker) killInstance(ctx context.Context, pod *v1.Pod, inst *instance, deadline time.Time, message string, turn bool) time.Duration {
	id := inst.id()
	logger := log.G(ctx).WithFields(log.Fields{"container": inst.name.Container, "containerID": id})
	graceOver := !w.rt.Clock.Now().Before(deadline)
	stop, started := w.stops[id]
	if !started {
		w.rt.Recorder.Event(containerRef(pod, inst.name.Container, inst.label(dockerhost.LabelContainerKind) == dockerhost.KindInit),
			v1.EventTypeNormal, EventKilling, message)
		stop = w.startPreStop(ctx, pod, inst, deadline, graceOver)
		w.stops[id] = stop
	}
	if graceOver {
		stop.cancel()
		if !w.killed[id] {
			w.killed[id] = true
			if err := w.signal(ctx, id, "SIGKILL"); err != nil {
				logger.WithError(err).Warn("Cannot kill container")
			}
		}
		return 0
	}
	if w.signalled[id] || !turn || !stop.finished() {
		return 0
	}
	w.signalled[id] = true
	sent := w.rt.Clock.Now()
	if err := w.signal(ctx, id, stopSignal(inst)); err != nil {
		logger.WithError(err).Warn("Cannot send stop signal")
	}
	return w.rt.Clock.Since(sent)
}

func (w *Worker) stopSandbox(ctx context.Context, sb *instance, now time.Time) {
	id := sb.id()
	if !w.signalled[id] {
		w.signalled[id] = true
		w.sandboxSignalledAt = now
		if err := w.signal(ctx, id, "SIGTERM"); err != nil {
			log.G(ctx).WithError(err).Warn("Cannot stop sandbox")
		}
		return
	}
	if now.Sub(w.sandboxSignalledAt) >= sandboxStopTimeout && !w.killed[id] {
		w.killed[id] = true
		if err := w.signal(ctx, id, "SIGKILL"); err != nil {
			log.G(ctx).WithError(err).Warn("Cannot kill sandbox")
		}
	}
}

// stopSignal is the signal Docker would send on `docker stop`: the
// container's configured STOPSIGNAL (from its image), else SIGTERM.
func stopSignal(inst *instance) string {
	if inst.inspect.Config != nil && inst.inspect.Config.StopSignal != "" {
		return inst.inspect.Config.StopSignal
	}
	return "SIGTERM"
}

// removeAll removes every container of the pod, then its volumes.
func (w *Worker) removeAll(ctx context.Context, obs *observation) error {
	for _, inst := range obs.all {
		if err := w.docker.ContainerRemove(ctx, inst.id()); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove container %s: %w", inst.name, err)
		}
	}
	if err := w.removeVolumes(ctx); err != nil {
		return err
	}
	return w.rt.removeMessageFiles(string(w.uid))
}

// signal sends sig to a container. A container that is gone, or no longer
// runs, has nothing left to stop: that is not an error.
func (w *Worker) signal(ctx context.Context, id, sig string) error {
	err := w.docker.ContainerKill(ctx, id, sig)
	if cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) {
		return nil
	}
	return err
}
