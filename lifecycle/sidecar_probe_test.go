package lifecycle

import (
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// A native sidecar with a startupProbe counts as started only once that
// probe passes; until then the next init container (and so the app) waits
// for it (kuberuntime_container.go computeInitContainerActions: a
// restartable init container whose startup probe has not succeeded holds
// the next one back).
func TestASidecarWithAStartupProbeHoldsBackTheNextContainer(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	sc := nativeSidecar("sidecar")
	sc.StartupProbe = &v1.Probe{
		ProbeHandler:        v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"test", "-f", "/tmp/ready"}}},
		InitialDelaySeconds: 10, PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 30,
	}
	pod.Spec.InitContainers = []v1.Container{sc, initContainer("init-2")}
	w := NewWorker(h.rt, pod, true)
	t.Cleanup(w.probes.stopAll)

	h.syncWithin(w)
	if got, want := h.created(), []string{dockerName(pod, "POD", 0), dockerName(pod, "sidecar", 0)}; !slices.Equal(got, want) {
		t.Fatalf("created %q, want the sandbox and the sidecar", got)
	}
	checkNotStarted := func(when string) {
		t.Helper()
		s := h.status()
		if cs := initStatus(t, s, "sidecar"); cs.State.Running == nil || ptr.Deref(cs.Started, true) || cs.Ready {
			t.Errorf("sidecar %s: state %+v started %v ready %v, want running, not started, not ready", when, cs.State, ptr.Deref(cs.Started, true), cs.Ready)
		}
		checkWaiting(t, "init-2 "+when, initStatus(t, s, "init-2"), ReasonPodInitializing)
		checkWaiting(t, "app "+when, containerStatus(t, s, "app"), ReasonPodInitializing)
		if s.Phase != v1.PodPending {
			t.Errorf("phase %s = %s, want Pending", when, s.Phase)
		}
	}
	checkNotStarted("before its startup probe ran")

	// Running is not enough: init-2 is not created while the probe has not
	// passed, however often the worker looks.
	h.docker.ResetCalls()
	waitFor(t, "the startup probe's timer", func() bool { return h.clock.Waiters() >= 1 })
	h.clock.Step(5 * time.Second)
	for range 2 {
		h.syncWithin(w)
	}
	if got := h.created(); len(got) != 0 {
		t.Fatalf("created %q while the sidecar's startup probe had not passed", got)
	}
	checkNotStarted("5 s after its start")

	// At 10 s (initialDelaySeconds) the probe passes, which wakes the
	// worker: the sidecar is started, and init-2 starts now.
	select {
	case <-w.wake:
	default:
	}
	h.clock.Step(5 * time.Second)
	select {
	case <-w.wake:
	case <-time.After(10 * time.Second):
		t.Fatal("the startup probe's success did not wake the worker")
	}
	h.syncWithin(w)
	if got, want := h.created(), []string{dockerName(pod, "init-2", 0)}; !slices.Equal(got, want) {
		t.Fatalf("created %q once the startup probe passed, want %q", got, want)
	}
	checkRunning(t, "sidecar once its startup probe passed", initStatus(t, h.status(), "sidecar"), true)
	checkWaiting(t, "app while init-2 runs", containerStatus(t, h.status(), "app"), ReasonPodInitializing)
}
