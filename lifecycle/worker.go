package lifecycle

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/images"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/flowcontrol"
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

// Worker owns one pod: its goroutine (Run) is the only one that changes the
// pod's containers and volumes. Other goroutines hand it work through Update,
// Delete and Wake, and read its last status through Pod.
type Worker struct {
	rt     *Runtime
	docker *changeNotingClient // rt.Docker, for the Run goroutine
	uid    types.UID
	wake   chan struct{}
	done   chan struct{}

	mu        sync.Mutex
	pod       *v1.Pod       // newest pod object; its status is the last reported
	specKnown bool          // false while a pod rebuilt from labels awaits its API object
	deadline  time.Time     // set once the pod is being terminated
	reported  *v1.PodStatus // last status handed to Notify
	removed   bool          // every container and volume is gone

	// Owned by the Run goroutine.
	startTime           metav1.Time
	waiting             map[string]waiting
	signalled           map[string]bool // instance IDs sent their stop signal
	killed              map[string]bool // instance IDs sent SIGKILL
	sandboxSignalledAt  time.Time
	volumesCreated      bool
	vol                 volumeState // API-data volume content
	reportedVolumes     bool
	reportedUnsupported bool
	backOff             *flowcontrol.Backoff
	images              *images.PodState  // image pull back-off and reported reasons
	backOffEvents       map[string]string // container → instance ID its BackOff event was for
	finishedAt          time.Time         // when the pod's containers were done (0 while not)
	podReason           string            // set when the pod failed as a whole (DeadlineExceeded)
	podMessage          string
	failDeadline        time.Time         // when containers stopped for podReason get SIGKILL
	messages            map[string]string // terminated.message per finished instance ID
	podIP               string            // the sandbox's last IP
	sandboxID           string            // the newest sandbox's ID
	probes              *probeSet
	killDeadlines       map[string]time.Time   // instance ID → SIGKILL time after a failed liveness probe
	hookFailed          map[string]bool        // instance IDs whose postStart hook failed
	stops               map[string]*preStopRun // instance IDs being stopped → their preStop hook
	hooks               sync.WaitGroup         // preStop hooks running
	terminating         bool
	admission           admission // set by admit before anything is created
}

// NewWorker returns a worker for pod. specKnown is false for a pod rebuilt
// from container labels after a restart: such a worker only reports what it
// sees until Update gives it the API's spec, or Delete ends it.
func NewWorker(rt *Runtime, pod *v1.Pod, specKnown bool) *Worker {
	w := &Worker{
		rt:            rt,
		docker:        &changeNotingClient{Client: rt.Docker},
		uid:           pod.UID,
		wake:          make(chan struct{}, 1),
		done:          make(chan struct{}),
		pod:           pod.DeepCopy(),
		specKnown:     specKnown,
		waiting:       map[string]waiting{},
		signalled:     map[string]bool{},
		killed:        map[string]bool{},
		backOffEvents: map[string]string{},
		messages:      map[string]string{},
		probes:        newProbeSet(),
		killDeadlines: map[string]time.Time{},
		hookFailed:    map[string]bool{},
		stops:         map[string]*preStopRun{},
		backOff:       newBackOff(rt),
		images:        rt.imageManager().NewPodState(),
	}
	if pod.Status.StartTime != nil {
		w.startTime = *pod.Status.StartTime
	}
	return w
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
	w.pod = pod.DeepCopy()
	if w.reported != nil {
		// The API may lag behind what was reported; keep the newer view.
		w.pod.Status = status
	}
	w.specKnown = true
	w.mu.Unlock()
	w.Wake()
}

