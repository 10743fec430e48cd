package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Restart policy and CrashLoopBackOff, as the kubelet's computePodActions
// and doBackOff (pkg/kubelet/kuberuntime/kuberuntime_manager.go) do them.

// podRef is how the kubelet's messages name the test pod (format.Pod).
var podRef = "web_default(" + string(testUID) + ")"

// exitNow ends the given attempt of a container as a crash would, at the
// clock's time, which it returns.
func (h *harness) exitNow(pod *v1.Pod, c string, attempt, code int) time.Time {
	h.t.Helper()
	if err := h.docker.SetExited(dockerName(pod, c, attempt), code, false); err != nil {
		h.t.Fatalf("exit %s attempt %d: %v", c, attempt, err)
	}
	return h.clock.Now()
}

// created lists the names of the containers created since the calls were
// last reset.
func (h *harness) created() []string {
	var out []string
	for _, c := range h.calls("ContainerCreate") {
		out = append(out, strings.TrimPrefix(c, "ContainerCreate "))
	}
	return out
}

// backOffEvents keeps the BackOff events of events.
func backOffEvents(events []string) []string {
	var out []string
	for _, e := range events {
		if strings.Contains(e, " BackOff ") {
			out = append(out, e)
		}
	}
	return out
}

// checkTerminated compares a terminated state with what the instance id
// did: its exit code, the kubelet's reason, and when it finished (unless
// finished is zero).
func checkTerminated(t *testing.T, what string, got *v1.ContainerStateTerminated, id string, code int32, reason string, finished time.Time) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil, want terminated %s with %d", what, reason, code)
		return
	}
	if finished.IsZero() {
		finished = got.FinishedAt.Time
	}
	if got.ContainerID != "docker://"+id || got.ExitCode != code || got.Reason != reason || !got.FinishedAt.Time.Equal(finished) {
		t.Errorf("%s = {containerID %s exitCode %d reason %s finishedAt %v}, want {docker://%s %d %s %v}",
			what, got.ContainerID, got.ExitCode, got.Reason, got.FinishedAt.Time, id, code, reason, finished)
	}
}

