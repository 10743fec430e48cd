package lifecycle

import (
	"fmt"
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

// buildStatus synthesises the pod's status from what the engine holds, the
// way the kubelet's generateAPIPodStatus does. terminal is true once the
// pod has been stopped for deletion: its containers will not run again.
func (w *Worker) buildStatus(pod *v1.Pod, obs *observation, prev *v1.PodStatus, terminal bool) v1.PodStatus {
	s := v1.PodStatus{
		QOSClass:          pod.Status.QOSClass,
		NominatedNodeName: pod.Status.NominatedNodeName,
	}
	if !w.startTime.IsZero() {
		s.StartTime = w.startTime.DeepCopy()
	}
	if w.rt.HostIP != "" {
		s.HostIP = w.rt.HostIP
		s.HostIPs = []v1.HostIP{{IP: w.rt.HostIP}}
	}
	if ip := w.rt.sandboxIP(obs.sandbox); ip != "" {
		s.PodIP = ip
		s.PodIPs = []v1.PodIP{{IP: ip}}
	}
	for _, c := range pod.Spec.Containers {
		s.ContainerStatuses = append(s.ContainerStatuses, w.containerStatus(c, obs))
	}
	s.Phase = podPhase(pod, s.ContainerStatuses, terminal)
	if terminal && s.Phase != v1.PodSucceeded && s.Phase != v1.PodFailed {
		// A pod stopped before its containers finished (some never started)
		// is Failed, as the kubelet's status manager marks it (TerminatePod).
		s.Phase = v1.PodFailed
	}

	for _, c := range pod.Status.Conditions {
		if !kubeletConditions[c.Type] {
			s.Conditions = append(s.Conditions, c)
		}
	}
	sandboxReady := obs.sandbox != nil && obs.sandbox.running() && s.PodIP != ""
	var notReady []string
	for _, cs := range s.ContainerStatuses {
		if !cs.Ready {
			notReady = append(notReady, cs.Name)
		}
	}
	containersReady := condition(v1.ContainersReady, len(notReady) == 0, "ContainersNotReady",
		fmt.Sprintf("containers with unready status: [%s]", strings.Join(notReady, " ")))
	if s.Phase == v1.PodSucceeded || s.Phase == v1.PodFailed {
		containersReady = condition(v1.ContainersReady, false, "PodCompleted", "")
	}
	ready := containersReady
	ready.Type = v1.PodReady
	s.Conditions = append(s.Conditions,
		condition(v1.PodReadyToStartContainers, sandboxReady && !terminal, "", ""),
		condition(v1.PodInitialized, true, "", ""),
		containersReady,
		ready,
	)
	keepTransitionTimes(&s, prev, w.rt.Clock.Now())
	return s
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

// containerStatus reports one app container from its newest instance.
func (w *Worker) containerStatus(c v1.Container, obs *observation) v1.ContainerStatus {
	cs := v1.ContainerStatus{Name: c.Name, Image: c.Image, Started: new(bool)}
	insts := obs.containers[c.Name]
	if len(insts) == 0 {
		wt, ok := w.waiting[c.Name]
		if !ok {
			wt = waiting{reason: ReasonContainerCreating}
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
	switch {
	case cur.running():
		cs.State.Running = &v1.ContainerStateRunning{StartedAt: dockerTime(cur.inspect.State.StartedAt)}
		cs.Ready = true
		*cs.Started = true
	case cur.created():
		wt, ok := w.waiting[c.Name]
		if !ok {
			wt = waiting{reason: ReasonContainerCreating}
		}
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: wt.reason, Message: wt.message}
	default:
		cs.State.Terminated = terminatedState(cur)
	}
	if len(insts) > 1 && insts[1].exited() {
		cs.LastTerminationState.Terminated = terminatedState(insts[1])
	}
	return cs
}

// terminatedState describes an exited instance with the kubelet's reasons.
func terminatedState(inst *instance) *v1.ContainerStateTerminated {
	st := inst.inspect.State
	t := &v1.ContainerStateTerminated{
		ExitCode:    int32(st.ExitCode),
		StartedAt:   dockerTime(st.StartedAt),
		FinishedAt:  dockerTime(st.FinishedAt),
		ContainerID: "docker://" + inst.id(),
	}
	switch {
	case st.OOMKilled:
		t.Reason = ReasonOOMKilled
	case st.ExitCode == 0:
		t.Reason = ReasonCompleted
	default:
		t.Reason = ReasonError
	}
	if st.Error != "" {
		t.Message = st.Error
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

// podPhase is the kubelet's getPhase for app containers: Pending while any
// container waits to start for the first time, Running while any runs,
// Succeeded or Failed once all have stopped for good.
func podPhase(pod *v1.Pod, statuses []v1.ContainerStatus, terminal bool) v1.PodPhase {
	var unknown, running, waitingN, stopped, succeeded int
	for _, c := range pod.Spec.Containers {
		var cs *v1.ContainerStatus
		for j := range statuses {
			if statuses[j].Name == c.Name {
				cs = &statuses[j]
				break
			}
		}
		switch {
		case cs == nil:
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
	switch {
	case waitingN > 0:
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
