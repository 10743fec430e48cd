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

// stopContainers is one step of stopping every container of the pod in the
// kubelet's order: app containers (and a running regular init container)
// first, then sidecars, the last declared first, each only once the ones
// before it are gone. Whatever still runs at the deadline gets SIGKILL. It
// reports whether containers are still running, and when to look again.
func (w *Worker) stopContainers(ctx context.Context, pod *v1.Pod, obs *observation, deadline time.Time) (time.Duration, bool) {
	now := w.rt.Clock.Now()
	graceOver := !now.Before(deadline)
	wait := func() (time.Duration, bool) {
		if graceOver {
			return retryAfterError, true
		}
		return deadline.Sub(now), true
	}
	sidecars := map[string]bool{}
	var order []string
	for _, sl := range initSlots(pod) {
		if sl.sidecar {
			sidecars[sl.c.Name] = true
			order = append(order, sl.c.Name)
		}
	}
	var first []*instance
	for name, insts := range obs.containers {
		for _, inst := range insts {
			if inst.running() && !sidecars[name] {
				first = append(first, inst)
			}
		}
	}
	if len(first) > 0 {
		for _, inst := range first {
			w.stopInstance(ctx, pod, inst, deadline)
		}
		return wait()
	}
	for i := len(order) - 1; i >= 0; i-- {
		var running []*instance
		for _, inst := range obs.containers[order[i]] {
			if inst.running() {
				running = append(running, inst)
			}
		}
		if len(running) == 0 {
			continue
		}
		for _, inst := range running {
			w.stopInstance(ctx, pod, inst, deadline)
		}
		return wait()
	}
	return 0, false
}

// stopInstance runs the container's preStop hook and sends its stop signal,
// once, and SIGKILL once the deadline has passed.
func (w *Worker) stopInstance(ctx context.Context, pod *v1.Pod, inst *instance, deadline time.Time) {
	_ = w.killInstance(ctx, pod, inst, deadline, fmt.Sprintf("Stopping container %s", inst.name.Container))
}

// killInstance is stopInstance with the Killing event's message given. The
// preStop hook, like the kubelet's, runs inside the grace period: the
// SIGKILL deadline does not move for it. It returns how long sending the
// stop signal took (0 when none was sent now).
func (w *Worker) killInstance(ctx context.Context, pod *v1.Pod, inst *instance, deadline time.Time, message string) time.Duration {
	id := inst.id()
	logger := log.G(ctx).WithFields(log.Fields{"container": inst.name.Container, "containerID": id})
	graceOver := !w.rt.Clock.Now().Before(deadline)
	if !w.signalled[id] {
		w.signalled[id] = true
		w.rt.Recorder.Event(containerRef(pod, inst.name.Container, inst.label(dockerhost.LabelContainerKind) == dockerhost.KindInit),
			v1.EventTypeNormal, EventKilling, message)
		if !graceOver {
			w.runPreStop(ctx, pod, inst, deadline)
			graceOver = !w.rt.Clock.Now().Before(deadline)
		}
		if !graceOver {
			sent := w.rt.Clock.Now()
			if err := w.signal(ctx, id, stopSignal(inst)); err != nil {
				logger.WithError(err).Warn("Cannot send stop signal")
			}
			return w.rt.Clock.Since(sent)
		}
	}
	if graceOver && !w.killed[id] {
		w.killed[id] = true
		if err := w.signal(ctx, id, "SIGKILL"); err != nil {
			logger.WithError(err).Warn("Cannot kill container")
		}
	}
	return 0
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
