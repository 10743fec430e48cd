package lifecycle

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Ephemeral containers (kubectl debug) as the kubelet runs them
// (kuberuntime_manager.go: EphemeralContainersToStart, never restarted) and
// reports them (kubelet_pods.go: status.ephemeralContainerStatuses).

func ephemeralStatus(t *testing.T, s v1.PodStatus, name string) v1.ContainerStatus {
	t.Helper()
	for _, cs := range s.EphemeralContainerStatuses {
		if cs.Name == name {
			return cs
		}
	}
	t.Fatalf("no ephemeral container status for %s in %+v", name, s.EphemeralContainerStatuses)
	return v1.ContainerStatus{}
}

// debug adds the ephemeral container "debugger" to the running pod as
// `kubectl debug --target=target` does, hands the pod to the worker and
// syncs it.
func (h *harness) debug(w *Worker, target string) *v1.Pod {
	h.t.Helper()
	pod := w.Pod()
	pod.Spec.EphemeralContainers = debugged(target)().Spec.EphemeralContainers
	w.Update(pod)
	h.sync(w)
	return pod
}

func TestAnEphemeralContainerJoinsThePodAndItsTargetsProcesses(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	w := h.running(pod)
	h.events()
	h.debug(w, "app")

	sandbox := h.inspect(dockerName(pod, dockerhost.SandboxContainerName, 0))
	app := h.inspect(dockerName(pod, "app", 0))
	dbg := h.inspect(dockerName(pod, "debugger", 0))
	hc := dbg.HostConfig
	if string(hc.NetworkMode) != "container:"+sandbox.ID || string(hc.IpcMode) != "container:"+sandbox.ID {
		t.Errorf("network %q, IPC %q: want the sandbox's (%s)", hc.NetworkMode, hc.IpcMode, sandbox.ID)
	}
	if string(hc.PidMode) != "container:"+app.ID {
		t.Errorf("PID mode %q, want the target's namespace container:%s", hc.PidMode, app.ID)
	}
	if !dbg.State.Running || !dbg.Config.Tty || !dbg.Config.OpenStdin {
		t.Errorf("running %v, tty %v, stdin %v: want a running interactive container", dbg.State.Running, dbg.Config.Tty, dbg.Config.OpenStdin)
	}
	if got := dbg.Config.Labels[dockerhost.LabelContainerKind]; got != dockerhost.KindEphemeral {
		t.Errorf("kind label %q, want %q: a restarted provider must know it is ephemeral", got, dockerhost.KindEphemeral)
	}
	wantEvents := []string{
		`Normal Pulled Container image "` + sidecarImage + `" already present on machine and can be accessed by the pod`,
		"Normal Created Container created",
		"Normal Started Container started",
	}
	if got := h.events(); !slices.Equal(got, wantEvents) {
		t.Errorf("events\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(wantEvents, "\n  "))
	}

	s := h.status()
	cs := ephemeralStatus(t, s, "debugger")
	if cs.State.Running == nil || cs.ContainerID != "docker://"+dbg.ID || cs.Image != sidecarImage || cs.Ready || cs.Started != nil || cs.RestartCount != 0 {
		t.Errorf("ephemeral status = %+v, want running, not ready, no started field (the kubelet's prober reports only the others)", cs)
	}
	if len(s.ContainerStatuses) != 2 || s.Phase != v1.PodRunning {
		t.Errorf("containers %d, phase %s: the ephemeral container is not one of the pod's containers", len(s.ContainerStatuses), s.Phase)
	}
	if c := podCondition(s, v1.PodReady); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("Ready = %+v: an ephemeral container, never ready, must not make the pod unready", c)
	}
}

