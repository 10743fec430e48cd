package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sync is one pass of the pod's worker: observe the engine, decide
// (computePodActions), act (apply), and report the status
// (generatePodStatus). It returns when to look again (0: only when woken).
// ctx is the worker's; the pass's own engine work runs under a context that
// a deletion, a shortened grace period or a failed liveness probe cancels.
func (w *Worker) sync(ctx context.Context) time.Duration {
	w.mu.Lock()
	pod := w.pod.DeepCopy()
	specKnown, deletion := w.specKnown, w.deletion
	sctx, cancel := context.WithCancel(ctx)
	w.cancelSync = cancel
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.cancelSync = nil
		w.mu.Unlock()
		cancel()
	}()

	// The API's startTime wins, so that it survives a provider restart; a
	// pod rebuilt from labels has none until its API object arrives.
	if w.mem.startTime.IsZero() && specKnown {
		if pod.Status.StartTime != nil {
			w.mem.startTime = *pod.Status.StartTime
		} else {
			w.mem.startTime = metav1.NewTime(w.rt.Clock.Now())
		}
	}
	if !deletion.IsZero() {
		w.mem.terminate(true, deletion)
		if !w.probesStopped {
			// Probing ends and readiness goes false as the pod terminates.
			w.probesStopped = true
			w.probes.stopAll()
		}
	}
	obs, err := observe(sctx, w.rt.Docker, w.rt.NodeName, string(w.uid))
	if err != nil {
		return w.observeFailed(ctx, sctx, pod, specKnown, err)
	}
	w.mem.observed = true
	w.remember(obs)
	deleting := w.mem.termination != nil && w.mem.termination.deleted
	if !deleting && !specKnown {
		if obs.sandbox != nil && w.mem.adoptedSandbox == "" {
			w.mem.adoptedSandbox = obs.sandbox.id()
		}
		w.showRebuilt(w.input(pod, obs))
		return 0
	}

	in := w.input(pod, obs)
	actions := computePodActions(in)
	res := w.apply(sctx, ctx, in, &actions)
	if actions.remove {
		return w.finish(sctx, in)
	}
	if res.changed && !deleting {
		if obs, err = observe(sctx, w.rt.Docker, w.rt.NodeName, string(w.uid)); err != nil {
			return w.observeFailed(ctx, sctx, pod, specKnown, err)
		}
		w.remember(obs)
	}
	if !deleting {
		w.readTerminationMessages(sctx, pod, obs)
		w.ensureProbes(ctx, pod, obs)
	}
	if !actions.holdStatus {
		in := w.input(pod, obs)
		if d, held := oomPending(in); held {
			// The engine may flag an OOM kill after the exit: wait for it.
			return minDelay(res.requeue, d)
		}
		w.report(ctx, in, false)
	}
	// An interrupted pass ends early; what interrupted it woke the worker.
	return res.requeue
}

// observeFailed is when to look again after the engine could not be read.
// A pass interrupted by a deletion or a probe failure is no engine fault:
// whatever interrupted it has woken the worker. A new pod the engine never
// answered for is shown as the kubelet shows a pod whose sandbox cannot be
// made: its containers ContainerCreating, and a FailedCreatePodSandBox
// warning with the engine's error, at most once per back-off.
func (w *Worker) observeFailed(ctx, sctx context.Context, pod *v1.Pod, specKnown bool, err error) time.Duration {
	if sctx.Err() != nil && ctx.Err() == nil {
		log.G(ctx).Debug("Pass interrupted")
		return 0
	}
	log.G(ctx).WithError(err).Warn("Cannot observe pod containers")
	if w.mem.observed || !specKnown || w.mem.termination != nil || ranBefore(pod) {
		return retryAfterError
	}
	if _, held := w.mem.sandboxRetry.held(w.rt.Clock.Now()); !held {
		cause := err
		if inner := errors.Unwrap(err); inner != nil {
			cause = inner // the engine's own words, without the pod's UID
		}
		w.sandboxFailed(ctx, pod, cause)
	}
	w.report(ctx, w.input(pod, &observation{containers: map[string][]*instance{}}), false)
	return retryAfterError
}

// ranBefore reports whether the API shows that containers of the pod were
// made before (by an earlier run of the node): then an engine that does not
// answer says nothing about them.
func ranBefore(pod *v1.Pod) bool {
	if pod.Status.Phase != "" && pod.Status.Phase != v1.PodPending {
		return true
	}
	for _, cs := range append(slices.Clone(pod.Status.InitContainerStatuses), pod.Status.ContainerStatuses...) {
		if cs.ContainerID != "" {
			return true
		}
	}
	return false
}

