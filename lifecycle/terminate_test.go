package lifecycle

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// deleted is pod as the API hands it over once deleted with grace seconds.
func deleted(pod *v1.Pod, at time.Time, grace int64) *v1.Pod {
	pod = pod.DeepCopy()
	pod.DeletionTimestamp = ptr.To(metav1.NewTime(at.Add(time.Duration(grace) * time.Second)))
	pod.DeletionGracePeriodSeconds = ptr.To(grace)
	return pod
}

func TestTerminationFollowsTheKubeletsOrder(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	w := h.running(pod)
	appName, sideName, sbName := dockerName(pod, "app", 0), dockerName(pod, "sidecar", 0), dockerName(pod, "POD", 0)
	app, side, sb := h.inspect(appName).ID, h.inspect(sideName).ID, h.inspect(sbName).ID
	h.docker.IgnoreSignal(appName, "SIGQUIT") // app shrugs off its stop signal
	h.events()
	h.docker.ResetCalls()
	before := len(h.notifications())

	w.Delete(deleted(pod, t0, 30))
	if !w.Terminating() {
		t.Fatal("Terminating() = false after Delete")
	}

	// Stop signals: the image's STOPSIGNAL for app, SIGTERM for the sidecar.
	if next := h.sync(w); next != killAfter(30*time.Second) {
		t.Errorf("next look in %v, want at the deadline (%v)", next, killAfter(30*time.Second))
	}
	if got := h.docker.Signals(app); !slices.Equal(got, []string{"SIGQUIT"}) {
		t.Errorf("app signals = %q, want [SIGQUIT]", got)
	}
	if got := h.docker.Signals(side); !slices.Equal(got, []string{"SIGTERM"}) {
		t.Errorf("sidecar signals = %q, want [SIGTERM]", got)
	}
	// Like the kubelet, the worker stops containers in no particular order.
	if got := sorted(h.events()); !slices.Equal(got, []string{"Normal Killing Stopping container app", "Normal Killing Stopping container sidecar"}) {
		t.Errorf("events = %q", got)
	}
	if got := h.docker.Signals(sb); len(got) != 0 {
		t.Errorf("the sandbox was signalled while containers ran: %q", got)
	}

	// Within the grace period nothing more is sent.
	h.clock.Step(killAfter(30*time.Second) - time.Second)
	if next, want := h.sync(w), time.Second; next != want {
		t.Errorf("next look in %v, want %v", next, want)
	}
	if got := h.docker.Signals(app); len(got) != 1 {
		t.Errorf("app signals before the deadline = %q", got)
	}

	// At the deadline: SIGKILL, once.
	h.clock.Step(time.Second)
	h.sync(w)
	if got := h.docker.Signals(app); !slices.Equal(got, []string{"SIGQUIT", "SIGKILL"}) {
		t.Errorf("app signals = %q, want SIGKILL after the deadline", got)
	}

	// Then the sandbox stops, then the status is final, then all is removed.
	h.sync(w)
	if got := h.docker.Signals(sb); !slices.Equal(got, []string{"SIGTERM"}) {
		t.Errorf("sandbox signals = %q", got)
	}
	h.sync(w)

	ns := h.notifications()[before:]
	if len(ns) == 0 {
		t.Fatal("no status was reported during termination")
	}
	final := ns[len(ns)-1]
	s := final.pod.Status
	if s.Phase != v1.PodFailed {
		t.Errorf("final phase = %s, want Failed (exit codes 137 and 143)", s.Phase)
	}
	for name, code := range map[string]int32{"app": 137, "sidecar": 143} {
		if term := containerStatus(t, s, name).State.Terminated; term == nil || term.ExitCode != code || term.Reason != ReasonError {
			t.Errorf("%s final state = %+v, want terminated with %d", name, term, code)
		}
	}
	for _, ct := range []v1.PodConditionType{v1.PodReadyToStartContainers, v1.ContainersReady, v1.PodReady} {
		if c := podCondition(s, ct); c == nil || c.Status != v1.ConditionFalse {
			t.Errorf("final %s = %+v, want False", ct, c)
		}
	}
	if final.pod.DeletionTimestamp == nil {
		t.Error("the reported pod lost its deletionTimestamp")
	}

	calls := h.docker.Calls()
	firstRemoval := slices.IndexFunc(calls, func(c string) bool {
		return strings.HasPrefix(c, "ContainerRemove ") || strings.HasPrefix(c, "VolumeRemove ")
	})
	if firstRemoval < 0 || firstRemoval < final.calls {
		t.Errorf("the terminal status was reported after call %d, but removal began at call %d: %q", final.calls, firstRemoval, calls)
	}
	kills := h.calls("ContainerKill")
	wantKills := [][]string{
		{"ContainerKill " + app + " SIGQUIT", "ContainerKill " + side + " SIGTERM"}, // together
		{"ContainerKill " + app + " SIGKILL"},
		{"ContainerKill " + sb + " SIGTERM"},
	}
	for _, want := range wantKills {
		if len(kills) < len(want) || !slices.Equal(sorted(kills[:len(want)]), sorted(want)) {
			t.Fatalf("kills %q, want next %q", kills, want)
		}
		kills = kills[len(want):]
	}

	if got := h.podContainers(testUID); len(got) != 0 {
		t.Errorf("containers left: %v", got)
	}
	if got := h.podVolumes(testUID); len(got) != 0 {
		t.Errorf("volumes left: %q", got)
	}
	if all, _ := h.docker.VolumeList(h.ctx); len(all) != 0 {
		t.Errorf("volumes left on the engine: %v", all)
	}
	if w.Pod() != nil {
		t.Error("Pod() still returns the removed pod")
	}
}