func TestAnEphemeralContainerRunsOnce(t *testing.T) {
	for _, exit := range []int{0, 1} {
		h := newHarness(t)
		pod := newPod(appContainer())
		w := h.running(pod)
		h.debug(w, "")
		name := dockerName(pod, "debugger", 0)
		started := h.inspect(name).ID

		h.clock.Step(7 * time.Second)
		if err := h.docker.SetExited(name, exit, false); err != nil {
			t.Fatal(err)
		}
		h.docker.ResetCalls()
		h.sync(w)
		h.clock.Step(time.Hour) // past any back-off
		h.sync(w)
		if got := h.calls("ContainerCreate", "ContainerStart"); len(got) != 0 {
			t.Errorf("exit %d: the ephemeral container was started again: %q", exit, got)
		}
		cs := ephemeralStatus(t, h.status(), "debugger")
		wantReason := map[int]string{0: ReasonCompleted, 1: ReasonError}[exit]
		term := cs.State.Terminated
		if term == nil || term.ExitCode != int32(exit) || term.Reason != wantReason || term.ContainerID != "docker://"+started ||
			!term.FinishedAt.Time.Equal(t0.Add(7*time.Second)) || cs.RestartCount != 0 || cs.LastTerminationState.Terminated != nil {
			t.Errorf("exit %d: status = %+v, want terminated %s with exit %d at +7s, no restart", exit, cs, wantReason, exit)
		}
		if s := h.status(); s.Phase != v1.PodRunning {
			t.Errorf("exit %d: pod phase %s, want Running: the ephemeral container's end is not the pod's", exit, s.Phase)
		}
	}
}

func TestAnEphemeralContainerWaitsForItsTarget(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	pod.Spec.InitContainers = []v1.Container{initContainer("migrate")}
	w := NewWorker(h.rt, pod, true)
	h.sync(w) // migrate runs; app waits for it
	h.events()
	h.debug(w, "app")

	cs := ephemeralStatus(t, h.status(), "debugger")
	if w := cs.State.Waiting; w == nil || w.Reason != ReasonCreateContainerConfigError || w.Message != "unable to find target container app" {
		t.Errorf("state = %+v, want waiting CreateContainerConfigError: unable to find target container app", cs.State)
	}
	want := []string{"Warning Failed Error: unable to find target container app"}
	if got := h.events(); !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	h.sync(w)
	if got := h.events(); len(got) != 0 {
		t.Errorf("events of a second pass = %q, want none", got)
	}
	if _, ok := h.podContainers(testUID)[dockerName(pod, "debugger", 0)]; ok {
		t.Error("the ephemeral container was created without its target")
	}

	// Once the target has a container, the next pass starts the debugger in
	// its PID namespace.
	if err := h.docker.SetExited(dockerName(pod, "migrate", 0), 0, false); err != nil {
		t.Fatal(err)
	}
	h.sync(w)
	h.sync(w)
	app := h.inspect(dockerName(pod, "app", 0))
	dbg := h.inspect(dockerName(pod, "debugger", 0))
	if !dbg.State.Running || string(dbg.HostConfig.PidMode) != "container:"+app.ID {
		t.Errorf("debugger running %v in PID mode %q, want running in container:%s", dbg.State.Running, dbg.HostConfig.PidMode, app.ID)
	}
	if cs := ephemeralStatus(t, h.status(), "debugger"); cs.State.Running == nil {
		t.Errorf("debugger = %+v, want running", cs.State)
	}
}

func TestAnEphemeralContainerNotYetStartedWaitsAsTheKubeletShows(t *testing.T) {
	for _, tc := range []struct {
		name  string
		inits []v1.Container
		want  string
	}{
		{"a pod without init containers", nil, ReasonContainerCreating},
		{"a pod with init containers", []v1.Container{initContainer("migrate")}, ReasonPodInitializing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := debugged("", tc.inits...)()
			in := syncInput{pod: pod, obs: newObs().sandbox("running").obs, mem: newPodMemory(), now: t0}
			s := generatePodStatus(in, statusNode{}, nil, false)
			cs := ephemeralStatus(t, s, "debugger")
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != tc.want || cs.Started != nil || cs.Ready {
				t.Errorf("status = %+v, want waiting %s", cs, tc.want)
			}
		})
	}
}

