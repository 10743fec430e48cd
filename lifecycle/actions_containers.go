package lifecycle

import (
	"fmt"
	"sort"
	"time"

	"github.com/vk-docker/vk-docker/probes"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// Waiting reasons and events of restarts, as the kubelet's.
const (
	ReasonCrashLoopBackOff = "CrashLoopBackOff"
	ReasonPodInitializing  = "PodInitializing"
	EventBackOff           = "BackOff"
)

// containerActions decides the container steps of a running pod: its
// ephemeral containers, init containers one at a time, then sidecars and
// app containers, restarting them per policy. sb is the running sandbox the containers
// join, nil when a new one is made by this sync. (A pod that is done never
// gets here: see podDone.)
func containerActions(in syncInput, sb *instance, a *podActions) time.Duration {
	// As the kubelet's SyncPod, ephemeral containers come first: one can
	// debug a pod whose init containers fail to start.
	next := ephemeralActions(in, sb, a)
	if !anyAppContainerCreated(in.pod, in.obs) {
		if done, initNext := initActions(in, sb, a); !done {
			return minDelay(next, initNext)
		}
	}
	for _, s := range initSlots(in.pod) {
		if s.sidecar {
			next = minDelay(next, containerStepFor(in, s, sb, a))
		}
	}
	for _, s := range appSlots(in.pod) {
		next = minDelay(next, containerStepFor(in, s, sb, a))
	}
	return next
}

// initActions starts the init containers one at a time, in order: a regular
// one must exit 0 before the next starts; a sidecar must have started once,
// and later exits of it are restarted (with back-off) without holding the
// others back. It reports whether every init container is done.
func initActions(in syncInput, sb *instance, a *podActions) (bool, time.Duration) {
	var next time.Duration
	for _, s := range initSlots(in.pod) {
		cur := in.obs.latest(s.c.Name)
		switch {
		case s.sidecar && cur != nil && cur.running() && in.probes.started(s.c, cur.id()):
			continue
		case s.sidecar && cur != nil && cur.finished():
			// Started before: it comes back on its own schedule.
			next = minDelay(next, containerStepFor(in, s, sb, a))
			continue
		case !s.sidecar && cur != nil && cur.finished() && cur.exitCode() == 0:
			continue
		}
		d := containerStepFor(in, s, sb, a)
		if next > 0 && (d == 0 || next < d) {
			d = next
		}
		return false, d
	}
	return true, next
}

// containerStepFor decides what one container needs: a first start, a
// restart per restart policy and back-off after it exited, or a kill after
// a failed probe or postStart hook. It returns when to look again.
func containerStepFor(in syncInput, s slot, sb *instance, a *podActions) time.Duration {
	name := s.c.Name
	insts := in.obs.containers[name]
	step := containerStep{slot: s}
	var next time.Duration
	var cur *instance
	if len(insts) > 0 {
		cur = insts[0]
	}
	switch {
	case cur == nil:
		if d, held := in.mem.createRetry[name].held(in.now); held {
			return d // its last create failed: it keeps its waiting reason
		}
		step.create = true
	case cur.running() && (sb == nil || !cur.joinedTo(sb)):
		// Its sandbox died and was replaced: the container lost its network
		// and IPC. The kubelet kills it; it comes back per restart policy.
		step.killDetached, next = cur, retryAfterError
	case cur.running():
		step.clearWaiting = true
		next = runningStep(in, s, cur, &step)
	case cur.created() && !cur.startFailed():
		step.start = cur
	case !shouldRestart(in.pod, s, cur.exitCode()):
		step.clearWaiting = true
	default: // exited, or failed to start, and to be restarted
		key, finished := backOffKey(in.pod, s.c), cur.finishedAt()
		if delay, held := in.mem.crashLoop.holds(key, finished, in.now); held {
			step.wait = &waiting{
				reason:  ReasonCrashLoopBackOff,
				message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", delay, name, translate.FormatPod(in.pod)),
			}
			if r := in.mem.instances[cur.id()]; r == nil || !r.backOffReported {
				step.backOffEvent = cur
			}
			next = max(finished.Add(delay).Sub(in.now), 100*time.Millisecond)
			break
		}
		if d, held := in.mem.createRetry[name].held(in.now); held {
			return d
		}
		step.create, step.attempt, step.advance = true, cur.name.Attempt+1, &finished
		step.prune = insts[1:]
	}
	a.containers = append(a.containers, step)
	return next
}

// runningStep decides what a running instance needs: nothing, or a kill
// after its postStart hook or its liveness or startup probe failed.
func runningStep(in syncInput, s slot, cur *instance, step *containerStep) time.Duration {
	var next time.Duration
	if r := in.mem.instances[cur.id()]; r != nil && r.postStartFailed {
		step.kill, next = restartKill(in, s, cur, killGrace(gracePeriod(in.pod, nil)), EventFailedPostStartHook)
	} else if kind, failed := in.probes.failed(cur.id()); failed {
		step.kill, next = restartKill(in, s, cur, probeGrace(in.pod, s.c, kind), unhealthyMessage(s.c.Name, kind))
	}
	return next
}

// slot is one container of the pod spec with its role.
type slot struct {
	c         *v1.Container
	index     int  // position in containers, initContainers or ephemeralContainers
	init      bool // an init container (sidecar or not)
	sidecar   bool // an init container with restartPolicy Always
	ephemeral bool // an ephemeral container (kubectl debug)
	// target is an ephemeral container's targetContainerName; pidTarget
	// the engine ID of that container's running instance, set when the
	// ephemeral container's start is decided.
	target, pidTarget string
}

// kind is the slot's LabelContainerKind value.
func (s slot) kind() string { return s.translate().Kind() }

// translate is where the slot's container sits, in translate's terms.
func (s slot) translate() translate.Slot {
	return translate.Slot{Index: s.index, Init: s.init, Ephemeral: s.ephemeral, PIDTarget: s.pidTarget}
}

func initSlots(pod *v1.Pod) []slot {
	out := make([]slot, 0, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		out = append(out, slot{c: c, index: i, init: true, sidecar: isSidecar(c)})
	}
	return out
}

func appSlots(pod *v1.Pod) []slot {
	out := make([]slot, 0, len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		out = append(out, slot{c: &pod.Spec.Containers[i], index: i})
	}
	return out
}

func isSidecar(c *v1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways
}

// specContainer finds a container of the pod spec by name.
func specContainer(pod *v1.Pod, name string) *v1.Container {
	for _, sl := range append(initSlots(pod), appSlots(pod)...) {
		if sl.c.Name == name {
			return sl.c
		}
	}
	return nil
}

// shouldRestart applies the restart policy to an exited container: sidecars
// always restart; regular init containers restart only on failure (unless
// the pod's policy is Never); app containers follow the pod's policy.
func shouldRestart(pod *v1.Pod, s slot, exitCode int) bool {
	switch {
	case s.sidecar:
		return true
	case s.init:
		return exitCode != 0 && pod.Spec.RestartPolicy != v1.RestartPolicyNever
	}
	switch pod.Spec.RestartPolicy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// anyAppContainerCreated reports whether app containers were started before:
// the pod was initialized, whatever its init containers look like now.
func anyAppContainerCreated(pod *v1.Pod, obs *observation) bool {
	for _, c := range pod.Spec.Containers {
		if len(obs.containers[c.Name]) > 0 {
			return true
		}
	}
	return false
}

// podDone reports whether nothing of the pod will run again: every app
// container finished for good, or a regular init container failed for good.
// The kubelet then kills the pod's remaining containers and its sandbox.
func podDone(pod *v1.Pod, obs *observation) bool {
	if anyAppContainerCreated(pod, obs) {
		for _, s := range appSlots(pod) {
			cur := obs.latest(s.c.Name)
			if cur == nil || !cur.finished() || shouldRestart(pod, s, cur.exitCode()) {
				return false
			}
		}
		return true
	}
	for _, s := range initSlots(pod) {
		if cur := obs.latest(s.c.Name); !s.sidecar && cur != nil && cur.finished() && cur.exitCode() != 0 && !shouldRestart(pod, s, cur.exitCode()) {
			return true
		}
	}
	return false
}

// observedNames are the names of the containers the engine holds for the
// pod, sorted so that decisions do not depend on map order.
func observedNames(obs *observation) []string {
	names := make([]string, 0, len(obs.containers))
	for name := range obs.containers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// probeResults are the probes' results at one instant, by instance and kind.
type probeResults map[probeKey]probes.Result

// started reports whether a running instance counts as started: its startup
// probe succeeded, or it has none.
func (r probeResults) started(c *v1.Container, id string) bool {
	return c.StartupProbe == nil || r[probeKey{id, probes.Startup}] == probes.Success
}

// ready reports whether a running, started instance is ready: its readiness
// probe succeeded, or it has none.
func (r probeResults) ready(c *v1.Container, id string) bool {
	if !r.started(c, id) {
		return false
	}
	return c.ReadinessProbe == nil || r[probeKey{id, probes.Readiness}] == probes.Success
}

// failed returns the kind of the startup or liveness probe that failed for
// an instance, if one did.
func (r probeResults) failed(id string) (probes.Kind, bool) {
	for _, k := range []probes.Kind{probes.Startup, probes.Liveness} {
		if res, ok := r[probeKey{id, k}]; ok && res == probes.Failure {
			return k, true
		}
	}
	return "", false
}