func TestTerminalPhaseFollowsExitCodes(t *testing.T) {
	cases := []struct {
		name      string
		onSignal  func(id, name, signal string) (bool, int)
		wantPhase v1.PodPhase
	}{
		{"containers exit 0 on their stop signal", func(string, string, string) (bool, int) { return true, 0 }, v1.PodSucceeded},
		{"containers die of their stop signal", nil, v1.PodFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			pod := twoContainerPod()
			w := h.running(pod)
			h.docker.SetSignalHandler(c.onSignal)
			w.Delete(deleted(pod, t0, 30))
			for range 3 { // stop containers, stop the sandbox, report and remove
				h.sync(w)
			}
			if got := h.status().Phase; got != c.wantPhase {
				t.Errorf("final phase = %s, want %s", got, c.wantPhase)
			}
			if w.Pod() != nil {
				t.Error("the pod was not removed")
			}
		})
	}
}

// A forced deletion (grace 0) still gives the containers the kubelet's
// minimum grace (minimumGracePeriodInSeconds, 2 s) between their stop signal
// and SIGKILL, so a TERM handler gets its chance (seed section 9.5).
func TestZeroGraceStillGetsTheKubeletsMinimumGrace(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	w := h.running(pod)
	h.docker.IgnoreSignal(dockerName(pod, "app", 0), "SIGQUIT")
	h.docker.IgnoreSignal(dockerName(pod, "sidecar", 0), "SIGTERM")
	h.events()
	w.Delete(deleted(pod, t0, 0))
	if next := h.sync(w); next != minimumKillGrace {
		t.Errorf("next look in %v, want the minimum grace %v", next, minimumKillGrace)
	}
	signals := func() []string {
		var out []string
		for _, c := range []string{"app", "sidecar"} {
			for _, s := range h.docker.Signals(dockerName(pod, c, 0)) {
				out = append(out, c+" "+s)
			}
		}
		return out
	}
	if got, want := signals(), []string{"app SIGQUIT", "sidecar SIGTERM"}; !slices.Equal(got, want) {
		t.Errorf("signals at the deletion = %q, want the stop signals %q", got, want)
	}
	want := []string{"Normal Killing Stopping container app", "Normal Killing Stopping container sidecar"}
	if got := sorted(h.events()); !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	h.clock.Step(minimumKillGrace)
	h.sync(w)
	if got, want := signals(), []string{"app SIGQUIT", "app SIGKILL", "sidecar SIGTERM", "sidecar SIGKILL"}; !slices.Equal(got, want) {
		t.Errorf("signals 2 s after the deletion = %q, want SIGKILL after the stop signals: %q", got, want)
	}
}

