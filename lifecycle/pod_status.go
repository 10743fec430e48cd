package lifecycle

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kubeletConditions are the pod conditions the kubelet owns; every other
// condition (PodScheduled, DisruptionTarget, readiness gates...) belongs to
// someone else and is passed through unchanged.
var kubeletConditions = map[v1.PodConditionType]bool{
	v1.PodReadyToStartContainers: true,
	v1.PodInitialized:            true,
	v1.ContainersReady:           true,
	v1.PodReady:                  true,
}

// statusNode is what of the node a pod's status shows.
type statusNode struct {
	hostIP  string
	network string // the Docker network whose address is the pod IP
}

// ForeignConditionsChanged reports whether the conditions the node does not
// own (readiness gates, DisruptionTarget...) differ between two versions of
// a pod: the node must then look again at its Ready condition.
func ForeignConditionsChanged(old, pod *v1.Pod) bool {
	foreign := func(p *v1.Pod) map[v1.PodConditionType]v1.ConditionStatus {
		m := map[v1.PodConditionType]v1.ConditionStatus{}
		for _, c := range p.Status.Conditions {
			if !kubeletConditions[c.Type] {
				m[c.Type] = c.Status
			}
		}
		return m
	}
	return !maps.Equal(foreign(old), foreign(pod))
}

// generatePodStatus is the pod's status from what the engine holds and what
// the worker remembers, the way the kubelet's generateAPIPodStatus computes
// it. terminal is true once the pod has been stopped for deletion: its
// containers will not run again. prev holds the conditions' last
// transition times.
func generatePodStatus(in syncInput, node statusNode, prev *v1.PodStatus, terminal bool) v1.PodStatus {
	pod, obs, mem := in.pod, in.obs, in.mem
	failReason, failMessage, failed := mem.failed()
	if mem.admission.rejected {
		return rejectedStatus(pod, failReason, failMessage)
	}
	s := v1.PodStatus{
		QOSClass:           pod.Status.QOSClass,
		NominatedNodeName:  pod.Status.NominatedNodeName,
		ObservedGeneration: pod.Generation,
	}
	if !mem.startTime.IsZero() {
		s.StartTime = mem.startTime.DeepCopy()
	}
	if node.hostIP != "" {
		s.HostIP = node.hostIP
		s.HostIPs = []v1.HostIP{{IP: node.hostIP}}
	}
	ip := node.podIP(obs.sandbox)
	if ip == "" && obs.sandbox != nil {
		ip = mem.podIP // a stopped sandbox keeps its pod's IP in the status, as in the kubelet
	}
	if ip != "" {
		s.PodIP = ip
		s.PodIPs = []v1.PodIP{{IP: ip}}
	}
	terminating := mem.termination != nil && mem.termination.deleted
	initialized := anyAppContainerCreated(pod, obs)
	for _, sl := range initSlots(pod) {
		s.InitContainerStatuses = append(s.InitContainerStatuses, generateContainerStatus(in, sl, ReasonPodInitializing, terminating))
	}
	// The kubelet's default waiting reason of a container not created yet.
	appWaiting := ReasonContainerCreating
	if len(pod.Spec.InitContainers) > 0 {
		appWaiting = ReasonPodInitializing
	}
	for _, sl := range appSlots(pod) {
		s.ContainerStatuses = append(s.ContainerStatuses, generateContainerStatus(in, sl, appWaiting, terminating))
	}
	for _, sl := range ephemeralSlots(pod) {
		s.EphemeralContainerStatuses = append(s.EphemeralContainerStatuses, generateContainerStatus(in, sl, appWaiting, terminating))
	}
	s.Phase = podPhase(pod, s.InitContainerStatuses, s.ContainerStatuses, terminal, initialized)
	if terminal && s.Phase != v1.PodSucceeded && s.Phase != v1.PodFailed {
		// A pod stopped before its containers finished (some never started)
		// is Failed, as the kubelet's status manager marks it (TerminatePod).
		s.Phase = v1.PodFailed
	}
	if failed && !anyRunning(obs) {
		// Reported once every container stopped: the pod controller writes
		// no status after a terminal phase, so the final container states
		// must come with it.
		s.Phase, s.Reason, s.Message = v1.PodFailed, failReason, failMessage
	}
	if mem.admission.reason != "" && s.Phase == v1.PodPending {
		s.Reason, s.Message = mem.admission.reason, mem.admission.message
	}
	s.Conditions = podConditions(pod, &s, obs.sandbox != nil && obs.sandbox.running() && node.podIP(obs.sandbox) != "", terminal, initialized)
	keepTransitionTimes(&s, prev, in.now)
	return s
}

