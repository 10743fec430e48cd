package lifecycle

import (
	"context"
	"maps"
	"slices"
	"strings"
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

// A deletion that arrives while any step of a pod's start is in flight
// ends that step without calling it a failure (no warning, no back-off)
// and the pod is stopped and removed within its grace period; nothing is
// created or started after the deletion.
func TestADeletionMidStepStopsThePodWithinItsGrace(t *testing.T) {
	const grace = 5
	cases := []struct {
		step  string
		op    string // the engine call in flight when the deletion comes
		match string // an argument of that call ("" for the first such call)
		pod   func() *v1.Pod
		// completes: the engine carries the call out although the request
		// was cut short, as it does a create.
		completes bool
	}{
		{"image pull", "ImagePull", "", func() *v1.Pod {
			app := appContainer()
			app.ImagePullPolicy = v1.PullAlways
			return newPod(app)
		}, false},
		{"volume set-up", "VolumeCreate", "", twoContainerPod, false},
		{"volume set-up the engine completes", "VolumeCreate", "", twoContainerPod, true},
		{"sandbox start", "ContainerStart", "", func() *v1.Pod { return newPod(appContainer()) }, false},
		{"set-up in the sandbox", "ExecCreate", "setup", twoContainerPod, false},
		{"container create", "ContainerCreate", "k8s_app_", func() *v1.Pod { return newPod(appContainer()) }, false},
		{"container create the engine completes", "ContainerCreate", "k8s_app_", func() *v1.Pod { return newPod(appContainer()) }, true},
		{"sandbox create the engine completes", "ContainerCreate", "k8s_POD_", twoContainerPod, true},
	}
	for _, c := range cases {
		t.Run(c.step, func(t *testing.T) {
			h := newHarness(t)
			h.rt.Starts = NewStartLimiter(4, nil)
			h.docker.SetRemoteImage(appImage, "", "", 1<<20)
			pod := c.pod()
			w := NewWorker(h.rt, pod, true)
			t.Cleanup(w.endHooks)
			var deletedAt int // calls made when the deletion came
			h.docker.SetHook(func(op string, args []string) error {
				if deletedAt > 0 || op != c.op || !slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, c.match) }) {
					return nil
				}
				deletedAt = len(h.docker.Calls())
				w.Delete(deleted(pod, h.clock.Now(), grace))
				if c.completes {
					return nil
				}
				return context.Canceled // the call, cut short
			})
			h.sync(w)
			if deletedAt == 0 {
				t.Fatalf("the pod never got to %s; calls %q", c.op, h.docker.Calls())
			}
			for i := 0; i < grace && w.Pod() != nil; i++ {
				h.clock.Step(time.Second)
				h.sync(w)
			}
			if w.Pod() != nil {
				t.Fatalf("the pod was not removed within its %d s grace; calls %q", grace, h.docker.Calls())
			}
			for _, call := range h.docker.Calls()[deletedAt:] {
				if op, _, _ := strings.Cut(call, " "); op == "ContainerCreate" || op == "ContainerStart" || op == "ImagePull" {
					t.Errorf("%q after the deletion", call)
				}
			}
			for _, e := range h.events() {
				if strings.HasPrefix(e, "Warning") {
					t.Errorf("warning %q for a step cut short by the deletion", e)
				}
			}
			if left := h.podContainers(testUID); len(left) > 0 {
				t.Errorf("containers left: %v", slices.Collect(maps.Keys(left)))
			}
			if n := h.rt.Starts.InFlight(); n != 0 {
				t.Errorf("%d start slots still held: the node's later pods would wait for them forever", n)
			}
		})
	}
}
