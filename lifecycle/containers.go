package lifecycle

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/flowcontrol"
)

// Crash-loop back-off, as the kubelet's: 10 s after the second failure,
// doubling up to 5 min; a container that ran for 10 min (twice the maximum)
// starts over.
const (
	backOffInitial = 10 * time.Second
	backOffMax     = 5 * time.Minute
)

// ReasonCrashLoopBackOff is the waiting reason of a container whose restart
// is held back.
const (
	ReasonCrashLoopBackOff = "CrashLoopBackOff"
	ReasonPodInitializing  = "PodInitializing"
	EventBackOff           = "BackOff"
)

// slot is one container of the pod spec with its role.
type slot struct {
	c       *v1.Container
	index   int  // position in containers or initContainers
	init    bool // an init container (sidecar or not)
	sidecar bool // an init container with restartPolicy Always
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

// backOffKey identifies a container for the back-off; a changed spec (hash)
// starts a new back-off, as in the kubelet.
func backOffKey(pod *v1.Pod, c *v1.Container) string {
	return fmt.Sprintf("%s_%s_%s_%s_%s", pod.Name, pod.Namespace, pod.UID, c.Name, translate.ContainerHash(c))
}

// formatPod renders a pod the way the kubelet's messages do.
func formatPod(pod *v1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// ensureContainer makes one container match its slot: it starts it when it
// has never run, and restarts it per restart policy and back-off when it
// exited. It returns when the worker must look again (0: on the next event).
func (w *Worker) ensureContainer(ctx context.Context, pod *v1.Pod, s slot, obs *observation, sb *instance) time.Duration {
	name := s.c.Name
	insts := obs.containers[name]
	logger := log.G(ctx).WithField("container", name)
	var cur *instance
	if len(insts) > 0 {
		cur = insts[0]
	}
	attempt := 0
	switch {
	case cur == nil:
	case cur.running() && !cur.joinedTo(sb):
		// Its sandbox died and was replaced: the container lost its network
		// and IPC. The kubelet kills it; it comes back per restart policy.
		logger.Info("Killing container joined to a replaced sandbox")
		if err := w.signal(ctx, cur.id(), "SIGKILL"); err != nil {
			logger.WithError(err).Warn("Cannot kill container")
		}
		return retryAfterError
	case cur.running():
		delete(w.waiting, name)
		if w.hookFailed[cur.id()] {
			return w.killForRestart(ctx, pod, cur, max(gracePeriod(pod, nil), minimumKillGrace), EventFailedPostStartHook)
		}
		if kind, failed := w.probeFailed(cur.id()); failed {
			return w.killUnhealthy(ctx, pod, s, cur, kind)
		}
		return 0
	case cur.created() && !cur.startFailed():
		if err := w.docker.ContainerStart(ctx, cur.id()); err != nil && !cerrdefs.IsNotFound(err) {
			logger.WithError(err).Warn("Cannot start container")
		} else {
			w.rt.Recorder.Event(containerRef(pod, name, s.init), v1.EventTypeNormal, EventStarted, "Container started")
			w.runPostStart(ctx, pod, s, cur.id(), w.rt.sandboxIP(sb))
		}
		return 0
	default: // exited, or failed to start
		if !shouldRestart(pod, s, cur.exitCode()) {
			delete(w.waiting, name)
			return 0
		}
		key := backOffKey(pod, s.c)
		finished := cur.finishedAt()
		if w.backOff.IsInBackOffSince(key, finished) {
			delay := w.backOff.Get(key)
			w.waiting[name] = waiting{
				reason:  ReasonCrashLoopBackOff,
				message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", delay, name, formatPod(pod)),
			}
			if w.backOffEvents[name] != cur.id() {
				w.backOffEvents[name] = cur.id()
				w.rt.Recorder.Eventf(containerRef(pod, name, s.init), v1.EventTypeWarning, EventBackOff,
					"Back-off restarting failed container %s in pod %s", name, formatPod(pod))
			}
			return max(finished.Add(delay).Sub(w.rt.Clock.Now()), 100*time.Millisecond)
		}
		w.backOff.Next(key, finished)
		attempt = cur.name.Attempt + 1
	}
	reason, msg, err := w.startContainer(ctx, pod, s, sb, attempt)
	if err != nil {
		logger.WithError(err).Warn("Cannot start container")
		reason, msg = ReasonCreateContainerError, err.Error()
	}
	if reason != "" {
		w.waiting[name] = waiting{reason, msg}
		return retryAfterError
	}
	delete(w.waiting, name)
	w.pruneInstances(ctx, insts)
	return 0
}

// pruneInstances removes the exited instances of a container older than the
// one just replaced, which stays for `kubectl logs --previous` and lastState
// (the kubelet's container GC keeps one dead container per container too).
func (w *Worker) pruneInstances(ctx context.Context, insts []*instance) {
	for i := 1; i < len(insts); i++ {
		if err := w.docker.ContainerRemove(ctx, insts[i].id()); err != nil && !cerrdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).WithField("container", insts[i].name.String()).Warn("Cannot remove an old container instance")
		}
	}
}