// podConditions are the pod's conditions: those others own as they wrote
// them, then the kubelet's.
func podConditions(pod *v1.Pod, s *v1.PodStatus, sandboxReady, terminal, initialized bool) []v1.PodCondition {
	var out []v1.PodCondition
	for _, c := range pod.Status.Conditions {
		if !kubeletConditions[c.Type] {
			out = append(out, c)
		}
	}
	containersReady := containersReadyCondition(pod, s.InitContainerStatuses, s.ContainerStatuses, s.Phase)
	ready := readyCondition(pod, containersReady, out)
	out = append(out,
		condition(v1.PodReadyToStartContainers, sandboxReady && !terminal && s.Phase != v1.PodSucceeded && s.Phase != v1.PodFailed, "", ""),
		initializedCondition(pod, s.InitContainerStatuses, s.Phase, initialized),
		containersReady,
		ready,
	)
	for i := range out {
		if kubeletConditions[out[i].Type] {
			out[i].ObservedGeneration = pod.Generation
		}
	}
	return out
}

// containersReadyCondition is the kubelet's GenerateContainersReadyCondition:
// every app container and sidecar ready.
func containersReadyCondition(pod *v1.Pod, initStatuses, statuses []v1.ContainerStatus, phase v1.PodPhase) v1.PodCondition {
	switch phase {
	case v1.PodSucceeded:
		return condition(v1.ContainersReady, false, "PodCompleted", "")
	case v1.PodFailed:
		return condition(v1.ContainersReady, false, "PodFailed", "")
	}
	var unready []string
	for i, sl := range initSlots(pod) {
		if sl.sidecar && !initStatuses[i].Ready {
			unready = append(unready, sl.c.Name)
		}
	}
	for _, cs := range statuses {
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	return condition(v1.ContainersReady, len(unready) == 0, "ContainersNotReady",
		fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " ")))
}

// ReasonReadinessGatesNotReady is the Ready condition's reason while a
// readiness gate's condition is missing or not True.
const ReasonReadinessGatesNotReady = "ReadinessGatesNotReady"

// readyCondition is the kubelet's GeneratePodReadyCondition: ContainersReady,
// and every readiness gate's condition (written by others, in others) True.
func readyCondition(pod *v1.Pod, containersReady v1.PodCondition, others []v1.PodCondition) v1.PodCondition {
	ready := containersReady
	ready.Type = v1.PodReady
	if ready.Status != v1.ConditionTrue {
		return ready
	}
	var unready []string
	for _, rg := range pod.Spec.ReadinessGates {
		i := slices.IndexFunc(others, func(c v1.PodCondition) bool { return c.Type == rg.ConditionType })
		switch {
		case i < 0:
			unready = append(unready, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", rg.ConditionType))
		case others[i].Status != v1.ConditionTrue:
			unready = append(unready, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", rg.ConditionType, others[i].Status))
		}
	}
	if len(unready) > 0 {
		return condition(v1.PodReady, false, ReasonReadinessGatesNotReady, strings.Join(unready, ", "))
	}
	return ready
}

// initializedCondition is the kubelet's GeneratePodInitializedCondition.
func initializedCondition(pod *v1.Pod, initStatuses []v1.ContainerStatus, phase v1.PodPhase, appsStarted bool) v1.PodCondition {
	if phase == v1.PodSucceeded {
		c := condition(v1.PodInitialized, true, "", "")
		c.Reason = "PodCompleted"
		return c
	}
	var incomplete []string
	for i, sl := range initSlots(pod) {
		cs := initStatuses[i]
		done := (sl.sidecar && cs.Started != nil && *cs.Started) ||
			(!sl.sidecar && cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0)
		if !done {
			incomplete = append(incomplete, sl.c.Name)
		}
	}
	return condition(v1.PodInitialized, appsStarted || len(incomplete) == 0, "ContainersNotInitialized",
		fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " ")))
}