// remember prunes the memory of instances the engine no longer holds and
// notes the sandbox's ID and address, and when an instance that may have
// been OOM-killed was first seen finished (see oomPending).
func (w *Worker) remember(obs *observation) {
	w.mem.prune(obs)
	for _, inst := range obs.all {
		if inst.exited() && inst.inspect.State.ExitCode == exitSIGKILL {
			if r := w.mem.record(inst.id()); r.exitSeen.IsZero() {
				r.exitSeen = w.rt.Clock.Now()
			}
		}
	}
	if obs.sandbox != nil {
		w.mem.sandboxID = obs.sandbox.id()
	}
	if ip := w.rt.sandboxIP(obs.sandbox); ip != "" {
		w.mem.podIP = ip
	}
}

// input gathers what a decision or a status is computed from.
func (w *Worker) input(pod *v1.Pod, obs *observation) syncInput {
	return syncInput{
		pod: pod, obs: obs, mem: w.mem, probes: w.probes.snapshot(), now: w.rt.Clock.Now(),
		plan: podPlan{unsupported: w.rt.unsupported(pod), volumes: w.rt.PlanVolumes(pod)},
	}
}

// finish ends a deleted pod whose containers all stopped: the terminal
// status first, then the removal of its containers and volumes.
func (w *Worker) finish(ctx context.Context, in syncInput) time.Duration {
	w.report(ctx, in, true)
	if err := w.removeAll(ctx, in.obs); err != nil {
		log.G(ctx).WithError(err).Warn("Cannot remove pod from the engine")
		return retryAfterError
	}
	w.mu.Lock()
	w.removed = true
	w.mu.Unlock()
	log.G(ctx).Info("Pod removed from the engine")
	return 0
}

// readTerminationMessages reads, once per instance, the termination message
// of the finished instances the status shows (the current and the previous
// one of each container).
func (w *Worker) readTerminationMessages(ctx context.Context, pod *v1.Pod, obs *observation) {
	for _, sl := range append(append(initSlots(pod), appSlots(pod)...), ephemeralSlots(pod)...) {
		insts := obs.containers[sl.c.Name]
		for i := 0; i < len(insts) && i < 2; i++ {
			inst := insts[i]
			rec := w.mem.record(inst.id())
			if rec.messageSet || !inst.finished() {
				continue
			}
			code := inst.exitCode()
			if inst.startFailed() {
				code = 0 // the kubelet does not read the log of a container that never ran
			}
			msg, err := terminationMessage(ctx, w.rt.Docker, inst.id(), code, sl.c.TerminationMessagePath, sl.c.TerminationMessagePolicy)
			if err != nil {
				if ctx.Err() != nil {
					return // interrupted: read it on the next pass
				}
				log.G(ctx).WithError(err).WithField("container", sl.c.Name).Warn("Cannot read termination message")
				msg = fmt.Sprintf("Error on reading termination message from logs: %v", err)
			}
			rec.message, rec.messageSet = msg, true
		}
	}
}

// report generates the pod's status and hands it to Notify when it changed.
func (w *Worker) report(ctx context.Context, in syncInput, terminal bool) {
	w.mu.Lock()
	prev := w.reported
	w.mu.Unlock()
	since := prev
	if since == nil {
		since = &in.pod.Status // conditions' transition times from the API
	}
	status := generatePodStatus(in, w.rt.statusNode(), since, terminal)
	if prev != nil && apiequality.Semantic.DeepEqual(*prev, status) {
		return
	}
	w.mu.Lock()
	w.pod.Status = *status.DeepCopy()
	if !w.specKnown {
		// A pod rebuilt from labels lacks what the API's status holds
		// (conditions of others, startTime); reporting it would erase that.
		w.mu.Unlock()
		return
	}
	w.reported = status.DeepCopy()
	out := w.pod.DeepCopy()
	w.mu.Unlock()
	log.G(ctx).WithField("phase", status.Phase).Debug("Pod status changed")
	w.rt.Notify(out)
}

// showRebuilt keeps the status a pass without the pod's spec computed, for
// Pod(), and reports nothing: a pod rebuilt from labels lacks what the
// API's status holds (startTime, conditions of others). When the API's pod
// arrived during the pass, its status stays: Update woke the worker for a
// pass that knows the spec.
func (w *Worker) showRebuilt(in syncInput) {
	status := generatePodStatus(in, w.rt.statusNode(), &in.pod.Status, false)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.specKnown {
		w.pod.Status = status
	}
}

// statusNode is what of the node a pod's status shows.
func (rt *Runtime) statusNode() statusNode {
	return statusNode{hostIP: rt.HostIP, network: rt.DockerNetwork()}
}
