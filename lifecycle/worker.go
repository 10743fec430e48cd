package lifecycle

import (
	"context"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/images"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// statusMargin is how much earlier than the end of a deletion's grace
// period containers are killed (see Delete): on a busy machine the final
// status needs that long to reach the API.
const statusMargin = time.Second

// retryAfterError is how long a worker waits before retrying a step whose
// engine call failed; Docker events wake it sooner when something changes.
const retryAfterError = 2 * time.Second

// waiting is why a container has no running instance, as the kubelet puts it.
type waiting struct {
	reason, message string
}

// Worker owns one pod as the kubelet's pod worker does: its goroutine (Run)
// is the only one that changes the pod's containers and volumes. Each sync
// observes the engine once, decides with computePodActions, carries the
// decision out with apply and reports generatePodStatus. Other goroutines
// hand it work through Update, Delete and Wake, and read its last status
// through Pod.
type Worker struct {
	rt     *Runtime
	docker dockerhost.Client // rt.Docker
	uid    types.UID
	wake   chan struct{}
	done   chan struct{}

	mu        sync.Mutex
	pod       *v1.Pod       // newest pod object; its status is the last reported
	specKnown bool          // false while a pod rebuilt from labels awaits its API object
	deletion  time.Time     // set once the pod is being deleted: its SIGKILL deadline
	reported  *v1.PodStatus // last status handed to Notify
	removed   bool          // every container and volume is gone
	// nodeVerdict is the node predicates' verdict on the pod (see
	// RejectOnNode); its admission fails with it.
	nodeVerdict NodeVerdict
	// cancelSync cancels the sync in flight: a deletion, a shortened grace
	// period or a failed liveness probe must not wait for a hook, a pull or
	// a start to finish (the kubelet's pod workers do the same).
	cancelSync context.CancelFunc

	// Owned by the Run goroutine.
	mem           *podMemory
	vol           volumeState      // API-data volume content
	images        *images.PodState // image pull back-off and reported reasons
	probes        *probeSet
	probesStopped bool           // probing ended with the pod's termination
	hooks         sync.WaitGroup // preStop hooks running
	startTicket   uint64         // the pod's place in the start queue (Runtime.Starts)
}

// NewWorker returns a worker for pod. specKnown is false for a pod rebuilt
// from container labels after a restart: such a worker only reports what it
// sees until Update gives it the API's spec, or Delete ends it.
func NewWorker(rt *Runtime, pod *v1.Pod, specKnown bool) *Worker {
	w := &Worker{
		rt:        rt,
		docker:    rt.Docker,
		uid:       pod.UID,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		pod:       pod.DeepCopy(),
		specKnown: specKnown,
		mem:       newPodMemory(),
		probes:    newProbeSet(),
		images:    rt.imageManager().NewPodState(),

		startTicket: rt.Starts.ticket(),
	}
	if pod.Status.StartTime != nil {
		w.mem.startTime = *pod.Status.StartTime
	}
	return w
}

// RejectOnNode records that the node predicates rejected the pod
// (AdmitOnNode): its admission fails with the verdict's reason and message,
// before anything of it is created. Called before Run.
func (w *Worker) RejectOnNode(v NodeVerdict) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nodeVerdict = v
}

// AdmittedPod returns a copy of the pod while it counts among the pods on
// the node for the admission of others, as the kubelet's active pods: nil
// once it was rejected by the node, finished (Succeeded or Failed) without
// being deleted, or removed from the engine. A deleted pod counts until its
// containers are gone.
func (w *Worker) AdmittedPod() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.removed || w.nodeVerdict.Reason != "" {
		return nil
	}
	if phase := w.pod.Status.Phase; (phase == v1.PodSucceeded || phase == v1.PodFailed) && w.deletion.IsZero() {
		return nil
	}
	return w.pod.DeepCopy()
}

// SpecKnown reports whether the worker has the pod's spec from the API (or
// a manifest), not only what container labels say.
func (w *Worker) SpecKnown() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.specKnown
}

