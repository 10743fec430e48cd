package lifecycle

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// wakeEverySecond syncs the worker once a simulated second for d, as Docker
// events and resyncs may wake it, and returns the events recorded.
func (h *harness) wakeEverySecond(w *Worker, d time.Duration) []string {
	var got []string
	for end := h.clock.Now().Add(d); h.clock.Now().Before(end); h.clock.Step(time.Second) {
		h.sync(w)
		got = append(got, h.events()...)
	}
	return got
}

func countEvents(events []string, prefix string) int {
	n := 0
	for _, e := range events {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

// A container that cannot be created, or a sandbox that cannot be made, is
// tried again no sooner than the kubelet's pod workers would after a failed
// sync (10 s), however often the worker is woken: in 45 s at most five
// attempts, five of each event, where the worker used to retry every pass.
func TestFailedStepsBackOffAsTheKubeletsPodWorkers(t *testing.T) {
	cases := []struct {
		name   string
		set    func(h *harness, pod *v1.Pod)
		reason string // the app container's waiting reason
		event  string // the event of each attempt
	}{
		{
			name: "CreateContainerConfigError",
			set: func(h *harness, pod *v1.Pod) {
				h.docker.SetImageUser(appImage, "")
				pod.Spec.Containers[0].SecurityContext = &v1.SecurityContext{RunAsNonRoot: ptr.To(true)}
			},
			reason: ReasonCreateContainerConfigError, event: "Warning Failed Error: container has runAsNonRoot",
		},
		{
			name: "CreateContainerError",
			set: func(h *harness, pod *v1.Pod) {
				app := dockerName(pod, "app", 0)
				h.docker.SetHook(func(op string, args []string) error {
					if op == "ContainerCreate" && slices.Contains(args, app) {
						return errors.New("invalid mount config")
					}
					return nil
				})
			},
			reason: ReasonCreateContainerError, event: "Warning Failed Error: invalid mount config",
		},
		{
			name: "FailedCreatePodSandBox",
			set: func(h *harness, pod *v1.Pod) {
				h.docker.InjectError("ContainerStart", errors.New("OCI runtime create failed"))
			},
			reason: ReasonContainerCreating, event: "Warning FailedCreatePodSandBox Failed to create pod sandbox:",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			pod := newPod(appContainer())
			c.set(h, pod)
			w := NewWorker(h.rt, pod, true)
			got := h.wakeEverySecond(w, 45*time.Second)
			if n := countEvents(got, c.event); n < 4 || n > 5 {
				t.Errorf("%d events %q in 45 s, want 4-5 (one per 10 s back-off); events %q", n, c.event, got)
			}
			if n := countEvents(got, "Normal Pulled"); n > 5 {
				t.Errorf("%d Pulled events in 45 s, want at most 5", n)
			}
			if cs := containerStatus(t, h.status(), "app"); cs.State.Waiting == nil || cs.State.Waiting.Reason != c.reason {
				t.Errorf("app state %+v, want waiting %s", cs.State, c.reason)
			}
		})
	}
}

// Once what failed is fixed, the next attempt after the back-off succeeds
// and the back-off is forgotten.
func TestCreateBackOffEndsWhenTheCreateSucceeds(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	fail := true
	app := dockerName(pod, "app", 0)
	h.docker.SetHook(func(op string, args []string) error {
		if fail && op == "ContainerCreate" && slices.Contains(args, app) {
			return errors.New("invalid mount config")
		}
		return nil
	})
	w := NewWorker(h.rt, pod, true)
	if next := h.sync(w); next != retryAfterError {
		t.Errorf("next look in %v", next)
	}
	fail = false
	h.clock.Step(syncErrorBackOff - time.Second)
	if next := h.sync(w); next != time.Second {
		t.Errorf("next look %v before the back-off ends, want 1s", next)
	}
	if _, ok := h.podContainers(testUID)[app]; ok {
		t.Fatal("the container was created during the back-off")
	}
	h.clock.Step(time.Second)
	h.sync(w)
	if s := h.status(); s.Phase != v1.PodRunning {
		t.Errorf("phase %s after the back-off, want Running", s.Phase)
	}
	if _, ok := w.mem.createRetry["app"]; ok {
		t.Error("the back-off outlived the successful create")
	}
}

// A new pod whose engine does not answer shows what a kubelet shows for a
// sandbox it cannot make: containers ContainerCreating, a
// FailedCreatePodSandBox warning naming the engine's error, at most once per
// back-off; when the engine answers again the pod starts.
func TestANewPodWhileTheEngineIsAway(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	engineDown := errors.New("Cannot connect to the Docker daemon at unix:///run/docker.sock. Is the docker daemon running?")
	h.docker.InjectError("ContainerList", engineDown)
	w := NewWorker(h.rt, pod, true)
	got := h.wakeEverySecond(w, 25*time.Second)
	want := "Warning FailedCreatePodSandBox Failed to create pod sandbox: " + engineDown.Error()
	if n := countEvents(got, want); n != 3 {
		t.Errorf("%d warnings %q in 25 s, want 3 (t=0, 10, 20 s); events %q", n, want, got)
	}
	s := h.status()
	if cs := containerStatus(t, s, "app"); s.Phase != v1.PodPending || cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonContainerCreating {
		t.Errorf("phase %s, app %+v; want Pending, waiting ContainerCreating", s.Phase, cs.State)
	}

	h.docker.InjectError("ContainerList", nil)
	h.wakeEverySecond(w, syncErrorBackOff)
	if s := h.status(); s.Phase != v1.PodRunning {
		t.Errorf("phase %s once the engine is back, want Running", s.Phase)
	}
}

// A pod the API shows as having run before says nothing while the engine is
// away: its containers may well still run there.
func TestAnEngineAwayDoesNotHideContainersThatRan(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	pod.Status.Phase = v1.PodRunning
	pod.Status.ContainerStatuses = []v1.ContainerStatus{{Name: "app", ContainerID: "docker://abc"}}
	h.docker.InjectError("ContainerList", errors.New("engine away"))
	w := NewWorker(h.rt, pod, true)
	h.sync(w)
	if n := h.notifications(); len(n) != 0 {
		t.Errorf("reported %+v while the engine is away", n[0].pod.Status)
	}
	if got := h.events(); len(got) != 0 {
		t.Errorf("events %q while the engine is away", got)
	}
}

// memoryLimited is a pod whose app container has a memory limit and no
// restart: its first exit is final.
func memoryLimited() *v1.Pod {
	app := appContainer()
	app.Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("16Mi")}
	pod := newPod(app)
	pod.Spec.RestartPolicy = v1.RestartPolicyNever
	return pod
}

