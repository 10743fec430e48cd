package lifecycle

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Lifecycle hooks as the kubelet runs them (kuberuntime_container.go
// startContainer, killContainer, killContainersWithSyncResult; the handlers
// in pkg/kubelet/lifecycle/handlers.go).

func sleepHook(seconds int64) *v1.LifecycleHandler {
	return &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: seconds}}
}

func withPreStop(c v1.Container, h *v1.LifecycleHandler) v1.Container {
	c.Lifecycle = &v1.Lifecycle{PreStop: h}
	return c
}

// syncWithin drives one step of the worker and fails the test when it does
// not return promptly: a step must never wait for a hook.
func (h *harness) syncWithin(w *Worker) time.Duration {
	h.t.Helper()
	done := make(chan time.Duration, 1)
	go func() { done <- w.sync(h.ctx) }()
	select {
	case next := <-done:
		return next
	case <-time.After(5 * time.Second):
		h.t.Fatal("a worker step blocked (on a hook?) for 5 s")
		return 0
	}
}

// stepHooks moves the fake clock once n timers wait on it (the hooks' sleeps run
// in their own goroutines), then waits for the worker to be woken.
func (h *harness) stepHooks(w *Worker, n int, d time.Duration) {
	h.t.Helper()
	waitFor(h.t, "the hooks' timers", func() bool { return h.clock.Waiters() >= n })
	select { // a wake from before (Delete's, an earlier hook's) does not count
	case <-w.wake:
	default:
	}
	h.clock.Step(d)
	select {
	case <-w.wake:
	case <-time.After(5 * time.Second):
		h.t.Fatalf("no hook woke the worker within 5 s after the clock moved %v", d)
	}
}

// stopSignals lists the stop signals (not SIGKILL) of the pod's containers as
// "<container> <signal>".
func (h *harness) stopSignals(pod *v1.Pod, containers ...string) []string {
	var out []string
	for _, c := range containers {
		for _, s := range h.docker.Signals(dockerName(pod, c, 0)) {
			out = append(out, c+" "+s)
		}
	}
	return out
}

