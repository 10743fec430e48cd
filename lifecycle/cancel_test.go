package lifecycle

import (
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// A deletion cancels the sync in flight, as the kubelet's pod workers do: a
// postStart hook that would hang for an hour does not keep a deleted pod's
// containers running past its grace period.
func TestADeletionCancelsAPostStartHookInFlight(t *testing.T) {
	h := newHarness(t)
	app := appContainer()
	app.Lifecycle = &v1.Lifecycle{PostStart: sleepHook(3600)}
	pod := newPod(app)
	w := NewWorker(h.rt, pod, true)
	t.Cleanup(w.endHooks)

	done := make(chan time.Duration, 1)
	go func() { done <- w.sync(h.ctx) }()
	waitFor(t, "the postStart hook to sleep", func() bool { return h.clock.Waiters() >= 1 })
	w.Delete(deleted(pod, h.clock.Now(), 5))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the sync in flight did not end when the pod was deleted")
	}
	if got := h.events(); slices.ContainsFunc(got, func(e string) bool { return e == "Warning FailedPostStartHook PostStartHook failed" }) {
		t.Errorf("a hook cut short by the deletion was reported as failed: %q", got)
	}

	h.sync(w)
	if got, want := h.stopSignals(pod, "app"), []string{"app SIGQUIT"}; !slices.Equal(got, want) {
		t.Errorf("stop signals after the deletion = %q, want %q at once", got, want)
	}
	for range 3 {
		h.sync(w)
	}
	if w.Pod() != nil {
		t.Errorf("the pod was not removed after its containers stopped; calls %q", h.docker.Calls())
	}
}