// Wake asks the worker to look at the engine again; it never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Done is closed when Run has returned.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Update hands the worker the newest pod object from the API.
func (w *Worker) Update(pod *v1.Pod) {
	w.mu.Lock()
	status := w.pod.Status
	ephemeral := w.pod.Spec.EphemeralContainers
	w.pod = pod.DeepCopy()
	if len(w.pod.Spec.EphemeralContainers) < len(ephemeral) {
		// The API only ever adds ephemeral containers: a pod object with
		// fewer is older than the one the worker has (the pod controller
		// and the node's own watch both hand pods over).
		w.pod.Spec.EphemeralContainers = ephemeral
	}
	if w.reported != nil {
		// The API may lag behind what was reported; keep the newer view of
		// what the node owns, and take the conditions others own (readiness
		// gates...) as the API has them now.
		others := status.Conditions[:0:0]
		for _, c := range pod.Status.Conditions {
			if !kubeletConditions[c.Type] {
				others = append(others, c)
			}
		}
		for _, c := range status.Conditions {
			if kubeletConditions[c.Type] {
				others = append(others, c)
			}
		}
		status.Conditions = others
		w.pod.Status = status
	}
	w.specKnown = true
	w.mu.Unlock()
	w.Wake()
}

// Delete starts the pod's termination with the grace period the API asks
// for: deletionGracePeriodSeconds when set, else the spec's
// terminationGracePeriodSeconds. A later call may shorten it, never extend
// it; one that does cancels the sync in flight.
func (w *Worker) Delete(pod *v1.Pod) {
	grace := gracePeriod(pod, pod.DeletionGracePeriodSeconds)
	// virtual-kubelet removes the API object when the grace period ends; the
	// SIGKILL comes a little earlier (up to statusMargin) so that the final
	// status (exit codes, finishedAt) is written before, as a kubelet's is.
	// Even a forced deletion leaves the containers the kubelet's minimum
	// grace to run their TERM handlers.
	deadline := w.rt.Clock.Now().Add(killGrace(grace - min(grace/4, statusMargin)))
	w.mu.Lock()
	if w.deletion.IsZero() || deadline.Before(w.deletion) {
		w.deletion = deadline
		if w.cancelSync != nil {
			w.cancelSync()
		}
	}
	if pod.DeletionTimestamp != nil {
		w.pod.DeletionTimestamp = pod.DeletionTimestamp
		w.pod.DeletionGracePeriodSeconds = pod.DeletionGracePeriodSeconds
	}
	w.mu.Unlock()
	w.Wake()
}

// interrupt cancels the sync in flight, if any, and wakes the worker.
func (w *Worker) interrupt() {
	w.mu.Lock()
	if w.cancelSync != nil {
		w.cancelSync()
	}
	w.mu.Unlock()
	w.Wake()
}

// Pod returns a copy of the pod with the last status the worker computed,
// or nil once the pod has been removed from the engine.
func (w *Worker) Pod() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.removed {
		return nil
	}
	return w.pod.DeepCopy()
}

// ReportedPod returns a copy of the pod as last handed to Notify, or nil
// when nothing has been reported yet.
func (w *Worker) ReportedPod() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.reported == nil || w.removed {
		return nil
	}
	return w.pod.DeepCopy()
}

// LastPod returns a copy of the pod with its last status, also after the
// pod has been removed from the engine.
func (w *Worker) LastPod() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod.DeepCopy()
}

// Terminating reports whether Delete has been called.
func (w *Worker) Terminating() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.deletion.IsZero()
}

// Run drives the pod until its containers are removed after Delete, or ctx
// ends (then the containers stay, to be adopted by the next provider run).
func (w *Worker) Run(ctx context.Context) {
	defer close(w.done)
	defer w.probes.stopAll()
	defer w.endHooks()
	w.mu.Lock()
	pod := w.pod
	w.mu.Unlock()
	ctx = log.WithLogger(ctx, log.G(ctx).WithFields(log.Fields{
		"namespace": pod.Namespace, "pod": pod.Name, "uid": string(pod.UID),
	}))
	for {
		next := w.sync(ctx)
		w.mu.Lock()
		removed := w.removed
		w.mu.Unlock()
		if removed {
			w.rt.Removed(w.uid)
			return
		}
		if !w.wait(ctx, next) {
			return
		}
	}
}

// wait blocks until the worker is woken, d has passed (when d > 0), or ctx
// ends; it reports false in the last case.
func (w *Worker) wait(ctx context.Context, d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		t := w.rt.Clock.NewTimer(d)
		defer t.Stop()
		timeout = t.C()
	}
	select {
	case <-ctx.Done():
		return false
	case <-w.wake:
	case <-timeout:
	}
	return true
}