// Two containers each with a 5 s preStop hook stop in 5 s, not 10: the
// kubelet kills a pod's containers in parallel, each running its own
// preStop and then getting its stop signal.
func TestPreStopHooksOfAPodRunInParallel(t *testing.T) {
	h := newHarness(t)
	a, b := appContainer(), appContainer()
	a.Name, b.Name = "app-a", "app-b"
	pod := newPod(withPreStop(a, sleepHook(5)), withPreStop(b, sleepHook(5)))
	w := h.running(pod)
	t.Cleanup(w.endHooks)
	h.events()
	deletedAt := h.clock.Now()
	w.Delete(deleted(pod, deletedAt, 30))

	h.syncWithin(w)
	if got, want := sorted(h.events()), []string{"Normal Killing Stopping container app-a", "Normal Killing Stopping container app-b"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if got := h.stopSignals(pod, "app-a", "app-b"); len(got) != 0 {
		t.Errorf("signals before the preStop hooks ended: %q", got)
	}

	h.stepHooks(w, 2, 5*time.Second)
	waitFor(t, "both preStop hooks", func() bool {
		return w.mem.stopOf(h.inspect(dockerName(pod, "app-a", 0)).ID).preStop.finished() && w.mem.stopOf(h.inspect(dockerName(pod, "app-b", 0)).ID).preStop.finished()
	})
	h.syncWithin(w)
	if got, want := h.stopSignals(pod, "app-a", "app-b"), []string{"app-a SIGQUIT", "app-b SIGQUIT"}; !slices.Equal(got, want) {
		t.Errorf("signals 5 s after the deletion = %q, want %q", got, want)
	}
	for _, c := range []string{"app-a", "app-b"} {
		fin, err := time.Parse(time.RFC3339Nano, h.inspect(dockerName(pod, c, 0)).State.FinishedAt)
		if err != nil || fin.Sub(deletedAt) != 5*time.Second {
			t.Errorf("%s finished %v after the deletion (%v), want 5 s: the preStop hooks ran one after the other", c, fin.Sub(deletedAt), err)
		}
	}
	for range 3 {
		h.syncWithin(w)
	}
	if w.Pod() != nil {
		t.Errorf("the pod was not removed; calls %q", h.docker.Calls())
	}
}

// A sidecar's preStop hook starts with the app's, but its stop signal waits
// until the app container has exited (killContainer: executePreStopHook,
// then ordering.waitForTurn).
func TestASidecarsPreStopRunsAtOnceItsStopSignalWaitsForTheApp(t *testing.T) {
	h := newHarness(t)
	pod := newPod(withPreStop(appContainer(), sleepHook(5)))
	pod.Spec.InitContainers = []v1.Container{withPreStop(nativeSidecar("sidecar"), sleepHook(2))}
	w := NewWorker(h.rt, pod, true)
	t.Cleanup(w.endHooks)
	for range 2 {
		h.syncWithin(w)
	}
	if s := h.status(); s.Phase != v1.PodRunning {
		t.Fatalf("phase = %s, want Running", s.Phase)
	}
	h.events()
	w.Delete(deleted(pod, h.clock.Now(), 30))
	h.syncWithin(w)
	if got, want := sorted(h.events()), []string{"Normal Killing Stopping container app", "Normal Killing Stopping container sidecar"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}

	// 2 s: the sidecar's hook is done, the app's is not: no signal yet.
	h.stepHooks(w, 2, 2*time.Second)
	h.syncWithin(w)
	if got := h.stopSignals(pod, "app", "sidecar"); len(got) != 0 {
		t.Errorf("signals 2 s after the deletion = %q, want none while the app's preStop runs", got)
	}

	// 5 s: the app gets its stop signal and exits; then the sidecar.
	h.stepHooks(w, 1, 3*time.Second)
	h.syncWithin(w)
	if got, want := h.stopSignals(pod, "app", "sidecar"), []string{"app SIGQUIT"}; !slices.Equal(got, want) {
		t.Errorf("signals once the app's preStop ended = %q, want %q", got, want)
	}
	h.syncWithin(w)
	if got, want := h.stopSignals(pod, "app", "sidecar"), []string{"app SIGQUIT", "sidecar SIGTERM"}; !slices.Equal(got, want) {
		t.Errorf("signals once the app exited = %q, want %q", got, want)
	}
}

// A preStop hook gets what is left of the grace period and no more: at the
// deadline the container is killed, the hook is abandoned without an event.
// A failing hook is reported with the kubelet's event (without the hook's
// output), and the stop signal follows it.
func TestPreStopHookOutcomes(t *testing.T) {
	t.Run("cut at the deadline", func(t *testing.T) {
		h := newHarness(t)
		pod := newPod(withPreStop(appContainer(), sleepHook(60)))
		w := h.running(pod)
		h.events()
		w.Delete(deleted(pod, h.clock.Now(), 10))
		if next := h.syncWithin(w); next != killAfter(10*time.Second) {
			t.Errorf("next look in %v, want %v", next, killAfter(10*time.Second))
		}
		waitFor(t, "the hook's timer", func() bool { return h.clock.Waiters() >= 1 })
		h.clock.Step(killAfter(10 * time.Second))
		h.syncWithin(w)
		if got, want := h.stopSignals(pod, "app"), []string{"app SIGKILL"}; !slices.Equal(got, want) {
			t.Errorf("signals at the deadline = %q, want %q", got, want)
		}
		w.endHooks() // returns: the hook was cancelled
		for _, e := range h.events() {
			if e != "Normal Killing Stopping container app" {
				t.Errorf("unexpected event %q", e)
			}
		}
	})
	t.Run("failing", func(t *testing.T) {
		h := newHarness(t)
		pod := newPod(withPreStop(appContainer(), &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"/bin/drain"}}}))
		w := h.running(pod)
		t.Cleanup(w.endHooks)
		h.events()
		h.docker.InjectError("ExecCreate", errors.New("exec failed"))
		w.Delete(deleted(pod, h.clock.Now(), 30))
		h.syncWithin(w)
		waitFor(t, "the preStop hook", func() bool { return w.mem.stopOf(h.inspect(dockerName(pod, "app", 0)).ID).preStop.finished() })
		h.syncWithin(w)
		if got, want := h.events(), []string{"Normal Killing Stopping container app", "Warning FailedPreStopHook PreStopHook failed"}; !slices.Equal(got, want) {
			t.Errorf("events = %q, want %q", got, want)
		}
		if got, want := h.stopSignals(pod, "app"), []string{"app SIGQUIT"}; !slices.Equal(got, want) {
			t.Errorf("signals = %q, want %q", got, want)
		}
	})
}

// A failing postStart hook is reported (FailedPostStartHook, without the
// hook's output), and the container is killed with the kubelet's Killing
// message and restarted per restart policy.
func TestAFailingPostStartHook(t *testing.T) {
	h := newHarness(t)
	app := appContainer()
	app.Lifecycle = &v1.Lifecycle{PostStart: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"/bin/warm-up"}}}}
	pod := newPod(app)
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](5)
	var failing atomic.Bool
	failing.Store(true)
	h.docker.SetHook(func(op string, args []string) error {
		if op == "ExecCreate" && slices.Contains(args, "/bin/warm-up") && failing.Load() {
			return errors.New("exec failed")
		}
		return nil
	})
	w := NewWorker(h.rt, pod, true)
	t.Cleanup(w.endHooks)
	h.syncWithin(w)
	h.syncWithin(w)
	evs := h.events()
	if got, want := evs[max(len(evs)-3, 0):], []string{
		"Normal Started Container started",
		"Warning FailedPostStartHook PostStartHook failed",
		"Normal Killing FailedPostStartHook",
	}; !slices.Equal(got, want) {
		t.Errorf("events end with %q, want %q", got, want)
	}
	if got, want := h.stopSignals(pod, "app"), []string{"app SIGQUIT"}; !slices.Equal(got, want) {
		t.Errorf("signals = %q, want %q", got, want)
	}
	failing.Store(false)
	h.syncWithin(w)
	if cs := containerStatus(t, h.status(), "app"); cs.RestartCount != 1 || cs.State.Running == nil {
		t.Errorf("app after the kill = %+v, want restarted and running", cs)
	}
}