// Docker 20.10 on cgroup v2 may flag an OOM kill (and send the oom event)
// after the die event. A container that exits 137 under a memory limit is
// reported only once the engine says it was OOM-killed, or oomWait later:
// a pod that failed for good must not be reported Error first, as the API
// would keep that.
func TestAnOOMKillFlaggedAfterTheExitIsReportedOOMKilled(t *testing.T) {
	for _, late := range []bool{true, false} {
		t.Run(fmt.Sprintf("oom flagged late %v", late), func(t *testing.T) {
			h := newHarness(t)
			pod := memoryLimited()
			w := h.running(pod)
			app := dockerName(pod, "app", 0)
			if h.inspect(app).HostConfig.Memory <= 0 {
				t.Fatal("the container has no memory limit")
			}
			reported := len(h.notifications())
			if err := h.docker.SetExited(app, exitSIGKILL, false); err != nil {
				t.Fatal(err)
			}
			if next := h.sync(w); next <= 0 || next > oomWait {
				t.Errorf("next look in %v, want within %v", next, oomWait)
			}
			if n := h.notifications(); len(n) != reported {
				t.Fatalf("status %+v reported before the engine could flag the OOM kill", n[len(n)-1].pod.Status)
			}
			want := ReasonError
			if late {
				want = ReasonOOMKilled
				h.clock.Step(100 * time.Millisecond)
				if err := h.docker.SetOOMKilledLate(app); err != nil {
					t.Fatal(err)
				}
			} else {
				h.clock.Step(oomWait)
			}
			h.sync(w)
			s := h.status()
			cs := containerStatus(t, s, "app")
			if s.Phase != v1.PodFailed || cs.State.Terminated == nil || cs.State.Terminated.Reason != want || cs.State.Terminated.ExitCode != exitSIGKILL {
				t.Errorf("phase %s, app %+v; want Failed, terminated %s 137", s.Phase, cs.State, want)
			}
		})
	}
}

// Only an exit the node did not cause waits: a container the node killed
// (deletion, liveness) or without a memory limit is reported at once.
func TestOnlyAnUnexplainedSIGKILLUnderALimitWaitsForTheOOMFlag(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	pod.Spec.RestartPolicy = v1.RestartPolicyNever
	w := h.running(pod)
	if err := h.docker.SetExited(dockerName(pod, "app", 0), exitSIGKILL, false); err != nil {
		t.Fatal(err)
	}
	h.sync(w)
	if cs := containerStatus(t, h.status(), "app"); cs.State.Terminated == nil || cs.State.Terminated.Reason != ReasonError {
		t.Errorf("app %+v without a memory limit, want terminated Error at once", cs.State)
	}
	in := syncInput{obs: &observation{containers: map[string][]*instance{"app": {{inspect: container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: "x", State: &container.State{Status: "exited", ExitCode: exitSIGKILL},
			HostConfig: &container.HostConfig{Resources: container.Resources{Memory: 1 << 24}}},
	}}}}}, mem: newPodMemory(), now: t0}
	in.mem.record("x").exitSeen = t0
	if _, held := oomPending(in); !held {
		t.Error("an unexplained SIGKILL under a limit is not held")
	}
	in.mem.record("x").stop = &stopRecord{killed: true}
	if _, held := oomPending(in); held {
		t.Error("a container the node killed is held for an OOM flag")
	}
}
