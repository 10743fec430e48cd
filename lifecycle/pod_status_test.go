package lifecycle

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

func TestPodPhase(t *testing.T) {
	waiting := v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: ReasonContainerCreating}}
	running := v1.ContainerState{Running: &v1.ContainerStateRunning{}}
	exited := func(code int32) v1.ContainerState {
		return v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: code}}
	}
	st := func(name string, s v1.ContainerState) v1.ContainerStatus {
		return v1.ContainerStatus{Name: name, State: s}
	}
	restarting := v1.ContainerStatus{Name: "b", State: waiting, LastTerminationState: exited(1)}

	const (
		always    = v1.RestartPolicyAlways
		onFailure = v1.RestartPolicyOnFailure
		never     = v1.RestartPolicyNever
	)
	cases := []struct {
		name     string
		policy   v1.RestartPolicy
		statuses []v1.ContainerStatus
		terminal bool
		want     v1.PodPhase
	}{
		{"a container waits to start", always, []v1.ContainerStatus{st("a", running), st("b", waiting)}, false, v1.PodPending},
		{"no status yet", always, []v1.ContainerStatus{st("a", running)}, false, v1.PodPending},
		{"all running", always, []v1.ContainerStatus{st("a", running), st("b", running)}, false, v1.PodRunning},
		{"one running, one done", never, []v1.ContainerStatus{st("a", running), st("b", exited(0))}, false, v1.PodRunning},
		{"one running, one waiting to restart", always, []v1.ContainerStatus{st("a", running), restarting}, false, v1.PodRunning},
		{"all succeeded, Always restarts them", always, []v1.ContainerStatus{st("a", exited(0)), st("b", exited(0))}, false, v1.PodRunning},
		{"all succeeded, OnFailure", onFailure, []v1.ContainerStatus{st("a", exited(0)), st("b", exited(0))}, false, v1.PodSucceeded},
		{"all succeeded, Never", never, []v1.ContainerStatus{st("a", exited(0)), st("b", exited(0))}, false, v1.PodSucceeded},
		{"one failed, Always", always, []v1.ContainerStatus{st("a", exited(0)), st("b", exited(1))}, false, v1.PodRunning},
		{"one failed, OnFailure restarts it", onFailure, []v1.ContainerStatus{st("a", exited(0)), st("b", exited(1))}, false, v1.PodRunning},
		{"one failed, Never", never, []v1.ContainerStatus{st("a", exited(0)), st("b", exited(1))}, false, v1.PodFailed},
		{"waiting after a failure counts as stopped", never, []v1.ContainerStatus{st("a", exited(0)), restarting}, false, v1.PodFailed},
		{"terminal: all exited 0, even with Always", always, []v1.ContainerStatus{st("a", exited(0)), st("b", exited(0))}, true, v1.PodSucceeded},
		{"terminal: killed by the stop signal", always, []v1.ContainerStatus{st("a", exited(0)), st("b", exited(143))}, true, v1.PodFailed},
		{"terminal: OnFailure with a failure", onFailure, []v1.ContainerStatus{st("a", exited(137)), st("b", exited(0))}, true, v1.PodFailed},
		{"terminal: never started", always, []v1.ContainerStatus{st("a", waiting), st("b", waiting)}, true, v1.PodPending},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := newPod(v1.Container{Name: "a"}, v1.Container{Name: "b"})
			pod.Spec.RestartPolicy = c.policy
			if got := podPhase(pod, nil, c.statuses, c.terminal, true); got != c.want {
				t.Errorf("podPhase = %s, want %s", got, c.want)
			}
		})
	}
}