func TestRestartPolicyDecidesWhetherAnExitedContainerRunsAgain(t *testing.T) {
	const (
		always    = v1.RestartPolicyAlways
		onFailure = v1.RestartPolicyOnFailure
		never     = v1.RestartPolicyNever
	)
	cases := []struct {
		policy   v1.RestartPolicy
		exit     int
		restarts bool
		reason   string
		phase    v1.PodPhase // once the exit is seen
	}{
		{always, 0, true, ReasonCompleted, v1.PodRunning},
		{always, 1, true, ReasonError, v1.PodRunning},
		{onFailure, 0, false, ReasonCompleted, v1.PodSucceeded},
		{onFailure, 1, true, ReasonError, v1.PodRunning},
		{never, 0, false, ReasonCompleted, v1.PodSucceeded},
		{never, 1, false, ReasonError, v1.PodFailed},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s, exit %d", c.policy, c.exit), func(t *testing.T) {
			h := newHarness(t)
			pod := newPod(appContainer())
			pod.Spec.RestartPolicy = c.policy
			w := h.running(pod)
			first := h.inspect(dockerName(pod, "app", 0)).ID
			h.clock.Step(time.Minute)
			exited := h.exitNow(pod, "app", 0, c.exit)
			h.docker.ResetCalls()
			h.events()
			h.sync(w)

			s := h.status()
			if s.Phase != c.phase {
				t.Errorf("phase = %s, want %s", s.Phase, c.phase)
			}
			cs := containerStatus(t, s, "app")
			if !c.restarts {
				if got := h.created(); len(got) != 0 {
					t.Errorf("created %q, want no restart", got)
				}
				checkTerminated(t, "state.terminated", cs.State.Terminated, first, int32(c.exit), c.reason, exited)
				if cs.RestartCount != 0 || cs.Ready || cs.LastTerminationState.Terminated != nil {
					t.Errorf("restartCount %d ready %v lastState %+v, want 0, false, none", cs.RestartCount, cs.Ready, cs.LastTerminationState)
				}
				// Later looks start nothing; the finished pod's sandbox is
				// stopped (once), as the kubelet kills a completed pod's.
				sandbox := h.inspect(dockerName(pod, "POD", 0)).ID
				for range 3 {
					h.clock.Step(10 * time.Minute)
					h.sync(w)
				}
				if got := h.calls("ContainerCreate", "ContainerStart"); len(got) != 0 {
					t.Errorf("later syncs called %q", got)
				}
				if got, want := h.calls("ContainerKill"), []string{"ContainerKill " + sandbox + " SIGTERM"}; !slices.Equal(got, want) {
					t.Errorf("later syncs killed %q, want only the sandbox stopped: %q", got, want)
				}
				if s := h.status(); s.PodIP == "" {
					t.Errorf("the finished pod lost its podIP with its sandbox")
				}
				if got := backOffEvents(h.events()); len(got) != 0 {
					t.Errorf("events %q for a container that is not restarted", got)
				}
				return
			}

			// The restart is attempt 1, counted in its label and the status.
			if got, want := h.created(), []string{dockerName(pod, "app", 1)}; !slices.Equal(got, want) {
				t.Fatalf("created %q, want %q", got, want)
			}
			second := h.inspect(dockerName(pod, "app", 1))
			if !second.State.Running || second.Config.Labels[dockerhost.LabelRestartCount] != "1" {
				t.Errorf("attempt 1 running %v restartCount label %q, want running with 1", second.State.Running, second.Config.Labels[dockerhost.LabelRestartCount])
			}
			if cs.State.Running == nil || cs.ContainerID != "docker://"+second.ID || cs.RestartCount != 1 || !cs.Ready {
				t.Errorf("status = %+v, want attempt 1 running and ready, restartCount 1", cs)
			}
			checkTerminated(t, "lastState.terminated", cs.LastTerminationState.Terminated, first, int32(c.exit), c.reason, exited)
			if lt := cs.LastTerminationState.Terminated; lt != nil && !lt.StartedAt.Time.Equal(t0) {
				t.Errorf("lastState.terminated.startedAt = %v, want %v", lt.StartedAt.Time, t0)
			}
			if got := h.events(); !slices.Contains(got, "Normal Started Container started") || len(backOffEvents(got)) != 0 {
				t.Errorf("events = %q, want the restart's Started and no BackOff", got)
			}
			if _, kept := h.podContainers(testUID)[dockerName(pod, "app", 0)]; !kept {
				t.Error("the previous instance was removed; kubectl logs --previous needs it")
			}

			// The next restart (after its back-off) removes the instance before
			// the previous one; lastState now describes attempt 1.
			h.clock.Step(time.Minute)
			exited = h.exitNow(pod, "app", 1, c.exit)
			h.sync(w)
			h.clock.Step(backOffInitial)
			h.docker.ResetCalls()
			h.sync(w)
			if got, want := h.created(), []string{dockerName(pod, "app", 2)}; !slices.Equal(got, want) {
				t.Fatalf("created %q, want %q", got, want)
			}
			held := h.podContainers(testUID)
			if _, ok := held[dockerName(pod, "app", 0)]; ok {
				t.Error("attempt 0 is still on the engine after attempt 2 started")
			}
			if got := held[dockerName(pod, "app", 1)]; got.State != container.StateExited {
				t.Errorf("attempt 1 = %q, want kept, exited", got.State)
			}
			cs = containerStatus(t, h.status(), "app")
			if cs.RestartCount != 2 || cs.State.Running == nil {
				t.Errorf("status = %+v, want attempt 2 running, restartCount 2", cs)
			}
			checkTerminated(t, "lastState.terminated", cs.LastTerminationState.Terminated, second.ID, int32(c.exit), c.reason, exited)
		})
	}
}