func TestADeletedPodStopsItsEphemeralContainerWithinItsGrace(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](5)
	w := h.running(pod)
	h.debug(w, "app")
	name := dockerName(pod, "debugger", 0)
	h.docker.IgnoreSignal(name, "SIGTERM")

	w.Delete(pod)
	h.sync(w)
	if got := h.docker.Signals(name); !slices.Equal(got, []string{"SIGTERM"}) {
		t.Errorf("signals = %q, want SIGTERM at once", got)
	}
	h.clock.Step(killAfter(5*time.Second) - time.Millisecond)
	h.sync(w)
	if got := h.docker.Signals(name); !slices.Equal(got, []string{"SIGTERM"}) {
		t.Errorf("signals before the end of the grace period = %q, want SIGTERM alone", got)
	}
	h.clock.Step(time.Millisecond)
	h.sync(w)
	if got := h.docker.Signals(name); !slices.Equal(got, []string{"SIGTERM", "SIGKILL"}) {
		t.Errorf("signals = %q, want SIGKILL at the end of the grace period", got)
	}
	for range 4 {
		h.sync(w)
	}
	if got := h.podContainers(testUID); len(got) != 0 {
		t.Errorf("left on the engine: %d containers", len(got))
	}
}

func TestAStaleObjectNeverTakesAnEphemeralContainerAway(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	w := h.running(pod)
	h.debug(w, "")
	w.Update(pod) // older: from before kubectl debug
	if got := w.Pod().Spec.EphemeralContainers; len(got) != 1 || got[0].Name != "debugger" {
		t.Errorf("ephemeral containers after a stale update = %+v", got)
	}
}

func TestARebuiltPodAdoptsItsEphemeralContainer(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	w := h.running(pod)
	apiPod := h.debug(w, "app")
	apiPod.Status = h.status()
	name := dockerName(pod, "debugger", 0)
	before := h.inspect(name).ID
	h.docker.ResetCalls()

	// The provider restarts: the skeleton from labels (provider.podFromLabels)
	// lists the ephemeral container; then the API's pod arrives.
	sk := skeleton(pod, "app")
	sk.Spec.EphemeralContainers = []v1.EphemeralContainer{{EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "debugger", Image: sidecarImage}}}
	w = NewWorker(h.rt, sk, false)
	h.sync(w)
	if cs := ephemeralStatus(t, w.Pod().Status, "debugger"); cs.State.Running == nil || cs.ContainerID != "docker://"+before {
		t.Errorf("rebuilt view of the ephemeral container: %+v", cs)
	}
	w.Update(apiPod)
	h.sync(w)
	if got := h.calls(mutations...); len(got) != 0 {
		t.Errorf("adopting the pod changed the engine: %q", got)
	}
	if cs := ephemeralStatus(t, h.status(), "debugger"); cs.State.Running == nil || cs.ContainerID != "docker://"+before {
		t.Errorf("adopted ephemeral container: %+v, want %s running", cs, before)
	}

	if err := h.docker.SetExited(name, 0, false); err != nil {
		t.Fatal(err)
	}
	h.sync(w)
	h.clock.Step(time.Minute)
	h.sync(w)
	if got := h.calls("ContainerCreate", "ContainerStart"); len(got) != 0 {
		t.Errorf("the adopted ephemeral container was started again: %q", got)
	}
}

// Admission holds back pods whose containers are privileged on a node
// without --allow-privileged; an ephemeral container added later
// (kubectl debug --profile=sysadmin) must not get around it.
func TestAPrivilegedEphemeralContainerIsRefusedWithoutAllowPrivileged(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	w := h.running(pod)
	pod = w.Pod()
	pod.Spec.EphemeralContainers = debugged("app")().Spec.EphemeralContainers
	pod.Spec.EphemeralContainers[0].SecurityContext = &v1.SecurityContext{Privileged: ptr.To(true)}
	w.Update(pod)
	h.sync(w)
	if _, ok := h.podContainers(testUID)[dockerName(pod, "debugger", 0)]; ok {
		t.Fatal("a privileged ephemeral container was created on a node that disallows privileged containers")
	}
	cs := ephemeralStatus(t, h.status(), "debugger")
	want := `pod with UID "` + string(testUID) + `" specified privileged container, but is disallowed`
	if w := cs.State.Waiting; w == nil || w.Reason != ReasonCreateContainerConfigError || w.Message != want {
		t.Errorf("state = %+v, want waiting CreateContainerConfigError: %s", cs.State, want)
	}
}
