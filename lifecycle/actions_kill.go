package lifecycle

import (
	"fmt"
	"strings"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/probes"
	v1 "k8s.io/api/core/v1"
)

// sandboxStopTimeout is how long the pause process gets to exit on SIGTERM
// (it exits at once) before it is killed.
const sandboxStopTimeout = 2 * time.Second

// minimumKillGrace is the kubelet's minimumGracePeriodInSeconds: no
// container it kills, for any reason, gets less time between its stop
// signal and SIGKILL (killContainer).
const minimumKillGrace = 2 * time.Second

// killGrace is a grace period with the kubelet's minimum applied.
func killGrace(grace time.Duration) time.Duration {
	return max(grace, minimumKillGrace)
}

// stopAll decides one step of stopping every running container of the pod
// as the kubelet's killContainersWithSyncResult does: all of them at once
// get their Killing event and start their preStop hooks; app containers
// (and a running regular init container) get their stop signal as soon as
// their own hook is done; sidecars only once, in addition, every app
// container and every sidecar declared after them has exited
// (kuberuntime_termination_order.go). Whatever still runs at the deadline
// gets SIGKILL. It reports whether containers are still running.
func stopAll(in syncInput, deadline time.Time, a *podActions) bool {
	sidecars := map[string]bool{}
	var order []string
	for _, sl := range initSlots(in.pod) {
		if sl.sidecar {
			sidecars[sl.c.Name] = true
			order = append(order, sl.c.Name)
		}
	}
	stop := func(inst *instance, turn bool) {
		msg := fmt.Sprintf("Stopping container %s", inst.name.Container)
		if k := killDecision(in, inst, deadline, msg, turn, false); k != nil {
			a.kills = append(a.kills, *k)
		}
	}
	// before: something that must exit before the next sidecar's turn
	// still runs.
	before := false
	for _, name := range observedNames(in.obs) {
		if sidecars[name] {
			continue
		}
		for _, inst := range runningInstances(in.obs, name) {
			stop(inst, true)
			before = true
		}
	}
	any := before
	for i := len(order) - 1; i >= 0; i-- {
		insts := runningInstances(in.obs, order[i])
		for _, inst := range insts {
			stop(inst, !before)
		}
		if len(insts) > 0 {
			before, any = true, true
		}
	}
	return any
}

// killDecision is the next step of stopping a running instance, nil when it
// has none now (its hook runs, or it waits for its turn or its SIGKILL).
// turn tells whether it may get its stop signal yet.
func killDecision(in syncInput, inst *instance, deadline time.Time, message string, turn, restart bool) *killStep {
	k := &killStep{
		inst: inst, message: message, deadline: deadline, restart: restart,
		kind: inst.label(dockerhost.LabelContainerKind),
	}
	st := in.mem.stopOf(inst.id())
	graceOver := !in.now.Before(deadline)
	hookDone := true
	if st == nil {
		k.begin = true
		c := specContainer(in.pod, inst.name.Container)
		hookDone = graceOver || c == nil || c.Lifecycle == nil || c.Lifecycle.PreStop == nil
	} else {
		hookDone = st.preStop.finished()
	}
	switch {
	case graceOver:
		k.kill = st == nil || !st.killed
	case turn && hookDone && (st == nil || st.signalledAt.IsZero()):
		k.signal = stopSignal(inst)
	}
	if !k.begin && !k.kill && k.signal == "" {
		return nil
	}
	return k
}

// restartKill decides the next step of killing a running instance to
// restart it (failed probe or postStart hook) with grace.
func restartKill(in syncInput, sl slot, inst *instance, grace time.Duration, message string) (*killStep, time.Duration) {
	deadline := in.now.Add(grace)
	if st := in.mem.stopOf(inst.id()); st != nil {
		deadline = st.deadline
	}
	return killDecision(in, inst, deadline, message, true, true), untilDeadline(deadline, in.now)
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
	return killGrace(grace)
}

// unhealthyMessage is the Killing event of a container whose probe failed.
func unhealthyMessage(name string, kind probes.Kind) string {
	return fmt.Sprintf("Container %s failed %s probe, will be restarted", name, strings.ToLower(string(kind)))
}

// stopSignal is the signal Docker would send on `docker stop`: the
// container's configured STOPSIGNAL (from its image), else SIGTERM.
func stopSignal(inst *instance) string {
	if inst.inspect.Config != nil && inst.inspect.Config.StopSignal != "" {
		return inst.inspect.Config.StopSignal
	}
	return "SIGTERM"
}

// runningInstances are the running instances of one container.
func runningInstances(obs *observation, name string) []*instance {
	var out []*instance
	for _, inst := range obs.containers[name] {
		if inst.running() {
			out = append(out, inst)
		}
	}
	return out
}

// gracePeriod is how long a pod's containers get to stop: the deletion's
// grace period when there is one, else the spec's
// terminationGracePeriodSeconds (default 30 s).
func gracePeriod(pod *v1.Pod, deletionGrace *int64) time.Duration {
	grace := int64(v1.DefaultTerminationGracePeriodSeconds)
	switch {
	case deletionGrace != nil:
		grace = *deletionGrace
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	return time.Duration(max(grace, 0)) * time.Second
}
