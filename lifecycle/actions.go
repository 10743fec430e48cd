package lifecycle

import (
	"time"

	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// Pod-level failure of activeDeadlineSeconds, with the kubelet's words.
const (
	ReasonDeadlineExceeded  = "DeadlineExceeded"
	messageDeadlineExceeded = "Pod was active on the node longer than the specified deadline"
)

// podActions is everything one sync does to a pod, decided by
// computePodActions and carried out by apply in the order of its fields, as
// the kubelet's SyncPod carries out its podActions in numbered steps.
type podActions struct {
	// requeue is when to look again if nothing wakes the worker sooner
	// (0: only when woken), and deadlineCheck when activeDeadlineSeconds
	// must be checked again.
	requeue, deadlineCheck time.Duration

	// fail: the pod has just failed as a whole (activeDeadlineSeconds).
	fail *termination
	// finish: every app container finished for good; the sidecars stop by
	// this deadline.
	finish *time.Time

	// admit runs the node's admission checks before anything is created.
	admit bool
	// unsupported and unsupportedVolumes are what the pod asks for that the
	// node does not do: the pod waits, and these are reported once.
	unsupported        []string
	unsupportedVolumes map[string]string
	// volumes makes sure the pod's Docker volumes exist and its hostPaths
	// are there.
	volumes bool

	// kills stop running instances (the pod's termination, a restart after a
	// failed probe or hook).
	kills []killStep
	// stopSandbox stops the sandbox of a pod that will not run again.
	stopSandbox *sandboxStop

	// sandbox creates or starts the pod's sandbox; containers then join it.
	sandbox *sandboxStep
	// volumeContent writes the API-data volumes' files through the sandbox;
	// containers start only once every volume has its content.
	volumeContent bool
	// containers are the container steps, in the pod's order.
	containers []containerStep

	// remove: every container stopped after a deletion; the terminal status
	// is reported, then the pod's containers and volumes are removed.
	remove bool
	// holdStatus: a deleted pod's containers stopped and its sandbox is
	// stopping; the next status reported is the terminal one, so the API
	// never shows the stopped containers under a phase that is not.
	holdStatus bool
}

// sandboxStep makes the pod's sandbox run.
type sandboxStep struct {
	// start is a sandbox that was created and never started.
	start *instance
	// attempt is the attempt number of a new sandbox (when start is nil).
	attempt int
	// replaces: the previous sandbox died (SandboxChanged).
	replaces bool
}

// sandboxStop is one step of stopping the sandbox: SIGTERM first, SIGKILL
// when it did not exit within sandboxStopTimeout.
type sandboxStop struct {
	inst   *instance
	signal string
}

// killStep is one step of stopping a running instance, as the kubelet's
// killContainer: the first step records the Killing event and starts the
// preStop hook; the stop signal follows once the hook is done and it is
// the instance's turn; SIGKILL comes at the deadline.
type killStep struct {
	inst     *instance
	kind     string    // its LabelContainerKind: where its events point
	message  string    // the Killing event's
	deadline time.Time // of the SIGKILL
	begin    bool      // record Killing and start the preStop hook
	signal   string    // the stop signal to send now, if any
	kill     bool      // send SIGKILL now
	// restart: the instance is killed to be restarted; what is left of its
	// grace period counts from the stop signal's delivery, as with Docker's
	// stop timeout.
	restart bool
}

// containerStep is what one container of the spec needs now.
type containerStep struct {
	slot slot
	// start is the instance to start: created earlier and never started.
	start *instance
	// create, with attempt, makes and starts a new instance.
	create  bool
	attempt int
	// advance restarts the container's back-off from this finish time
	// before the new attempt.
	advance *time.Time
	// prune are older instances to remove once the new one started; the
	// one replaced stays for `kubectl logs --previous` and lastState.
	prune []*instance
	// kill stops the instance (failed probe or postStart hook).
	kill *killStep
	// killDetached: the instance's sandbox was replaced; it lost its network
	// and is killed at once.
	killDetached *instance
	// wait holds the container back (CrashLoopBackOff); backOffEvent is
	// the exited instance whose BackOff event is still to be recorded.
	wait         *waiting
	backOffEvent *instance
	// failedEvent: the wait is new and gets the kubelet's Failed event
	// (an ephemeral container whose target does not run).
	failedEvent bool
	// clearWaiting: the container runs, or will not run again.
	clearWaiting bool
}

// syncInput is what a decision is made from: the pod, one observation of
// the engine, the worker's memory and the probes' results at one instant.
type syncInput struct {
	pod    *v1.Pod
	obs    *observation
	mem    *podMemory
	probes probeResults
	now    time.Time
	// plan is what of the pod the node can provide, from its configuration.
	plan podPlan
}

// podPlan is what the node's configuration says of a pod: what it cannot
// do, and how its volumes are provided.
type podPlan struct {
	unsupported []string
	volumes     translate.VolumePlan
}

// computePodActions decides what the pod needs next. It reads nothing but
// its input and changes nothing: apply carries the actions out.
func computePodActions(in syncInput) podActions {
	var a podActions
	if t := in.mem.termination; t != nil && t.deleted {
		return terminationActions(in, t.deadline)
	}
	if _, _, failed := in.mem.failed(); !failed {
		a.deadlineCheck = activeDeadline(in, &a)
	}
	if a.fail != nil || in.mem.termination != nil && in.mem.termination.reason != "" {
		deadline := in.mem.termination.deadlineOr(a.fail)
		if stopAll(in, deadline, &a) {
			a.requeue = untilDeadline(deadline, in.now)
		} else {
			a.requeue = stopSandboxStep(in, &a)
		}
		return a
	}
	a.requeue = convergeActions(in, &a)
	return a
}

// deadlineOr is the deadline of the pod's failure: the recorded one, or
// that of the failure just decided.
func (t *termination) deadlineOr(fail *termination) time.Time {
	if fail != nil && (t == nil || fail.deadline.Before(t.deadline)) {
		return fail.deadline
	}
	return t.deadline
}

// activeDeadline fails the pod once it has been active longer than
// spec.activeDeadlineSeconds (counted from startTime), and otherwise returns
// when to check again.
func activeDeadline(in syncInput, a *podActions) time.Duration {
	ads := in.pod.Spec.ActiveDeadlineSeconds
	if ads == nil || in.mem.startTime.IsZero() {
		return 0
	}
	end := in.mem.startTime.Add(time.Duration(*ads) * time.Second)
	if in.now.Before(end) {
		return end.Sub(in.now)
	}
	a.fail = &termination{
		reason: ReasonDeadlineExceeded, message: messageDeadlineExceeded,
		deadline: in.now.Add(killGrace(gracePeriod(in.pod, nil))),
	}
	return 0
}

// terminationActions is one step of a deleted pod's termination, as the
// kubelet does it: containers get their stop signal in order (see
// stopAll); whatever still runs at the deadline gets SIGKILL; then the
// sandbox stops; then the terminal status is reported, and only then are
// containers and volumes removed.
func terminationActions(in syncInput, deadline time.Time) podActions {
	var a podActions
	if stopAll(in, deadline, &a) {
		a.requeue = untilDeadline(deadline, in.now)
		return a
	}
	if sb := in.obs.sandbox; sb != nil && sb.running() {
		a.requeue, a.holdStatus = stopSandboxStep(in, &a), true
		return a
	}
	a.remove = true
	return a
}

// untilDeadline is when to look again at instances being stopped.
func untilDeadline(deadline, now time.Time) time.Duration {
	if !now.Before(deadline) {
		return retryAfterError
	}
	return deadline.Sub(now)
}

// convergeActions decides what a pod that runs needs: admission, volumes,
// the sandbox and its containers in order; or, once nothing will run again,
// stopping what is left.
func convergeActions(in syncInput, a *podActions) time.Duration {
	a.admit = !in.mem.admission.admitted
	if len(in.plan.unsupported) > 0 {
		if !in.mem.reportedUnsupported {
			a.unsupported = in.plan.unsupported
		}
		return 0
	}
	if len(in.plan.volumes.Unsupported) > 0 {
		if !in.mem.reportedVolumes {
			a.unsupportedVolumes = in.plan.volumes.Unsupported
		}
		return 0
	}
	a.volumes = true
	if podDone(in.pod, in.obs) {
		// Nothing will run again: stop what is left, sidecars then the
		// sandbox, and keep the containers for `kubectl logs`.
		deadline := in.now.Add(killGrace(gracePeriod(in.pod, nil)))
		if t := in.mem.termination; t != nil {
			deadline = t.deadline
		} else {
			a.finish = &deadline
		}
		if stopAll(in, deadline, a) {
			return untilDeadline(deadline, in.now)
		}
		return stopSandboxStep(in, a)
	}
	sb := in.obs.sandbox
	if sb == nil || !sb.running() {
		if d, held := in.mem.sandboxRetry.held(in.now); held {
			return d // the last attempt failed (FailedCreatePodSandBox)
		}
	}
	switch {
	case sb != nil && sb.running():
	case sb != nil && sb.created():
		a.sandbox = &sandboxStep{start: sb}
	case sb != nil:
		// The sandbox died: the kubelet makes a new one. Containers joined to
		// the old one lost their network and are restarted with the new one.
		a.sandbox, sb = &sandboxStep{attempt: sb.name.Attempt + 1, replaces: true}, nil
	default:
		a.sandbox = &sandboxStep{}
	}
	a.volumeContent = true
	return containerActions(in, sb, a)
}

// stopSandboxStep stops the sandbox of a pod whose containers are all
// stopped, and returns when to look again.
func stopSandboxStep(in syncInput, a *podActions) time.Duration {
	sb := in.obs.sandbox
	if sb == nil || !sb.running() {
		return 0
	}
	switch st := in.mem.stopOf(sb.id()); {
	case st == nil || st.signalledAt.IsZero():
		a.stopSandbox = &sandboxStop{inst: sb, signal: "SIGTERM"}
	case in.now.Sub(st.signalledAt) >= sandboxStopTimeout && !st.killed:
		a.stopSandbox = &sandboxStop{inst: sb, signal: "SIGKILL"}
	}
	return sandboxStopTimeout
}