// initProgress tells how far the init containers got.
type initProgress struct {
	// done: every regular init container succeeded and every sidecar runs
	// (or app containers were started before, which means the same).
	done bool
	// failed: a regular init container failed and will not be retried.
	failed bool
}

// convergeInit starts the init containers one at a time, in order: a regular
// one must exit 0 before the next starts; a sidecar must have started once,
// and later exits of it are restarted (with back-off) without holding the
// others back. A regular one that failed for good fails the pod.
func (w *Worker) convergeInit(ctx context.Context, pod *v1.Pod, obs *observation, sb *instance) (initProgress, time.Duration) {
	slots := initSlots(pod)
	for _, s := range slots {
		if cur := obs.latest(s.c.Name); !s.sidecar && cur != nil && cur.finished() && cur.exitCode() != 0 && !shouldRestart(pod, s, cur.exitCode()) {
			return initProgress{failed: true}, 0
		}
	}
	next := time.Duration(0)
	for _, s := range slots {
		cur := obs.latest(s.c.Name)
		switch {
		case s.sidecar && cur != nil && cur.running() && w.started(s.c, cur.id()):
			continue
		case s.sidecar && cur != nil && cur.finished():
			// Started before: it comes back on its own schedule.
			if d := w.ensureContainer(ctx, pod, s, obs, sb); d > 0 && (next == 0 || d < next) {
				next = d
			}
			continue
		case !s.sidecar && cur != nil && cur.finished() && cur.exitCode() == 0:
			continue
		}
		d := w.ensureContainer(ctx, pod, s, obs, sb)
		if next > 0 && (d == 0 || next < d) {
			d = next
		}
		return initProgress{}, d
	}
	return initProgress{done: true}, next
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

// appsFinished reports whether every app container exited for good: the pod
// is done, and its sidecars must stop.
func appsFinished(pod *v1.Pod, obs *observation) bool {
	for _, s := range appSlots(pod) {
		cur := obs.latest(s.c.Name)
		if cur == nil || !cur.finished() || shouldRestart(pod, s, cur.exitCode()) {
			return false
		}
	}
	return true
}

// convergeContainers runs init containers, then sidecars and app containers,
// restarting them per policy. (A pod that is done never gets here: see
// podDone.)
func (w *Worker) convergeContainers(ctx context.Context, pod *v1.Pod, obs *observation, sb *instance) time.Duration {
	if !anyAppContainerCreated(pod, obs) {
		if progress, next := w.convergeInit(ctx, pod, obs, sb); !progress.done {
			return next
		}
	}
	next := time.Duration(0)
	soonest := func(d time.Duration) {
		if d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	for _, s := range initSlots(pod) {
		if s.sidecar {
			soonest(w.ensureContainer(ctx, pod, s, obs, sb))
		}
	}
	for _, s := range appSlots(pod) {
		soonest(w.ensureContainer(ctx, pod, s, obs, sb))
	}
	return next
}

// podDone reports whether nothing of the pod will run again: every app
// container finished for good, or a regular init container failed for good.
// The kubelet then kills the pod's remaining containers and its sandbox.
func podDone(pod *v1.Pod, obs *observation) bool {
	if anyAppContainerCreated(pod, obs) {
		return appsFinished(pod, obs)
	}
	for _, s := range initSlots(pod) {
		if cur := obs.latest(s.c.Name); !s.sidecar && cur != nil && cur.finished() && cur.exitCode() != 0 && !shouldRestart(pod, s, cur.exitCode()) {
			return true
		}
	}
	return false
}

// stopFinishedSandbox stops the sandbox of a pod whose containers are all
// done; it returns when to look again.
func (w *Worker) stopFinishedSandbox(ctx context.Context, obs *observation) time.Duration {
	if sb := obs.sandbox; sb != nil && sb.running() {
		w.stopSandbox(ctx, sb, w.rt.Clock.Now())
		return sandboxStopTimeout
	}
	return 0
}

// stopSidecars stops the running sidecars of a finished pod as a pod's
// termination does (stopContainers: preStop hooks at once, stop signals
// last declared first), with SIGKILL once the pod's grace period (counted
// from the moment the pod finished) is over.
func (w *Worker) stopSidecars(ctx context.Context, pod *v1.Pod, obs *observation) time.Duration {
	if w.finishedAt.IsZero() {
		w.finishedAt = w.rt.Clock.Now()
	}
	next, _ := w.stopContainers(ctx, pod, obs, w.finishedAt.Add(gracePeriod(pod, nil)))
	return next
}

// newBackOff is the crash-loop back-off of one pod's containers, on the
// runtime's clock (client-go names the constructor that takes a clock "fake").
func newBackOff(rt *Runtime) *flowcontrol.Backoff {
	return flowcontrol.NewFakeBackOff(backOffInitial, backOffMax, rt.Clock)
}