func condition(t v1.PodConditionType, ok bool, reason, message string) v1.PodCondition {
	c := v1.PodCondition{Type: t, Status: v1.ConditionTrue}
	if !ok {
		c.Status = v1.ConditionFalse
		c.Reason, c.Message = reason, message
	}
	return c
}

// keepTransitionTimes stamps each kubelet condition with the time its status
// last changed: the previous stamp when it did not change, now when it did.
func keepTransitionTimes(s *v1.PodStatus, prev *v1.PodStatus, now time.Time) {
	for i := range s.Conditions {
		c := &s.Conditions[i]
		if !kubeletConditions[c.Type] {
			continue
		}
		c.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
		if prev == nil {
			continue
		}
		for _, p := range prev.Conditions {
			if p.Type == c.Type && p.Status == c.Status {
				c.LastTransitionTime = p.LastTransitionTime
			}
		}
	}
}

// generateContainerStatus reports one container from its newest instance. notRun
// is the waiting reason of a container that has no instance yet; nothing is
// ready while the pod terminates. An ephemeral container is never ready and,
// as the kubelet's prober only reports on the others, has no started field.
func generateContainerStatus(in syncInput, sl slot, notRun string, terminating bool) v1.ContainerStatus {
	c := sl.c
	cs := v1.ContainerStatus{Name: c.Name, Image: c.Image}
	if !sl.ephemeral {
		cs.Started = new(bool)
	}
	insts := in.obs.containers[c.Name]
	wt, hasWaiting := in.mem.waiting[c.Name]
	if len(insts) == 0 {
		if !hasWaiting {
			wt = waiting{reason: notRun}
		}
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: wt.reason, Message: wt.message}
		return cs
	}
	cur := insts[0]
	cs.ContainerID = "docker://" + cur.id()
	cs.ImageID = "docker://" + cur.inspect.Image
	if n, err := strconv.Atoi(cur.label(dockerhost.LabelRestartCount)); err == nil {
		cs.RestartCount = int32(n)
	}
	if len(insts) > 1 && insts[1].finished() {
		cs.LastTerminationState.Terminated = terminatedState(in.mem, insts[1])
	}
	switch {
	case cur.running():
		cs.State.Running = &v1.ContainerStateRunning{StartedAt: dockerTime(cur.inspect.State.StartedAt)}
		// Started and ready per the probes; a regular init container is
		// ready only once it completed.
		if cs.Started != nil {
			*cs.Started = in.probes.started(c, cur.id())
		}
		cs.Ready = (!sl.init || sl.sidecar) && !sl.ephemeral && in.probes.ready(c, cur.id()) && !terminating
	case cur.created() && !cur.startFailed():
		if !hasWaiting {
			wt = waiting{reason: ReasonContainerCreating}
		}
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: wt.reason, Message: wt.message}
	case hasWaiting:
		// Exited and held back (CrashLoopBackOff) or failing to restart:
		// the kubelet shows why it waits, and the exit as the last state.
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: wt.reason, Message: wt.message}
		cs.LastTerminationState.Terminated = terminatedState(in.mem, cur)
	default:
		cs.State.Terminated = terminatedState(in.mem, cur)
		// A regular init container that completed is ready, as in the kubelet.
		cs.Ready = sl.init && !sl.sidecar && cur.exitCode() == 0
	}
	return cs
}