// Delete starts the pod's termination with the grace period the API asks
// for: deletionGracePeriodSeconds when set, else the spec's
// terminationGracePeriodSeconds. A later call may shorten it, never extend it.
func (w *Worker) Delete(pod *v1.Pod) {
	grace := gracePeriod(pod, pod.DeletionGracePeriodSeconds)
	// virtual-kubelet removes the API object when the grace period ends; the
	// SIGKILL comes a little earlier (up to statusMargin) so that the final
	// status (exit codes, finishedAt) is written before, as a kubelet's is.
	deadline := w.rt.Clock.Now().Add(grace - min(grace/4, statusMargin))
	w.mu.Lock()
	if w.deadline.IsZero() || deadline.Before(w.deadline) {
		w.deadline = deadline
	}
	if pod.DeletionTimestamp != nil {
		w.pod.DeletionTimestamp = pod.DeletionTimestamp
		w.pod.DeletionGracePeriodSeconds = pod.DeletionGracePeriodSeconds
	}
	w.mu.Unlock()
	w.Wake()
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
	return !w.deadline.IsZero()
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

// sync does one step towards the desired state and returns when to look
// again (0: only when woken).
func (w *Worker) sync(ctx context.Context) time.Duration {
	w.mu.Lock()
	pod := w.pod.DeepCopy()
	specKnown, deadline := w.specKnown, w.deadline
	w.mu.Unlock()

	// The API's startTime wins, so that it survives a provider restart; a
	// pod rebuilt from labels has none until its API object arrives.
	if w.startTime.IsZero() && specKnown {
		if pod.Status.StartTime != nil {
			w.startTime = *pod.Status.StartTime
		} else {
			w.startTime = metav1.NewTime(w.rt.Clock.Now())
		}
	}
	obs, err := observe(ctx, w.docker, w.rt.NodeName, string(w.uid))
	if err != nil {
		log.G(ctx).WithError(err).Warn("Cannot observe pod containers")
		return retryAfterError
	}
	if obs.sandbox != nil {
		w.sandboxID = obs.sandbox.id()
	}
	if !deadline.IsZero() {
		if !w.terminating {
			// Probing ends and readiness goes false as the pod terminates.
			w.terminating = true
			w.probes.stopAll()
		}
		return w.terminate(ctx, pod, obs, deadline)
	}
	if !specKnown {
		w.report(ctx, pod, obs, false)
		return 0
	}
	var next time.Duration
	if w.podReason == "" {
		next = w.checkActiveDeadline(ctx, pod)
	}
	if w.podReason != "" {
		// The pod failed as a whole: stop everything, start nothing.
		var stopping bool
		if next, stopping = w.stopContainers(ctx, pod, obs, w.failDeadline); !stopping {
			next = w.stopFinishedSandbox(ctx, obs)
		}
	} else if d := w.converge(ctx, pod, obs); d > 0 && (next == 0 || d < next) {
		next = d
	}
	if w.docker.changed {
		w.docker.changed = false
		if obs, err = observe(ctx, w.docker, w.rt.NodeName, string(w.uid)); err != nil {
			log.G(ctx).WithError(err).Warn("Cannot observe pod containers")
			return retryAfterError
		}
	}
	w.readTerminationMessages(ctx, pod, obs)
	w.ensureProbes(ctx, pod, obs)
	w.report(ctx, pod, obs, false)
	return next
}

// Pod-level failure of activeDeadlineSeconds, with the kubelet's words.
const (
	ReasonDeadlineExceeded  = "DeadlineExceeded"
	messageDeadlineExceeded = "Pod was active on the node longer than the specified deadline"
)

// checkActiveDeadline fails the pod once it has been active longer than
// spec.activeDeadlineSeconds (counted from startTime), and otherwise returns
// when to check again.
func (w *Worker) checkActiveDeadline(ctx context.Context, pod *v1.Pod) time.Duration {
	ads := pod.Spec.ActiveDeadlineSeconds
	if ads == nil || w.startTime.IsZero() {
		return 0
	}
	now := w.rt.Clock.Now()
	end := w.startTime.Add(time.Duration(*ads) * time.Second)
	if now.Before(end) {
		return end.Sub(now)
	}
	w.podReason, w.podMessage = ReasonDeadlineExceeded, messageDeadlineExceeded
	w.failDeadline = now.Add(gracePeriod(pod, nil))
	w.rt.Recorder.Event(pod, v1.EventTypeNormal, ReasonDeadlineExceeded, messageDeadlineExceeded)
	log.G(ctx).Info("Pod exceeded its active deadline; stopping its containers")
	return 0
}

// converge creates what the pod lacks: volumes, sandbox, containers in order.
func (w *Worker) converge(ctx context.Context, pod *v1.Pod, obs *observation) time.Duration {
	if ok, err := w.admit(ctx, pod); !ok {
		if err != nil {
			log.G(ctx).WithError(err).Warn("Cannot admit pod")
			return retryAfterError
		}
		return 0
	}
	if why := w.rt.unsupported(pod); len(why) > 0 {
		if !w.reportedUnsupported {
			w.reportedUnsupported = true
			for _, msg := range why {
				w.rt.Recorder.Event(pod, v1.EventTypeWarning, EventUnsupported, msg)
				log.G(ctx).Warn(msg)
			}
		}
		return 0
	}
	plan := w.rt.PlanVolumes(pod)
	if len(plan.Unsupported) > 0 {
		if !w.reportedVolumes {
			w.reportedVolumes = true
			for name, why := range plan.Unsupported {
				w.rt.Recorder.Eventf(pod, v1.EventTypeWarning, EventFailedMount, "MountVolume.SetUp failed for volume %q : %s", name, why)
				log.G(ctx).WithField("volume", name).Warn(why)
			}
		}
		return 0
	}
	if err := w.ensureVolumes(ctx, pod, plan); err != nil {
		w.reportMountError(ctx, pod, err)
		return retryAfterError
	}
	if podDone(pod, obs) {
		// Nothing will run again: stop what is left, sidecars then the
		// sandbox, and keep the containers for `kubectl logs`.
		if next := w.stopSidecars(ctx, pod, obs); next > 0 {
			return next
		}
		return w.stopFinishedSandbox(ctx, obs)
	}
	sb, err := w.ensureSandbox(ctx, pod, obs)
	if err != nil {
		log.G(ctx).WithError(err).Warn("Cannot run pod sandbox")
		w.rt.Recorder.Eventf(pod, v1.EventTypeWarning, EventFailedSandbox, "Failed to create pod sandbox: %v", err)
		return retryAfterError
	}
	w.sandboxID = sb.id()
	ready, volNext := w.syncVolumeContent(ctx, pod, sb)
	if !ready {
		return volNext
	}
	return minDelay(w.convergeContainers(ctx, pod, obs, sb), volNext)
}

// readTerminationMessages reads, once per instance, the termination message
// of the finished instances the status shows (the current and the previous
// one of each container).
func (w *Worker) readTerminationMessages(ctx context.Context, pod *v1.Pod, obs *observation) {
	shown := map[string]bool{}
	for _, sl := range append(initSlots(pod), appSlots(pod)...) {
		insts := obs.containers[sl.c.Name]
		for i := 0; i < len(insts) && i < 2; i++ {
			inst := insts[i]
			shown[inst.id()] = true
			if _, done := w.messages[inst.id()]; done || !inst.finished() {
				continue
			}
			code := inst.exitCode()
			if inst.startFailed() {
				code = 0 // the kubelet does not read the log of a container that never ran
			}
			msg, err := terminationMessage(ctx, w.docker, inst.id(), code, sl.c.TerminationMessagePath, sl.c.TerminationMessagePolicy)
			if err != nil {
				log.G(ctx).WithError(err).WithField("container", sl.c.Name).Warn("Cannot read termination message")
				msg = fmt.Sprintf("Error on reading termination message from logs: %v", err)
			}
			w.messages[inst.id()] = msg
		}
	}
	for id := range w.messages {
		if !shown[id] {
			delete(w.messages, id) // the instance was pruned
		}
	}
}

// report computes the pod's status and hands it to Notify when it changed.
func (w *Worker) report(ctx context.Context, pod *v1.Pod, obs *observation, terminal bool) {
	w.mu.Lock()
	prev := w.reported
	w.mu.Unlock()
	since := prev
	if since == nil {
		since = &pod.Status // conditions' transition times from the API
	}
	status := w.buildStatus(pod, obs, since, terminal)
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
