package lifecycle

import (
	"fmt"
	"time"

	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// ephemeralActions decides the steps of the pod's ephemeral containers
// (kubectl debug) as the kubelet's computePodActions does
// (EphemeralContainersToStart): one that never ran is started, even while
// the pod initializes, and none is ever started again, whatever its exit.
// sb is the running sandbox, nil when this pass makes a new one: an
// ephemeral container then waits for the next pass, as in the kubelet.
func ephemeralActions(in syncInput, sb *instance, a *podActions) time.Duration {
	var next time.Duration
	for _, s := range ephemeralSlots(in.pod) {
		step := containerStep{slot: s}
		cur := in.obs.latest(s.c.Name)
		switch {
		case cur == nil && sb == nil:
			continue
		case cur == nil:
			if s.target == "" {
				step.create = true
				break
			}
			// The target's PID namespace is joined through its newest
			// instance, as the kubelet's getTargetID finds it, running or
			// not (the engine refuses to start it beside a stopped one:
			// ContainerCannotRun). Without any, the kubelet reports a
			// config error and tries again on its next sync.
			if t := in.obs.latest(s.target); t != nil {
				step.slot.pidTarget = t.id()
				step.create = true
				break
			}
			w := waiting{ReasonCreateContainerConfigError, fmt.Sprintf("unable to find target container %s", s.target)}
			step.wait, step.failedEvent = &w, in.mem.waiting[s.c.Name] != w
			next = retryAfterError
		case cur.running() && (sb == nil || !cur.joinedTo(sb)):
			// Its sandbox was replaced: killed, and never started again.
			step.killDetached, next = cur, retryAfterError
		case cur.created() && !cur.startFailed() && sb != nil:
			// Created by a pass that ended before starting it: this is
			// still its one run.
			step.start = cur
		default:
			// Running, or done for good.
			step.clearWaiting = true
		}
		a.containers = append(a.containers, step)
	}
	return next
}

// ephemeralSlots are the pod's ephemeral containers, as containers.
func ephemeralSlots(pod *v1.Pod) []slot {
	out := make([]slot, 0, len(pod.Spec.EphemeralContainers))
	for i := range pod.Spec.EphemeralContainers {
		ec := &pod.Spec.EphemeralContainers[i]
		out = append(out, slot{c: translate.EphemeralContainer(ec), index: i, ephemeral: true, target: ec.TargetContainerName})
	}
	return out
}