// terminatedState describes an exited instance with the kubelet's reasons.
func terminatedState(mem *podMemory, inst *instance) *v1.ContainerStateTerminated {
	st := inst.inspect.State
	if st == nil {
		return &v1.ContainerStateTerminated{ContainerID: "docker://" + inst.id(), Reason: ReasonError}
	}
	t := &v1.ContainerStateTerminated{
		ExitCode:    int32(inst.exitCode()),
		StartedAt:   dockerTime(st.StartedAt),
		FinishedAt:  dockerTime(st.FinishedAt),
		ContainerID: "docker://" + inst.id(),
	}
	switch {
	case inst.startFailed():
		// dockershim and cri-dockerd date a container that never ran by
		// its creation.
		t.Reason = ReasonContainerCannotRun
		t.StartedAt = metav1.NewTime(inst.finishedAt())
		t.FinishedAt = t.StartedAt
	case st.OOMKilled:
		t.Reason = ReasonOOMKilled
	case st.ExitCode == 0:
		t.Reason = ReasonCompleted
	default:
		t.Reason = ReasonError
	}
	var msg string
	if r := mem.instances[inst.id()]; r != nil {
		msg = r.message
	}
	switch {
	case st.Error != "" && msg != "":
		t.Message = st.Error + ": " + msg
	case st.Error != "":
		t.Message = st.Error
	default:
		t.Message = msg
	}
	return t
}

// dockerTime parses the engine's RFC 3339 timestamps; its zero time
// ("0001-01-01T00:00:00Z") stays zero.
func dockerTime(s string) metav1.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return metav1.Time{}
	}
	return metav1.NewTime(t)
}

// podPhase is the kubelet's getPhase (without the ContainerRestartRules
// alpha feature): Pending until initialized and every container has started
// once, Running while any runs or will be restarted, Succeeded or Failed once
// all have stopped for good.
func podPhase(pod *v1.Pod, initStatuses, statuses []v1.ContainerStatus, terminal, initialized bool) v1.PodPhase {
	pendingInit, failedInit, pendingSidecars := 0, 0, 0
	var unknown, running, waitingN, stopped, succeeded int
	for i, sl := range initSlots(pod) {
		cs := initStatuses[i]
		if sl.sidecar {
			switch {
			case cs.State.Running != nil:
				if cs.Started == nil || !*cs.Started {
					pendingSidecars++
				}
				running++
			case cs.State.Terminated != nil, cs.LastTerminationState.Terminated != nil:
				// Stopped sidecars do not count.
			default:
				pendingSidecars++
				waitingN++
			}
			continue
		}
		switch {
		case cs.State.Running != nil:
			pendingInit++
		case cs.State.Terminated != nil:
			if cs.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil:
			if cs.LastTerminationState.Terminated.ExitCode != 0 {
				failedInit++
			}
		default:
			pendingInit++
		}
	}
	for _, c := range pod.Spec.Containers {
		cs, ok := statusOf(statuses, c.Name)
		switch {
		case !ok:
			unknown++
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil:
			stopped++
		case cs.State.Waiting != nil:
			waitingN++
		default:
			unknown++
		}
	}
	if failedInit > 0 && pod.Spec.RestartPolicy == v1.RestartPolicyNever {
		return v1.PodFailed
	}
	switch {
	case pendingInit > 0 || (pendingSidecars > 0 && !initialized), waitingN > 0:
		return v1.PodPending
	case running > 0 && unknown == 0:
		return v1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if terminal {
			if stopped == succeeded {
				return v1.PodSucceeded
			}
			return v1.PodFailed
		}
		if pod.Spec.RestartPolicy == v1.RestartPolicyAlways {
			return v1.PodRunning
		}
		if stopped == succeeded {
			return v1.PodSucceeded
		}
		if pod.Spec.RestartPolicy == v1.RestartPolicyNever {
			return v1.PodFailed
		}
		return v1.PodRunning
	default:
		return v1.PodPending
	}
}

func anyRunning(obs *observation) bool {
	for _, insts := range obs.containers {
		for _, inst := range insts {
			if inst.running() {
				return true
			}
		}
	}
	return false
}

func statusOf(statuses []v1.ContainerStatus, name string) (v1.ContainerStatus, bool) {
	for _, cs := range statuses {
		if cs.Name == name {
			return cs, true
		}
	}
	return v1.ContainerStatus{}, false
}