func TestCrashLoopBackOff(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	w := h.running(pod)
	h.events()
	wantEvent := "Warning BackOff Back-off restarting failed container app in pod " + podRef

	// The first exit is restarted at once.
	h.clock.Step(5 * time.Second)
	h.exitNow(pod, "app", 0, 1)
	h.docker.ResetCalls()
	if next := h.sync(w); next != 0 {
		t.Errorf("after the first restart: next look in %v, want only when woken", next)
	}
	if got := h.created(); !slices.Equal(got, []string{dockerName(pod, "app", 1)}) {
		t.Fatalf("created %q, want attempt 1 at once", got)
	}
	if got := backOffEvents(h.events()); len(got) != 0 {
		t.Errorf("BackOff events %q on the first restart", got)
	}

	// Each later exit is held back 10s, 20s, 40s... up to 5 minutes, counted
	// from the moment the container finished.
	holds := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 5 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	attempt := 1
	for _, hold := range holds {
		h.clock.Step(time.Second) // it ran for a second
		finished := h.exitNow(pod, "app", attempt, 1)
		exitedID := h.inspect(dockerName(pod, "app", attempt)).ID
		h.docker.ResetCalls()
		if next := h.sync(w); next != hold {
			t.Errorf("attempt %d exited: next look in %v, want %v", attempt, next, hold)
		}
		if got := h.created(); len(got) != 0 {
			t.Fatalf("attempt %d exited: created %q at once, want a back-off of %v", attempt, got, hold)
		}
		s := h.status()
		cs := containerStatus(t, s, "app")
		wantMsg := fmt.Sprintf("back-off %s restarting failed container=app pod=%s", hold, podRef)
		if cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonCrashLoopBackOff || cs.State.Waiting.Message != wantMsg {
			t.Errorf("attempt %d held back: state = %+v, want waiting CrashLoopBackOff %q", attempt, cs.State, wantMsg)
		}
		checkTerminated(t, fmt.Sprintf("attempt %d held back: lastState.terminated", attempt), cs.LastTerminationState.Terminated, exitedID, 1, ReasonError, finished)
		if cs.RestartCount != int32(attempt) || cs.Ready || s.Phase != v1.PodRunning {
			t.Errorf("attempt %d held back: restartCount %d ready %v phase %s, want %d, false, Running", attempt, cs.RestartCount, cs.Ready, s.Phase, attempt)
		}
		if c := podCondition(s, v1.ContainersReady); c == nil || c.Status != v1.ConditionFalse || c.Message != "containers with unready status: [app]" {
			t.Errorf("attempt %d held back: ContainersReady = %+v", attempt, c)
		}
		if got := backOffEvents(h.events()); !slices.Equal(got, []string{wantEvent}) {
			t.Errorf("attempt %d held back: BackOff events %q, want %q once", attempt, got, wantEvent)
		}

		// Looks before the back-off is over restart nothing and repeat no event.
		h.sync(w)
		h.clock.Step(hold - time.Millisecond)
		h.sync(w)
		if got := h.created(); len(got) != 0 {
			t.Fatalf("attempt %d: restarted %q before finishedAt+%v", attempt, got, hold)
		}
		if got := backOffEvents(h.events()); len(got) != 0 {
			t.Errorf("attempt %d: BackOff events repeated while held back: %q", attempt, got)
		}

		// At finishedAt+hold it restarts.
		h.clock.Step(time.Millisecond)
		if next := h.sync(w); next != 0 {
			t.Errorf("attempt %d restarted: next look in %v, want only when woken", attempt, next)
		}
		attempt++
		if got := h.created(); !slices.Equal(got, []string{dockerName(pod, "app", attempt)}) {
			t.Fatalf("at finishedAt+%v: created %q, want attempt %d", hold, got, attempt)
		}
		if cs := containerStatus(t, h.status(), "app"); cs.State.Running == nil || cs.RestartCount != int32(attempt) {
			t.Errorf("attempt %d: status %+v, want running with restartCount %d", attempt, cs, attempt)
		}
	}

	// A container that ran for more than 10 minutes (twice the maximum) before
	// failing starts over: restarted at once, then held back 10s again.
	h.clock.Step(10*time.Minute + time.Second)
	h.exitNow(pod, "app", attempt, 1)
	h.docker.ResetCalls()
	h.sync(w)
	attempt++
	if got := h.created(); !slices.Equal(got, []string{dockerName(pod, "app", attempt)}) {
		t.Fatalf("after a long run: created %q, want attempt %d at once", got, attempt)
	}
	if got := backOffEvents(h.events()); len(got) != 0 {
		t.Errorf("after a long run: BackOff events %q", got)
	}
	h.clock.Step(time.Second)
	h.exitNow(pod, "app", attempt, 1)
	h.docker.ResetCalls()
	if next := h.sync(w); next != backOffInitial {
		t.Errorf("after the reset: next look in %v, want %v", next, backOffInitial)
	}
	want := fmt.Sprintf("back-off 10s restarting failed container=app pod=%s", podRef)
	if cs := containerStatus(t, h.status(), "app"); cs.State.Waiting == nil || cs.State.Waiting.Message != want {
		t.Errorf("after the reset: state = %+v, want waiting %q", cs.State, want)
	}
	if got := h.created(); len(got) != 0 {
		t.Errorf("after the reset: created %q, want a back-off", got)
	}
}

