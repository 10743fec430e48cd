package lifecycle

import (
	"context"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// applied is what carrying out a pod's actions came to.
type applied struct {
	// changed: an engine call that changes the pod was made; the status
	// is generated from a new observation.
	changed bool
	// requeue is when to look again (0: only when woken).
	requeue time.Duration
}

// apply carries out a pod's actions in the order of podActions' fields, as
// the kubelet's SyncPod does: a step that fails ends the pass, to be tried
// again later. ctx is the pass's (cancelled by a deletion), runCtx the
// worker's, which the goroutines started here (preStop hooks) live under.
func (w *Worker) apply(ctx, runCtx context.Context, in syncInput, a *podActions) applied {
	var res applied
	res.requeue = minDelay(w.applySteps(ctx, runCtx, in, a, &res.changed), a.deadlineCheck)
	return res
}

// applySteps runs the steps and returns when to look again.
func (w *Worker) applySteps(ctx, runCtx context.Context, in syncInput, a *podActions, changed *bool) time.Duration {
	pod, now := in.pod, in.now
	if a.fail != nil {
		w.mem.terminate(false, a.fail.deadline)
		w.mem.termination.reason, w.mem.termination.message = a.fail.reason, a.fail.message
		w.rt.Recorder.Event(pod, v1.EventTypeNormal, a.fail.reason, a.fail.message)
		log.G(ctx).Info("Pod exceeded its active deadline; stopping its containers")
	}
	if a.admit {
		ok, err := w.admit(ctx, pod)
		if err != nil {
			log.G(ctx).WithError(err).Warn("Cannot admit pod")
			return retryAfterError
		}
		if !ok {
			return 0
		}
	}
	if len(a.unsupported) > 0 {
		w.mem.reportedUnsupported = true
		for _, msg := range a.unsupported {
			w.rt.Recorder.Event(pod, v1.EventTypeWarning, EventUnsupported, msg)
			log.G(ctx).Warn(msg)
		}
	}
	if len(a.unsupportedVolumes) > 0 {
		w.mem.reportedVolumes = true
		for name, why := range a.unsupportedVolumes {
			w.rt.Recorder.Eventf(pod, v1.EventTypeWarning, EventFailedMount, "MountVolume.SetUp failed for volume %q : %s", name, why)
			log.G(ctx).WithField("volume", name).Warn(why)
		}
	}
	if a.volumes {
		if err := w.ensureVolumes(ctx, pod, in.plan.volumes); err != nil {
			w.reportMountError(ctx, pod, err)
			return retryAfterError
		}
	}
	if a.finish != nil {
		w.mem.terminate(false, *a.finish)
	}
	for _, k := range a.kills {
		w.applyKill(ctx, runCtx, pod, k, changed)
	}
	if a.stopSandbox != nil {
		w.applySandboxStop(ctx, *a.stopSandbox, now, changed)
	}
	return w.applyRun(ctx, runCtx, in, a, changed)
}

// applyRun makes the sandbox run, fills the pod's volumes and carries out
// the container steps.
func (w *Worker) applyRun(ctx, runCtx context.Context, in syncInput, a *podActions, changed *bool) time.Duration {
	pod := in.pod
	sb := in.obs.sandbox
	if a.sandbox != nil {
		var err error
		*changed = true
		if sb, err = w.runSandbox(ctx, pod, *a.sandbox); err != nil {
			if ctx.Err() != nil {
				return 0 // interrupted: no failure, whatever interrupted it woke the worker
			}
			w.sandboxFailed(ctx, pod, err)
			return syncErrorBackOff
		}
		w.mem.sandboxRetry = retryGate{}
	}
	next := a.requeue
	if a.volumeContent {
		ready, volNext := w.syncVolumeContent(ctx, pod, sb)
		if !ready {
			return volNext
		}
		next = minDelay(next, volNext)
	}
	for _, st := range a.containers {
		if ctx.Err() != nil {
			return next // interrupted: the next pass decides again
		}
		if w.applyContainer(ctx, runCtx, pod, st, sb, changed) {
			next = minDelay(next, retryAfterError)
		}
	}
	return next
}

// applyContainer carries out one container step; it reports whether the
// container could not be started and is to be tried again.
func (w *Worker) applyContainer(ctx, runCtx context.Context, pod *v1.Pod, st containerStep, sb *instance, changed *bool) bool {
	name := st.slot.c.Name
	logger := log.G(ctx).WithField("container", name)
	if st.clearWaiting {
		delete(w.mem.waiting, name)
	}
	switch {
	case st.killDetached != nil:
		*changed = true
		logger.Info("Killing container joined to a replaced sandbox")
		if err := w.signal(ctx, st.killDetached.id(), "SIGKILL"); err != nil {
			logger.WithError(err).Warn("Cannot kill container")
		}
	case st.kill != nil:
		w.applyKill(ctx, runCtx, pod, *st.kill, changed)
	case st.wait != nil:
		w.mem.waiting[name] = *st.wait
		if st.backOffEvent != nil {
			w.mem.record(st.backOffEvent.id()).backOffReported = true
			w.rt.Recorder.Eventf(containerRef(pod, name, st.slot.kind()), v1.EventTypeWarning, EventBackOff,
				"Back-off restarting failed container %s in pod %s", name, translate.FormatPod(pod))
		}
		if st.failedEvent {
			w.rt.Recorder.Eventf(containerRef(pod, name, st.slot.kind()), v1.EventTypeWarning, EventFailed, "Error: %s", st.wait.message)
		}
	case st.start != nil:
		*changed = true
		w.startInstance(ctx, pod, st.slot, st.start.id(), sb)
	case st.create:
		return w.applyCreate(ctx, pod, st, sb, changed)
	}
	return false
}

// applyCreate makes and starts a new instance of a container.
func (w *Worker) applyCreate(ctx context.Context, pod *v1.Pod, st containerStep, sb *instance, changed *bool) bool {
	name := st.slot.c.Name
	if st.advance != nil {
		w.mem.crashLoop.next(backOffKey(pod, st.slot.c), *st.advance, w.rt.Clock.Now())
	}
	reason, msg, err := w.startContainer(ctx, pod, st.slot, sb, st.attempt)
	if (err != nil || reason != "") && ctx.Err() != nil {
		return false // interrupted: the next pass decides again
	}
	if err != nil {
		log.G(ctx).WithError(err).WithField("container", name).Warn("Cannot start container")
		reason, msg = ReasonCreateContainerError, err.Error()
	}
	if reason != "" {
		w.mem.waiting[name] = waiting{reason, msg}
		if reason == ReasonCreateContainerConfigError || reason == ReasonCreateContainerError {
			g := w.mem.createRetry[name]
			g.failed(w.rt.Clock.Now())
			w.mem.createRetry[name] = g
		}
		return true
	}
	*changed = true
	delete(w.mem.waiting, name)
	delete(w.mem.createRetry, name)
	w.pruneInstances(ctx, st.prune)
	return false
}

// applyKill carries out one step of stopping an instance (see killStep).
func (w *Worker) applyKill(ctx, runCtx context.Context, pod *v1.Pod, k killStep, changed *bool) {
	id := k.inst.id()
	logger := log.G(ctx).WithFields(log.Fields{"container": k.inst.name.Container, "containerID": id})
	rec := w.mem.record(id)
	if k.begin {
		w.rt.Recorder.Event(containerRef(pod, k.inst.name.Container, k.kind), v1.EventTypeNormal, EventKilling, k.message)
		rec.stop = &stopRecord{deadline: k.deadline, preStop: w.startPreStop(runCtx, pod, k.inst, k.deadline, k.kill)}
	}
	st := rec.stop
	if !k.restart {
		st.deadline = k.deadline
	}
	switch {
	case k.kill:
		*changed = true
		st.preStop.cancel()
		st.killed = true
		if err := w.signal(ctx, id, "SIGKILL"); err != nil {
			logger.WithError(err).Warn("Cannot kill container")
		}
	case k.signal != "":
		*changed = true
		sent := w.rt.Clock.Now()
		st.signalledAt = sent
		if err := w.signal(ctx, id, k.signal); err != nil {
			logger.WithError(err).Warn("Cannot send stop signal")
		}
		if k.restart {
			// As Docker's stop timeout does for the kubelet, what is left of
			// the grace period counts from the stop signal's delivery.
			st.deadline = k.deadline.Add(w.rt.Clock.Since(sent))
		}
	}
}

// applySandboxStop sends the sandbox its stop signal or, later, SIGKILL.
func (w *Worker) applySandboxStop(ctx context.Context, s sandboxStop, now time.Time, changed *bool) {
	*changed = true
	rec := w.mem.record(s.inst.id())
	if rec.stop == nil {
		rec.stop = &stopRecord{}
	}
	if s.signal == "SIGKILL" {
		rec.stop.killed = true
	} else {
		rec.stop.signalledAt = now
	}
	if err := w.signal(ctx, s.inst.id(), s.signal); err != nil {
		log.G(ctx).WithError(err).Warn("Cannot stop sandbox")
	}
}

// sandboxFailed records that the pod's sandbox could not be made, with the
// kubelet's event, and holds the next attempt back (syncErrorBackOff).
func (w *Worker) sandboxFailed(ctx context.Context, pod *v1.Pod, err error) {
	log.G(ctx).WithError(err).Warn("Cannot run pod sandbox")
	w.rt.Recorder.Eventf(pod, v1.EventTypeWarning, EventFailedSandbox, "Failed to create pod sandbox: %v", err)
	w.mem.sandboxRetry.failed(w.rt.Clock.Now())
}