func TestExitedContainersAreReportedWithTheKubeletsReasons(t *testing.T) {
	cases := []struct {
		name       string
		exitCode   int
		oom        bool
		wantReason string
		wantPhase  v1.PodPhase
	}{
		{"exit 0", 0, false, ReasonCompleted, v1.PodSucceeded},
		{"exit 1", 1, false, ReasonError, v1.PodFailed},
		{"killed by the OOM killer", 137, true, ReasonOOMKilled, v1.PodFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			pod := newPod(appContainer())
			pod.Spec.RestartPolicy = v1.RestartPolicyNever
			w := h.running(pod)
			name := dockerName(pod, "app", 0)
			id := h.inspect(name).ID

			h.clock.Step(42 * time.Second)
			if err := h.docker.SetExited(name, c.exitCode, c.oom); err != nil {
				t.Fatal(err)
			}
			h.sync(w)

			s := h.status()
			cs := containerStatus(t, s, "app")
			term := cs.State.Terminated
			if term == nil {
				t.Fatalf("state = %+v, want terminated", cs.State)
			}
			if term.Reason != c.wantReason || term.ExitCode != int32(c.exitCode) || term.ContainerID != "docker://"+id ||
				!term.StartedAt.Time.Equal(t0) || !term.FinishedAt.Time.Equal(t0.Add(42*time.Second)) {
				t.Errorf("terminated = %+v, want %s exit %d from %v to %v", term, c.wantReason, c.exitCode, t0, t0.Add(42*time.Second))
			}
			if cs.Ready || s.Phase != c.wantPhase {
				t.Errorf("ready %v phase %s, want not ready and %s", cs.Ready, s.Phase, c.wantPhase)
			}
			// The kubelet's reason for a terminal pod: PodCompleted when it
			// succeeded, PodFailed when it failed (status/generate.go).
			wantReason := map[v1.PodPhase]string{v1.PodSucceeded: "PodCompleted", v1.PodFailed: "PodFailed"}[c.wantPhase]
			if cr := podCondition(s, v1.ContainersReady); cr == nil || cr.Status != v1.ConditionFalse || cr.Reason != wantReason {
				t.Errorf("ContainersReady = %+v, want False/%s", cr, wantReason)
			}
			if got := h.calls("ContainerCreate", "ContainerStart"); len(got) != 4 {
				t.Errorf("restartPolicy Never, yet the engine saw %q", got)
			}
		})
	}
}

func TestConditionsKeepTheirTransitionTimeWhileUnchanged(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	pod.Spec.RestartPolicy = v1.RestartPolicyNever // the exit below is final
	w := h.running(pod)
	first := len(h.notifications())

	h.clock.Step(90 * time.Second)
	h.sync(w)
	if got := len(h.notifications()); got != first {
		t.Fatalf("an unchanged pod was reported again (%d notifications, want %d)", got, first)
	}

	t1 := t0.Add(2 * time.Minute)
	h.clock.SetTime(t1.Add(300 * time.Millisecond)) // stamps are whole seconds
	if err := h.docker.SetExited(dockerName(pod, "sidecar", 0), 2, false); err != nil {
		t.Fatal(err)
	}
	h.sync(w)
	s := h.status()
	want := map[v1.PodConditionType]struct {
		status v1.ConditionStatus
		since  time.Time
	}{
		v1.PodReadyToStartContainers: {v1.ConditionTrue, t0},
		v1.PodInitialized:            {v1.ConditionTrue, t0},
		v1.ContainersReady:           {v1.ConditionFalse, t1},
		v1.PodReady:                  {v1.ConditionFalse, t1},
	}
	for ct, w := range want {
		c := podCondition(s, ct)
		if c == nil || c.Status != w.status || !c.LastTransitionTime.Time.Equal(w.since) {
			t.Errorf("%s = %+v, want %s since %v", ct, c, w.status, w.since)
		}
	}
	if c := podCondition(s, v1.ContainersReady); c.Reason != "ContainersNotReady" || c.Message != "containers with unready status: [sidecar]" {
		t.Errorf("ContainersReady reason %q message %q", c.Reason, c.Message)
	}
	if s.Phase != v1.PodRunning {
		t.Errorf("phase = %s, want Running (one container still runs)", s.Phase)
	}
}