// A container that exits 0 under restartPolicy Always crash-loops too: the
// kubelet's back-off does not look at the exit code.
func TestCrashLoopBackOffAfterSuccessfulExits(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	w := h.running(pod)
	h.exitNow(pod, "app", 0, 0)
	h.sync(w)
	h.exitNow(pod, "app", 1, 0)
	if next := h.sync(w); next != backOffInitial {
		t.Errorf("next look in %v, want %v", next, backOffInitial)
	}
	cs := containerStatus(t, h.status(), "app")
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonCrashLoopBackOff {
		t.Errorf("state = %+v, want waiting CrashLoopBackOff", cs.State)
	}
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.Reason != ReasonCompleted || lt.ExitCode != 0 {
		t.Errorf("lastState = %+v, want terminated Completed", cs.LastTerminationState)
	}
}

// ---------------------------------------------------------------------------
// Containers the engine cannot start.

// startRefused is the error the engine returns for a start the runtime
// refuses.
type startRefused struct{ msg string }

func (e *startRefused) Error() string { return e.msg }

// startFailingEngine adds to the fake engine what it does not model: a
// ContainerStart the runtime refuses. Docker (daemon/start.go, errors.go
// setExitCodeFromError) then keeps the container "created", never started
// (StartedAt and FinishedAt zero), with State.Error set to the failure and
// State.ExitCode 127 for a missing executable, 126 for a permission problem,
// 128 otherwise; it publishes no event (the create before it did).
type startFailingEngine struct {
	*dockerfake.Client
	mu      sync.Mutex
	refuse  map[string]string // container (spec name) → the runtime's error
	refused map[string]int    // container ID → exit code the engine recorded
	errors  map[string]string // container ID → its error
}