func TestLaterDeleteShortensButNeverExtendsTheGracePeriod(t *testing.T) {
	h := newHarness(t)
	pod := newPod(sidecarContainer())
	w := h.running(pod)
	name := dockerName(pod, "sidecar", 0)
	h.docker.IgnoreSignal(name, "SIGTERM")

	w.Delete(deleted(pod, t0, 30))
	if next := h.sync(w); next != killAfter(30*time.Second) {
		t.Fatalf("next look in %v, want %v", next, killAfter(30*time.Second))
	}
	steps := []struct {
		after     time.Duration // clock step before the Delete
		grace     int64
		wantUntil time.Duration // time left to the deadline afterwards
	}{
		// The first Delete's kill is due at killAfter(30s).
		{10 * time.Second, 60, killAfter(30*time.Second) - 10*time.Second}, // would end at 70s: ignored
		{0, 30, killAfter(30*time.Second) - 10*time.Second},                // the same request again
		{0, 5, killAfter(5 * time.Second)},                                 // ends at 10s+killAfter(5s): shortened
		{time.Second, 10, killAfter(5*time.Second) - time.Second},          // would end later: ignored
	}
	for _, s := range steps {
		h.clock.Step(s.after)
		w.Delete(deleted(pod, h.clock.Now(), s.grace))
		if next := h.sync(w); next != s.wantUntil {
			t.Errorf("after a Delete with grace %d: next look in %v, want %v", s.grace, next, s.wantUntil)
		}
	}
	if got := h.docker.Signals(name); !slices.Equal(got, []string{"SIGTERM"}) {
		t.Errorf("signals before the deadline = %q", got)
	}
	h.clock.Step(4 * time.Second) // t0+15s
	h.sync(w)
	if got := h.docker.Signals(name); !slices.Equal(got, []string{"SIGTERM", "SIGKILL"}) {
		t.Errorf("signals at the shortened deadline = %q", got)
	}
}

func TestDeleteUsesTheSpecGraceWithoutADeletionGrace(t *testing.T) {
	h := newHarness(t)
	pod := newPod(sidecarContainer())
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](7)
	w := h.running(pod)
	w.Delete(pod) // e.g. the predecessor of a pod of the same name
	if next := h.sync(w); next != killAfter(7*time.Second) {
		t.Errorf("next look in %v, want the spec's 7s (less the status margin)", next)
	}
}

// TestRunDrivesAPodFromCreationToRemoval runs the worker's own loop, woken
// by the engine's events as the provider does, with no clock steps: every
// step of a zero-grace termination is triggered by a container dying.
func TestRunDrivesAPodFromCreationToRemoval(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	w := NewWorker(h.rt, pod, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, _ := h.docker.Events(ctx, time.Time{}, dockerhost.PodSelector(string(testUID)))
	go func() {
		for {
			select {
			case <-msgs:
				w.Wake()
			case <-ctx.Done():
				return
			}
		}
	}()
	go w.Run(ctx)

	waitFor(t, "the pod to run", func() bool {
		n := h.notifications()
		return len(n) > 0 && n[len(n)-1].pod.Status.Phase == v1.PodRunning
	})
	w.Delete(deleted(pod, t0, 0))
	select {
	case <-w.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("the worker did not finish; engine calls: %q", h.docker.Calls())
	}
	h.mu.Lock()
	removed := slices.Clone(h.removed)
	h.mu.Unlock()
	if !slices.Equal(removed, []types.UID{testUID}) {
		t.Errorf("Removed calls = %v, want one for the pod", removed)
	}
	if got := h.podContainers(testUID); len(got) != 0 {
		t.Errorf("containers left: %v", got)
	}
	if got := h.podVolumes(testUID); len(got) != 0 {
		t.Errorf("volumes left: %q", got)
	}
	if got := h.status().Phase; got != v1.PodFailed {
		t.Errorf("final phase = %s, want Failed", got)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// waitFor polls cond; it is only used where another goroutine acts.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A pod deleted before any container ran ends Failed, as the kubelet's
// status manager marks every terminated pod that did not finish on its own
// (TerminatePod); its containers, never started, stay waiting.
func TestADeletedPodThatNeverStartedEndsFailed(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	pod.Spec.Volumes = append(pod.Spec.Volumes, v1.Volume{Name: "data", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}})
	w := NewWorker(h.rt, pod, true)
	h.sync(w)
	if got := h.status().Phase; got != v1.PodPending {
		t.Fatalf("phase = %s, want Pending", got)
	}
	w.Delete(deleted(pod, t0, 30))
	h.sync(w)

	s := h.status()
	if s.Phase != v1.PodFailed {
		t.Errorf("final phase = %s, want Failed", s.Phase)
	}
	for _, cs := range s.ContainerStatuses {
		if cs.State.Waiting == nil {
			t.Errorf("%s state = %+v, want still waiting", cs.Name, cs.State)
		}
	}
	if w.Pod() != nil {
		t.Error("the pod was not removed")
	}
}
