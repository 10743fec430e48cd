package lifecycle

import (
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// spec.activeDeadlineSeconds, as the kubelet's activeDeadlineHandler
// (pkg/kubelet/active_deadline.go) and generateAPIPodStatus enforce it.

const deadlineEvent = "Normal DeadlineExceeded Pod was active on the node longer than the specified deadline"

func TestActiveDeadlineFailsThePod(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	pod.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
	w := NewWorker(h.rt, pod, true)
	if next := h.sync(w); next != 60*time.Second {
		t.Errorf("next look in %v, want the 60s left before the deadline", next)
	}
	if s := h.status(); s.Phase != v1.PodRunning {
		t.Fatalf("phase = %s, want Running", s.Phase)
	}
	app, side := dockerName(pod, "app", 0), dockerName(pod, "sidecar", 0)
	h.docker.IgnoreSignal(app, "SIGQUIT") // app takes its time
	h.events()
	h.docker.ResetCalls()

	h.clock.Step(59 * time.Second)
	if next := h.sync(w); next != time.Second {
		t.Errorf("next look in %v, want 1s", next)
	}
	if got := h.calls("ContainerKill"); len(got) != 0 {
		t.Errorf("kills %q before the deadline", got)
	}

	// At the deadline: the event (Normal, as active_deadline.go records it),
	// then every container's stop signal.
	h.clock.Step(time.Second)
	if next := h.sync(w); next != 30*time.Second {
		t.Errorf("next look in %v, want the pod's grace period (30s)", next)
	}
	events := h.events()
	if len(events) != 3 || events[0] != deadlineEvent ||
		!slices.Equal(sorted(events[1:]), []string{"Normal Killing Stopping container app", "Normal Killing Stopping container sidecar"}) {
		t.Errorf("events = %q, want %q then the Killing events", events, deadlineEvent)
	}
	if got := h.docker.Signals(app); !slices.Equal(got, []string{"SIGQUIT"}) {
		t.Errorf("app signals = %q, want its stop signal", got)
	}
	if got := h.docker.Signals(side); !slices.Equal(got, []string{"SIGTERM"}) {
		t.Errorf("sidecar signals = %q, want its stop signal", got)
	}
	// The status turns Failed only once nothing runs, with the final states.
	if s := h.status(); s.Phase == v1.PodFailed || s.Reason != "" {
		t.Errorf("phase %s reason %q while app still runs, want not failed yet", s.Phase, s.Reason)
	}

	h.clock.Step(29 * time.Second)
	if next := h.sync(w); next != time.Second {
		t.Errorf("next look in %v, want 1s", next)
	}
	if got := h.docker.Signals(app); len(got) != 1 {
		t.Errorf("app signals before the grace period ended = %q", got)
	}
	h.clock.Step(time.Second)
	h.sync(w)
	if got := h.docker.Signals(app); !slices.Equal(got, []string{"SIGQUIT", "SIGKILL"}) {
		t.Errorf("app signals = %q, want SIGKILL once the grace period is over", got)
	}
	s := h.status()
	if s.Phase != v1.PodFailed || s.Reason != ReasonDeadlineExceeded || s.Message != "Pod was active on the node longer than the specified deadline" {
		t.Errorf("phase %s reason %q message %q, want Failed, DeadlineExceeded", s.Phase, s.Reason, s.Message)
	}
	for name, code := range map[string]int32{"app": 137, "sidecar": 143} {
		if term := containerStatus(t, s, name).State.Terminated; term == nil || term.ExitCode != code {
			t.Errorf("%s state.terminated = %+v, want exit code %d", name, term, code)
		}
	}
	checkCondition(t, s, v1.ContainersReady, v1.ConditionFalse, "PodFailed", "")

	// Nothing is restarted afterwards, restartPolicy Always notwithstanding.
	for range 3 {
		h.clock.Step(10 * time.Minute)
		h.sync(w)
	}
	if got := h.calls("ContainerCreate", "ContainerStart"); len(got) != 0 {
		t.Errorf("engine calls %q after the deadline", got)
	}
	if got := h.events(); len(got) != 0 {
		t.Errorf("events %q after the pod failed", got)
	}
	if s := h.status(); s.Phase != v1.PodFailed || s.Reason != ReasonDeadlineExceeded {
		t.Errorf("later: phase %s reason %q", s.Phase, s.Reason)
	}
}

func TestActiveDeadlineCountsFromStartTime(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	pod.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
	pod.Status.StartTime = ptr.To(metav1.NewTime(t0.Add(-50 * time.Second))) // from before a provider restart
	w := NewWorker(h.rt, pod, true)
	if next := h.sync(w); next != 10*time.Second {
		t.Errorf("next look in %v, want the 10s left since the API's startTime", next)
	}
}

// The deadline stays in view while a container crash-loops: sync returns
// the sooner of the two.
func TestActiveDeadlineAndBackOff(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	pod.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
	w := NewWorker(h.rt, pod, true)
	h.sync(w)
	h.clock.Step(time.Second)
	h.exitNow(pod, "app", 0, 1)
	if next := h.sync(w); next != 59*time.Second {
		t.Errorf("after a restart: next look in %v, want the 59s left before the deadline", next)
	}
	h.clock.Step(time.Second)
	h.exitNow(pod, "app", 1, 1)
	if next := h.sync(w); next != backOffInitial {
		t.Errorf("held back: next look in %v, want the back-off's %v", next, backOffInitial)
	}
	h.clock.Step(backOffInitial)
	if next := h.sync(w); next != 48*time.Second {
		t.Errorf("restarted: next look in %v, want the 48s left before the deadline", next)
	}
}

// A pod still initializing at its deadline fails too; its app never starts.
func TestActiveDeadlineWhileInitializing(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	pod.Spec.InitContainers = []v1.Container{initContainer("init-1")}
	pod.Spec.ActiveDeadlineSeconds = ptr.To[int64](30)
	w := NewWorker(h.rt, pod, true)
	h.sync(w)
	h.events()
	h.docker.ResetCalls()
	h.clock.Step(30 * time.Second)
	h.sync(w)
	if got := h.docker.Signals(dockerName(pod, "init-1", 0)); !slices.Equal(got, []string{"SIGTERM"}) {
		t.Errorf("init-1 signals = %q, want its stop signal", got)
	}
	if got := h.events(); len(got) == 0 || got[0] != deadlineEvent {
		t.Errorf("events = %q, want %q first", got, deadlineEvent)
	}
	s := h.status()
	if s.Phase != v1.PodFailed || s.Reason != ReasonDeadlineExceeded {
		t.Errorf("phase %s reason %q, want Failed, DeadlineExceeded", s.Phase, s.Reason)
	}
	for range 3 {
		h.clock.Step(time.Minute)
		h.sync(w)
	}
	if got := h.created(); len(got) != 0 {
		t.Errorf("created %q after the deadline", got)
	}
	checkWaiting(t, "app", containerStatus(t, h.status(), "app"), ReasonPodInitializing)
}