// newStartFailingEngine makes h's worker use an engine whose starts can be
// refused; h.docker stays the underlying fake.
func newStartFailingEngine(h *harness) *startFailingEngine {
	e := &startFailingEngine{Client: h.docker, refuse: map[string]string{}, refused: map[string]int{}, errors: map[string]string{}}
	h.docker.SetHook(func(op string, args []string) error {
		if op != "ContainerStart" {
			return nil
		}
		in, err := h.docker.ContainerInspect(context.Background(), args[0])
		if err != nil {
			return nil
		}
		n, err := dockerhost.ParseContainerName(in.Name)
		if err != nil {
			return nil
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if msg, ok := e.refuse[n.Container]; ok {
			return &startRefused{msg}
		}
		return nil
	})
	h.rt.Docker = e
	return e
}

// refuseStarts makes every start of container c fail with msg; an empty msg
// lets it start again.
func (e *startFailingEngine) refuseStarts(c, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if msg == "" {
		delete(e.refuse, c)
		return
	}
	e.refuse[c] = msg
}

func (e *startFailingEngine) ContainerStart(ctx context.Context, id string) error {
	err := e.Client.ContainerStart(ctx, id)
	var refused *startRefused
	if errors.As(err, &refused) {
		code := 128
		switch lower := strings.ToLower(refused.msg); {
		case strings.Contains(lower, "permission denied"):
			code = 126
		case strings.Contains(lower, "executable file not found"), strings.Contains(lower, "no such file or directory"):
			code = 127
		}
		in, ierr := e.Client.ContainerInspect(ctx, id)
		if ierr == nil {
			e.mu.Lock()
			e.refused[in.ID], e.errors[in.ID] = code, refused.msg
			e.mu.Unlock()
		}
	}
	return err
}

func (e *startFailingEngine) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	in, err := e.Client.ContainerInspect(ctx, id)
	if err != nil || in.State == nil || in.State.Status != container.StateCreated {
		return in, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if code, ok := e.refused[in.ID]; ok {
		in.State.ExitCode, in.State.Error = code, e.errors[in.ID]
	}
	return in, nil
}

// checkCannotRunTimes: a kubelet on Docker (dockershim docker_container.go
// ContainerStatus, cri-dockerd core/container_status.go, "Case 2: container
// has failed to start") reports startedAt and finishedAt as the container's
// creation time, "to avoid the confusion" of Docker's zero times.
//
// BUG (vk-docker): terminatedState (pod_status.go, case inst.startFailed())
// sets finishedAt to the creation time but keeps Docker's zero StartedAt, so
// the API gets startedAt null.
func checkCannotRunTimes(t *testing.T, what string, got *v1.ContainerStateTerminated, created time.Time) {
	t.Helper()
	if got == nil {
		return
	}
	if !got.StartedAt.Time.Equal(created) || !got.FinishedAt.Time.Equal(created) {
		t.Errorf("%s startedAt %v finishedAt %v, want both the creation time %v (dockershim/cri-dockerd)", what, got.StartedAt.Time, got.FinishedAt.Time, created)
	}
}

// runtimeErr is how the engine words a start the runtime refused for a
// reason other than the command (Docker records exit code 128).
const runtimeErr = "failed to create task for container: failed to create shim task: OCI runtime create failed: " +
	"runc create failed: unable to start container process: error during container init: unable to apply apparmor profile: unknown"

// A container the engine cannot start is reported the way a kubelet on
// Docker does (dockershim, cri-dockerd): terminated, reason
// ContainerCannotRun, the engine's exit code and error, and restarted per
// restart policy, with the back-off.
func TestAContainerThatCannotStart(t *testing.T) {
	for _, policy := range []v1.RestartPolicy{v1.RestartPolicyAlways, v1.RestartPolicyOnFailure, v1.RestartPolicyNever} {
		t.Run(string(policy), func(t *testing.T) {
			h := newHarness(t)
			e := newStartFailingEngine(h)
			e.refuseStarts("app", runtimeErr)
			pod := newPod(appContainer())
			pod.Spec.RestartPolicy = policy
			w := NewWorker(h.rt, pod, true)
			h.clock.Step(time.Second)
			h.sync(w)

			first := h.inspect(dockerName(pod, "app", 0))
			if first.State.Status != container.StateCreated {
				t.Fatalf("attempt 0 is %s, want created (its start was refused)", first.State.Status)
			}
			created := t0.Add(time.Second)
			s := h.status()
			cs := containerStatus(t, s, "app")
			checkTerminated(t, "state.terminated", cs.State.Terminated, first.ID, 128, ReasonContainerCannotRun, created)
			checkCannotRunTimes(t, "state.terminated", cs.State.Terminated, created)
			if term := cs.State.Terminated; term != nil && term.Message != runtimeErr {
				t.Errorf("state.terminated.message = %q, want the engine's error", term.Message)
			}
			if cs.Ready || ptr.Deref(cs.Started, false) {
				t.Errorf("ready %v started %v, want neither", cs.Ready, ptr.Deref(cs.Started, false))
			}
			if got := h.events(); !slices.Contains(got, `Warning Failed Error: failed to start container "app": `+runtimeErr) {
				t.Errorf("events = %q, want the kubelet's Failed event with the error", got)
			}
			if policy == v1.RestartPolicyNever {
				if s.Phase != v1.PodFailed {
					t.Errorf("phase = %s, want Failed", s.Phase)
				}
				h.docker.ResetCalls()
				for range 3 {
					h.clock.Step(10 * time.Minute)
					h.sync(w)
				}
				if got := h.created(); len(got) != 0 {
					t.Errorf("restartPolicy Never, yet %q were created", got)
				}
				if got := containerStatus(t, h.status(), "app"); got.State.Terminated == nil || got.State.Terminated.Reason != ReasonContainerCannotRun {
					t.Errorf("state = %+v, want terminated ContainerCannotRun", got.State)
				}
				return
			}
			if s.Phase != v1.PodRunning {
				t.Errorf("phase = %s, want Running (the container is restarted)", s.Phase)
			}

			// The engine's create event wakes the worker: the first restart
			// is at once, the next one is held back, counted from the failure.
			h.docker.ResetCalls()
			h.sync(w)
			if got := h.created(); !slices.Equal(got, []string{dockerName(pod, "app", 1)}) {
				t.Fatalf("created %q, want attempt 1 at once", got)
			}
			second := h.inspect(dockerName(pod, "app", 1)).ID
			if next := h.sync(w); next != backOffInitial {
				t.Errorf("attempt 1 failed to start: next look in %v, want %v", next, backOffInitial)
			}
			cs = containerStatus(t, h.status(), "app")
			want := fmt.Sprintf("back-off 10s restarting failed container=app pod=%s", podRef)
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonCrashLoopBackOff || cs.State.Waiting.Message != want {
				t.Errorf("state = %+v, want waiting CrashLoopBackOff %q", cs.State, want)
			}
			checkTerminated(t, "lastState.terminated", cs.LastTerminationState.Terminated, second, 128, ReasonContainerCannotRun, created)
			if cs.RestartCount != 1 {
				t.Errorf("restartCount = %d, want 1", cs.RestartCount)
			}
			if got := backOffEvents(h.events()); len(got) != 1 {
				t.Errorf("BackOff events %q, want one", got)
			}
			h.clock.Step(backOffInitial - time.Millisecond)
			h.sync(w)
			if got := h.created(); len(got) != 1 {
				t.Errorf("created %q during the back-off", got)
			}

			// Once the engine can start it again, the next attempt runs and
			// lastState keeps the failed start.
			e.refuseStarts("app", "")
			h.clock.Step(time.Millisecond)
			h.docker.ResetCalls()
			h.sync(w)
			if got := h.created(); !slices.Equal(got, []string{dockerName(pod, "app", 2)}) {
				t.Fatalf("created %q, want attempt 2 after the back-off", got)
			}
			if _, ok := h.podContainers(testUID)[dockerName(pod, "app", 0)]; ok {
				t.Error("attempt 0 is still on the engine after attempt 2 started")
			}
			cs = containerStatus(t, h.status(), "app")
			if cs.State.Running == nil || cs.RestartCount != 2 {
				t.Errorf("status = %+v, want attempt 2 running with restartCount 2", cs)
			}
			checkTerminated(t, "lastState.terminated", cs.LastTerminationState.Terminated, second, 128, ReasonContainerCannotRun, created)
			if s := h.status(); s.Phase != v1.PodRunning {
				t.Errorf("phase = %s, want Running", s.Phase)
			}
		})
	}
}

// The exit code is the one Docker recorded (daemon/errors.go
// setExitCodeFromError), as a kubelet on Docker reports it.
func TestAContainerThatCannotStartReportsTheEnginesExitCode(t *testing.T) {
	const prefix = "failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: "
	for _, c := range []struct {
		name, msg string
		code      int32
	}{
		{"a missing executable", prefix + `exec: "/bin/app": stat /bin/app: no such file or directory: unknown`, 127},
		{"permission denied", prefix + `exec: "/bin/app": permission denied: unknown`, 126},
		{"another runtime error", runtimeErr, 128},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			newStartFailingEngine(h).refuseStarts("app", c.msg)
			pod := newPod(appContainer())
			pod.Spec.RestartPolicy = v1.RestartPolicyNever
			w := NewWorker(h.rt, pod, true)
			h.sync(w)
			s := h.status()
			term := containerStatus(t, s, "app").State.Terminated
			if term == nil || term.Reason != ReasonContainerCannotRun || term.ExitCode != c.code || term.Message != c.msg {
				t.Errorf("state.terminated = %+v, want ContainerCannotRun, exit code %d, the engine's error", term, c.code)
			}
			if s.Phase != v1.PodFailed {
				t.Errorf("phase = %s, want Failed", s.Phase)
			}
		})
	}
}
