//go:build e2e_timing

package e2e

// Pod lifecycle as the kubelet has it (issue 3): restart policies,
// CrashLoopBackOff, init containers, native sidecars, termination and
// activeDeadlineSeconds, checked the way a user sees them: the pod's status,
// its events, `kubectl get pod`, and the status timestamps. Every reason,
// message and timing asserted here is the kubelet's (k8s.io/kubernetes
// v1.37.2, pkg/kubelet); the comments name the place.
//
// Timestamps in the API have a precision of one second (RFC 3339), so a
// duration read from two of them is within a second of the real one, and a
// duration from a local clock reading to an API timestamp is up to a second
// short.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Seed section 6: a pod whose containers run to completion ends Succeeded or
// Failed by their exit codes, with the kubelet's reasons, and keeps its
// containers on the engine (for `kubectl logs`) until it is deleted.
func TestLifecycleRunToCompletion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		policy   v1.RestartPolicy
		app      v1.Container
		phase    v1.PodPhase
		reason   string // the container's terminated reason, and the STATUS column
		exitCode int32
		ran      [2]time.Duration // bounds of finishedAt - startedAt
		logs     string
		ready    string // the Ready condition's reason (status/generate.go generatePodReadyConditionForTerminalPhase)
	}{
		{
			name:   "never-sleep-3-succeeds",
			policy: v1.RestartPolicyNever,
			app: v1.Container{Name: "app", Image: env.BusyboxImage(), ImagePullPolicy: v1.PullIfNotPresent,
				Command: []string{"sleep", "3"}},
			phase: v1.PodSucceeded, reason: "Completed", exitCode: 0,
			ran: [2]time.Duration{2 * time.Second, 4 * time.Second}, ready: "PodCompleted",
		},
		{
			name:   "never-exit-1-fails",
			policy: v1.RestartPolicyNever,
			app:    busybox("app", "echo about to fail; sleep 1; exit 1"),
			phase:  v1.PodFailed, reason: "Error", exitCode: 1,
			ran: [2]time.Duration{0, 2 * time.Second}, logs: "about to fail", ready: "PodFailed",
		},
		{
			name:   "onfailure-exit-0-succeeds",
			policy: v1.RestartPolicyOnFailure,
			app: v1.Container{Name: "app", Image: env.BusyboxImage(), ImagePullPolicy: v1.PullIfNotPresent,
				Command: []string{"sleep", "1"}},
			phase: v1.PodSucceeded, reason: "Completed", exitCode: 0,
			ran: [2]time.Duration{0, 2 * time.Second}, ready: "PodCompleted",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ns := namespace(t)
			p := pod("run-to-completion", c.app)
			p.Spec.RestartPolicy = c.policy
			created := createPod(t, ns, p)
			w := env.WatchPod(t, created)
			final := w.WaitFor(t, 30*time.Second, "phase "+string(c.phase), func(p *v1.Pod) bool {
				return p.Status.Phase == c.phase
			}).Pod

			cs := framework.StatusOf(final, "app")
			switch {
			case cs == nil || cs.State.Terminated == nil:
				t.Fatalf("app status = %s, want terminated", framework.Dump(cs))
			case cs.State.Terminated.Reason != c.reason || cs.State.Terminated.ExitCode != c.exitCode || cs.RestartCount != 0:
				t.Errorf("app terminated %s, restartCount %d; want reason %s, exitCode %d, no restarts",
					framework.Dump(cs.State.Terminated), cs.RestartCount, c.reason, c.exitCode)
			}
			if term := cs.State.Terminated; term != nil {
				if ran := term.FinishedAt.Sub(term.StartedAt.Time); ran < c.ran[0] || ran > c.ran[1] {
					t.Errorf("app ran from %v to %v (%v), want between %v and %v", term.StartedAt, term.FinishedAt, ran, c.ran[0], c.ran[1])
				}
			}
			for _, v := range w.All() {
				if n := framework.StatusOf(v.Pod, "app"); n != nil && n.RestartCount != 0 {
					t.Errorf("app was restarted (restartCount %d) under restartPolicy %s", n.RestartCount, c.policy)
					break
				}
			}
			if cond := framework.ConditionOf(final, v1.PodReady); cond == nil || cond.Status != v1.ConditionFalse || cond.Reason != c.ready {
				t.Errorf("Ready condition = %s, want False with reason %s", framework.Dump(cond), c.ready)
			}
			env.WaitKubectlStatus(t, ns, p.Name, 10*time.Second, c.reason)

			// The container stays on the engine for `kubectl logs`.
			list, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID)), dockerhost.LabelContainerName+"=app")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].State == "running" {
				t.Errorf("app containers on the engine: %s, want the one exited container", framework.Dump(list))
			}
			if c.logs != "" {
				out, err := env.Kubectl(ctx, "-n", ns, "logs", p.Name)
				if err != nil || !strings.Contains(out, c.logs) {
					t.Errorf("kubectl logs of the finished pod = %q (%v), want %q", out, err, c.logs)
				}
			}
			// And the phase is final.
			if got := w.Latest().Pod; got.Status.Phase != c.phase {
				t.Errorf("phase went from %s to %s", c.phase, got.Status.Phase)
			}
		})
	}
}

// A terminated container's message is what it wrote to its
// terminationMessagePath, or with FallbackToLogsOnError and a failure, the
// end of its log (kuberuntime_container.go getTerminationMessage,
// readLastStringFromContainerLogs).
func TestLifecycleTerminationMessage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		script   string
		path     string
		policy   v1.TerminationMessagePolicy
		exitCode int32
		message  string
	}{
		{name: "default-path", script: "printf bye > /dev/termination-log; exit 3", exitCode: 3, message: "bye"},
		{name: "custom-path", script: "printf custom > /tmp/message; exit 0", path: "/tmp/message", message: "custom"},
		{name: "fallback-to-logs-on-error", script: "echo first; echo last words; exit 2",
			policy: v1.TerminationMessageFallbackToLogsOnError, exitCode: 2, message: "first\nlast words\n"},
		{name: "no-fallback-on-success", script: "echo hello; exit 0",
			policy: v1.TerminationMessageFallbackToLogsOnError, exitCode: 0, message: ""},
		{name: "file-wins-over-logs", script: "echo noise; printf from-file > /dev/termination-log; exit 1",
			policy: v1.TerminationMessageFallbackToLogsOnError, exitCode: 1, message: "from-file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			app := busybox("app", c.script)
			app.TerminationMessagePath, app.TerminationMessagePolicy = c.path, c.policy
			p := pod("message", app)
			p.Spec.RestartPolicy = v1.RestartPolicyNever
			w := env.WatchPod(t, createPod(t, ns, p))
			done := w.WaitFor(t, 30*time.Second, "finished", func(p *v1.Pod) bool {
				return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
			}).Pod
			cs := framework.StatusOf(done, "app")
			if cs == nil || cs.State.Terminated == nil {
				t.Fatalf("app status = %s, want terminated", framework.Dump(cs))
			}
			if term := cs.State.Terminated; term.ExitCode != c.exitCode || term.Message != c.message {
				t.Errorf("app terminated with exit code %d, message %q; want %d, %q", term.ExitCode, term.Message, c.exitCode, c.message)
			}
		})
	}
}

// restartPolicy OnFailure restarts a container that exits 1: restartCount
// only grows, lastState holds the previous run (exit code 1, reason Error),
// the pod stays Running, and the pauses between runs grow with the
// kubelet's back-off (0, 10 s, 20 s).
func TestLifecycleOnFailureRestartsWithGrowingIntervals(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := pod("on-failure", busybox("app", "sleep 1; exit 1"))
	p.Spec.RestartPolicy = v1.RestartPolicyOnFailure
	w := env.WatchPod(t, createPod(t, ns, p))
	w.WaitFor(t, 60*time.Second, "restarted 3 times", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "app")
		return cs != nil && cs.RestartCount >= 3
	})

	versions := w.All()
	var counts []int32
	for _, v := range versions {
		if v.Pod.Status.Phase == v1.PodFailed || v.Pod.Status.Phase == v1.PodSucceeded {
			t.Errorf("pod reached phase %s under OnFailure with a failing container:\n%s", v.Pod.Status.Phase, framework.Dump(v.Pod.Status))
			break
		}
		cs := framework.StatusOf(v.Pod, "app")
		if cs == nil {
			continue
		}
		if len(counts) == 0 || counts[len(counts)-1] != cs.RestartCount {
			counts = append(counts, cs.RestartCount)
		}
		if last := cs.LastTerminationState.Terminated; last != nil && (last.ExitCode != 1 || last.Reason != "Error") {
			t.Errorf("lastState.terminated = %s, want exitCode 1, reason Error", framework.Dump(last))
		}
		if cs.RestartCount > 0 && cs.LastTerminationState.Terminated == nil {
			t.Errorf("restartCount %d without lastState.terminated: %s", cs.RestartCount, framework.Dump(cs))
		}
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] != counts[i-1]+1 {
			t.Errorf("restartCount went %v; want it to step up by one per restart, never down", counts)
			break
		}
	}

	runs := framework.InstancesOf(t, versions, "app")
	gaps := framework.RestartGaps(t, runs)
	t.Logf("runs: %s; gaps: %v", runs, gaps)
	if len(gaps) < 3 {
		t.Fatalf("saw %d restarts with both timestamps, want 3", len(gaps))
	}
	// "At once" on whole-second timestamps, with the engine's create and
	// start in between (see TestLifecycleCrashLoopBackOff).
	if gaps[0] > 2*time.Second {
		t.Errorf("first restart after %v, want it at once", gaps[0])
	}
	for i := 1; i < 3; i++ {
		if gaps[i] < gaps[i-1]+5*time.Second {
			t.Errorf("pauses between runs %v do not grow (back-off 0, 10s, 20s)", gaps[:3])
			break
		}
	}
	for _, r := range runs[:len(runs)-1] {
		if r.Finished.IsZero() {
			continue // never reported terminated (see restartGaps)
		}
		if r.ExitCode != 1 || r.Reason != "Error" {
			t.Errorf("run %s ended with %d/%s, want 1/Error", r.ID, r.ExitCode, r.Reason)
		}
	}
}

// A container that keeps crashing under restartPolicy Always is restarted
// with the kubelet's back-off: at once, then after 10 s, 20 s, 40 s
// (kubelet.go initialCrashLoopBackOff, flowcontrol doubling;
// kuberuntime_manager.go doBackOff measures from the last run's finishedAt).
// Meanwhile it waits with reason CrashLoopBackOff and the kubelet's message,
// a BackOff Warning event is recorded, and `kubectl get pod` says
// CrashLoopBackOff. About 80 s.
func TestLifecycleCrashLoopBackOff(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := pod("crash", busybox("app", "exit 1"))
	created := createPod(t, ns, p)
	w := env.WatchPod(t, created)
	podDesc := fmt.Sprintf("%s_%s(%s)", p.Name, ns, created.UID) // format.Pod

	env.WaitKubectlStatus(t, ns, p.Name, 30*time.Second, "CrashLoopBackOff")
	want := "Back-off restarting failed container app in pod " + podDesc
	env.WaitPodEvent(t, ns, p.Name, 30*time.Second, "Warning BackOff "+want, func(e v1.Event) bool {
		return e.Type == v1.EventTypeWarning && e.Reason == "BackOff" && e.Message == want &&
			e.InvolvedObject.FieldPath == "spec.containers{app}"
	})

	w.WaitFor(t, 120*time.Second, "restarted 4 times", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "app")
		return cs != nil && cs.RestartCount >= 4
	})
	versions := w.All()
	runs := framework.InstancesOf(t, versions, "app")
	gaps := framework.RestartGaps(t, runs)
	t.Logf("runs: %s; gaps: %v", runs, gaps)
	if len(gaps) < 4 {
		t.Fatalf("saw %d restarts with both timestamps, want 4", len(gaps))
	}
	// Status timestamps have whole seconds, and a restart includes the
	// engine's create and start (about a second with other tests running).
	const tolerance = 2 * time.Second
	for i, backOff := range []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second} {
		if d := gaps[i] - backOff; d < -tolerance || d > tolerance {
			t.Errorf("restart %d came %v after the previous run finished, want %v (± %v)", i+1, gaps[i], backOff, tolerance)
		}
	}

	// While it backs off: waiting CrashLoopBackOff with the kubelet's
	// message, the last run in lastState, and the pod Running (getPhase:
	// restartPolicy Always and every container restarting).
	messages := map[string]bool{}
	for _, v := range versions {
		cs := framework.StatusOf(v.Pod, "app")
		if cs == nil || cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" {
			continue
		}
		messages[cs.State.Waiting.Message] = true
		if last := cs.LastTerminationState.Terminated; last == nil || last.ExitCode != 1 || last.Reason != "Error" {
			t.Errorf("in CrashLoopBackOff, lastState = %s; want terminated with exitCode 1, reason Error", framework.Dump(cs.LastTerminationState))
		}
		if v.Pod.Status.Phase != v1.PodRunning {
			t.Errorf("in CrashLoopBackOff the pod is %s, want Running", v.Pod.Status.Phase)
		}
		// status/generate.go GenerateContainersReadyCondition
		if c := framework.ConditionOf(v.Pod, v1.PodReady); c == nil || c.Status != v1.ConditionFalse || c.Reason != "ContainersNotReady" ||
			c.Message != "containers with unready status: [app]" {
			t.Errorf("in CrashLoopBackOff, Ready = %s; want False, ContainersNotReady, %q", framework.Dump(c), "containers with unready status: [app]")
		}
	}
	for _, backOff := range []string{"10s", "20s", "40s"} {
		msg := fmt.Sprintf("back-off %s restarting failed container=app pod=%s", backOff, podDesc)
		if !messages[msg] {
			t.Errorf("the container never waited with message %q; waiting messages seen: %q", msg, keys(messages))
		}
	}
}

// Seed section 11: init containers run one at a time, each to completion,
// before the app container starts. Two init containers and the app append
// lines with /proc/uptime (one clock for every container, 10 ms steps) to a
// shared emptyDir; the file's order proves the sequence, and the statuses
// agree. While init-2 runs the pod is Pending, not Initialized, and
// `kubectl get pod` shows Init:1/2.
func TestLifecycleInitContainersRunInOrder(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	const stamp = `$(cut -d' ' -f1 /proc/uptime)`
	initStep := func(name string, seconds int) v1.Container {
		return busybox(name, fmt.Sprintf(`echo "%[1]s start %[2]s" >> /data/order; sleep %[3]d; echo "%[1]s end %[2]s" >> /data/order`, name, stamp, seconds))
	}
	p := pod("init-order", busybox("app", `echo "app start `+stamp+`" >> /data/order; trap 'exit 0' TERM; while true; do sleep 1 & wait; done`))
	p.Spec.InitContainers = []v1.Container{initStep("init-1", 2), initStep("init-2", 3)}
	framework.WithSharedDir(p)
	w := env.WatchPod(t, createPod(t, ns, p))

	during := w.WaitFor(t, 30*time.Second, "running init-2", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "init-2")
		return cs != nil && cs.State.Running != nil
	}).Pod
	if during.Status.Phase != v1.PodPending {
		t.Errorf("phase while init-2 runs = %s, want Pending", during.Status.Phase)
	}
	// status/generate.go GeneratePodInitializedCondition
	if c := framework.ConditionOf(during, v1.PodInitialized); c == nil || c.Status != v1.ConditionFalse ||
		c.Reason != "ContainersNotInitialized" || c.Message != "containers with incomplete status: [init-2]" {
		t.Errorf("Initialized while init-2 runs = %s, want False, ContainersNotInitialized, %q", framework.Dump(c), "containers with incomplete status: [init-2]")
	}
	if cs := framework.StatusOf(during, "init-1"); cs == nil || cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" {
		t.Errorf("init-1 while init-2 runs: %s, want terminated Completed", framework.Dump(cs))
	}
	if cs := framework.StatusOf(during, "app"); cs == nil || cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" {
		t.Errorf("app while init-2 runs: %s, want waiting PodInitializing", framework.Dump(cs))
	}
	if c := framework.ConditionOf(during, v1.PodReadyToStartContainers); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("PodReadyToStartContainers while init-2 runs = %s, want True (the sandbox is up)", framework.Dump(c))
	}
	env.WaitKubectlStatus(t, ns, p.Name, 10*time.Second, "Init:1/2")

	running := waitRunning(t, ns, p.Name)
	initialized := framework.ConditionOf(running, v1.PodInitialized)
	if initialized == nil || initialized.Status != v1.ConditionTrue {
		t.Errorf("Initialized once running = %s, want True", framework.Dump(initialized))
	}
	// While init-1 runs, init-2 and app wait with reason PodInitializing
	// (kubelet_pods.go convertToAPIContainerStatuses' default waiting state).
	var sawInit1Running bool
	for _, v := range w.All() {
		if cs := framework.StatusOf(v.Pod, "init-1"); cs == nil || cs.State.Running == nil {
			continue
		}
		sawInit1Running = true
		for _, name := range []string{"init-2", "app"} {
			if cs := framework.StatusOf(v.Pod, name); cs == nil || cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" {
				t.Errorf("%s while init-1 runs: %s, want waiting PodInitializing", name, framework.Dump(cs))
			}
		}
	}
	if !sawInit1Running {
		t.Errorf("init-1 was never reported running")
	}
	var previousEnd time.Time
	for _, name := range []string{"init-1", "init-2"} {
		cs := framework.StatusOf(running, name)
		if cs == nil || cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" || cs.State.Terminated.ExitCode != 0 || cs.RestartCount != 0 {
			t.Errorf("%s once the pod runs: %s, want terminated Completed with exit code 0, no restarts", name, framework.Dump(cs))
			continue
		}
		term := cs.State.Terminated
		if term.StartedAt.Time.Before(previousEnd) {
			t.Errorf("%s started at %v, before the previous init container finished at %v", name, term.StartedAt, previousEnd)
		}
		previousEnd = term.FinishedAt.Time
	}
	if app := framework.StatusOf(running, "app"); app == nil || app.State.Running == nil || app.State.Running.StartedAt.Time.Before(previousEnd) {
		t.Errorf("app: %s; want running, started no earlier than init-2 finished (%v)", framework.Dump(app), previousEnd)
	}
	if initialized != nil && initialized.LastTransitionTime.Time.Before(previousEnd) {
		t.Errorf("Initialized turned True at %v, before init-2 finished (%v)", initialized.LastTransitionTime, previousEnd)
	}
	for _, name := range []string{"init-1", "init-2"} {
		field := "spec.initContainers{" + name + "}"
		env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Normal Started "+field, func(e v1.Event) bool {
			return e.Type == v1.EventTypeNormal && e.Reason == "Started" && e.InvolvedObject.FieldPath == field
		})
	}

	order := mustExec(t, ns, p.Name, "app", "cat", "/data/order")
	var labels []string
	var last float64
	for _, line := range strings.Split(strings.TrimSpace(order), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("unexpected line %q in /data/order:\n%s", line, order)
		}
		labels = append(labels, f[0]+" "+f[1])
		at, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if at <= last && len(labels) > 1 {
			t.Errorf("%q is not later than the line before it:\n%s", line, order)
		}
		last = at
	}
	want := []string{"init-1 start", "init-1 end", "init-2 start", "init-2 end", "app start"}
	if strings.Join(labels, ", ") != strings.Join(want, ", ") {
		t.Errorf("/data/order records %q, want %q:\n%s", labels, want, order)
	}
	env.WaitKubectlStatus(t, ns, p.Name, 10*time.Second, "Running")
}

// A failing init container: under restartPolicy Never the pod fails at once
// (getPhase) and shows Init:Error; under Always it is retried with back-off
// and shows Init:CrashLoopBackOff. Either way the app container is never
// created: Docker has no create event for it.
func TestLifecycleFailingInitContainer(t *testing.T) {
	t.Parallel()
	t.Run("never", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		since := time.Now().Add(-time.Second)
		p := pod("init-fails", sleeper("app"))
		p.Spec.RestartPolicy = v1.RestartPolicyNever
		p.Spec.InitContainers = []v1.Container{busybox("init", "echo init failing; exit 1")}
		created := createPod(t, ns, p)
		w := env.WatchPod(t, created)
		failed := w.WaitFor(t, 30*time.Second, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed }).Pod

		if cs := framework.StatusOf(failed, "init"); cs == nil || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 1 ||
			cs.State.Terminated.Reason != "Error" || cs.RestartCount != 0 {
			t.Errorf("init of the failed pod: %s, want terminated exitCode 1, reason Error, no restarts", framework.Dump(cs))
		}
		if c := framework.ConditionOf(failed, v1.PodInitialized); c == nil || c.Status != v1.ConditionFalse {
			t.Errorf("Initialized = %s, want False", framework.Dump(c))
		}
		env.WaitKubectlStatus(t, ns, p.Name, 10*time.Second, "Init:Error")
		for _, v := range w.All() {
			if cs := framework.StatusOf(v.Pod, "init"); cs != nil && cs.RestartCount > 0 {
				t.Errorf("init was restarted under restartPolicy Never: %s", framework.Dump(cs))
				break
			}
		}
		appNeverRan(t, w, created, since)
	})
	t.Run("always", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		since := time.Now().Add(-time.Second)
		p := pod("init-retried", sleeper("app"))
		p.Spec.InitContainers = []v1.Container{busybox("init", "exit 1")}
		created := createPod(t, ns, p)
		podDesc := fmt.Sprintf("%s_%s(%s)", p.Name, ns, created.UID)
		w := env.WatchPod(t, created)

		env.WaitKubectlStatus(t, ns, p.Name, 30*time.Second, "Init:CrashLoopBackOff")
		retried := w.WaitFor(t, 30*time.Second, "init restarted twice", func(p *v1.Pod) bool {
			cs := framework.StatusOf(p, "init")
			return cs != nil && cs.RestartCount >= 2
		}).Pod
		if retried.Status.Phase != v1.PodPending {
			t.Errorf("phase while init is retried = %s, want Pending", retried.Status.Phase)
		}
		if c := framework.ConditionOf(retried, v1.PodInitialized); c == nil || c.Status != v1.ConditionFalse {
			t.Errorf("Initialized = %s, want False", framework.Dump(c))
		}
		msg := "back-off 10s restarting failed container=init pod=" + podDesc
		var backedOff bool
		for _, v := range w.All() {
			cs := framework.StatusOf(v.Pod, "init")
			if cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" {
				backedOff = backedOff || cs.State.Waiting.Message == msg
				if last := cs.LastTerminationState.Terminated; last == nil || last.ExitCode != 1 || last.Reason != "Error" {
					t.Errorf("init in back-off: lastState = %s, want terminated exitCode 1, reason Error", framework.Dump(cs.LastTerminationState))
				}
			}
		}
		if !backedOff {
			t.Errorf("init never waited in CrashLoopBackOff with message %q", msg)
		}
		appNeverRan(t, w, created, since)
	})
}

// A native sidecar (an init container with restartPolicy Always) starts
// before the app container and keeps running beside it; when it dies it is
// restarted while the app runs on undisturbed; when the pod is deleted it
// stops after the app container (kuberuntime_termination_order.go).
//
// The stop order is read from the containers' finishedAt in the last status
// the node reports before the pod object goes away, seen on a watch (the
// emptyDir is gone by then, so the containers cannot leave a note). The app
// takes 2 s to stop and the sidecar stops at once on SIGTERM: stopped
// together, the sidecar would finish two seconds before the app.
func TestLifecycleNativeSidecar(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	const stamp = `$(cut -d' ' -f1 /proc/uptime)`
	always := v1.ContainerRestartPolicyAlways
	sidecar := busybox("sidecar", `echo "sidecar start `+stamp+`" >> /data/log; trap 'exit 7' USR1; trap 'exit 0' TERM; `+
		`while true; do echo "sidecar tick `+stamp+`" >> /data/log; sleep 1 & wait; done`)
	sidecar.RestartPolicy = &always
	p := pod("sidecar", busybox("app", `echo "app start `+stamp+`" >> /data/log; trap 'sleep 2; exit 0' TERM; while true; do sleep 3600 & wait; done`))
	p.Spec.InitContainers = []v1.Container{sidecar}
	grace := int64(10)
	p.Spec.TerminationGracePeriodSeconds = &grace
	framework.WithSharedDir(p)
	w := env.WatchPod(t, createPod(t, ns, p))

	before := waitRunning(t, ns, p.Name)
	sc, app := framework.StatusOf(before, "sidecar"), framework.StatusOf(before, "app")
	if sc == nil || sc.State.Running == nil || sc.Started == nil || !*sc.Started {
		t.Fatalf("sidecar of the running pod: %s, want running and started", framework.Dump(sc))
	}
	if app == nil || app.State.Running == nil {
		t.Fatalf("app of the running pod: %s, want running", framework.Dump(app))
	}
	if app.State.Running.StartedAt.Before(&sc.State.Running.StartedAt) {
		t.Errorf("app started at %v, before the sidecar (%v)", app.State.Running.StartedAt, sc.State.Running.StartedAt)
	}
	first := func(log string) []string {
		var out []string
		for _, line := range strings.Split(log, "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[1] == "start" {
				out = append(out, f[0])
			}
		}
		return out
	}
	if starts := first(mustExec(t, ns, p.Name, "app", "cat", "/data/log")); len(starts) != 2 || starts[0] != "sidecar" || starts[1] != "app" {
		t.Errorf("start lines in the shared log: %q, want sidecar then app", starts)
	}
	if out, err := env.Kubectl(ctx, "-n", ns, "get", "pod", p.Name, "--no-headers"); err != nil || len(strings.Fields(out)) < 2 || strings.Fields(out)[1] != "2/2" {
		t.Errorf("kubectl get pod READY column: %q (%v), want 2/2 (the sidecar counts, printers.go printPod)", out, err)
	}
	env.WaitKubectlStatus(t, ns, p.Name, 10*time.Second, "Running")

	// The sidecar dies (exit 7) and is restarted at once; the app is untouched.
	killedAt := len(w.All())
	// From the background: the container's end takes the exec's processes
	// with it, and a kill that has not exited yet would report 137.
	mustExec(t, ns, p.Name, "sidecar", "sh", "-c", "(sleep 0.2; kill -USR1 1) >/dev/null 2>&1 &")
	restarted := w.WaitFor(t, 30*time.Second, "sidecar restarted", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "sidecar")
		return cs != nil && cs.RestartCount == 1 && cs.State.Running != nil
	}).Pod
	if last := framework.StatusOf(restarted, "sidecar").LastTerminationState.Terminated; last == nil || last.ExitCode != 7 || last.Reason != "Error" {
		t.Errorf("sidecar lastState.terminated = %s, want exitCode 7, reason Error", framework.Dump(last))
	}
	for _, v := range w.All()[killedAt:] {
		if v.Pod.Status.Phase != v1.PodRunning {
			t.Errorf("pod phase %s while the sidecar restarts, want Running (getPhase: the pod has initialized)", v.Pod.Status.Phase)
			break
		}
	}
	afterApp := framework.StatusOf(restarted, "app")
	if afterApp == nil || afterApp.State.Running == nil || afterApp.ContainerID != app.ContainerID || afterApp.RestartCount != 0 ||
		!afterApp.State.Running.StartedAt.Equal(&app.State.Running.StartedAt) {
		t.Errorf("app after the sidecar restart: %s; want the same running container %s", framework.Dump(afterApp), app.ContainerID)
	}
	if starts := first(mustExec(t, ns, p.Name, "app", "cat", "/data/log")); len(starts) != 3 || starts[2] != "sidecar" {
		t.Errorf("start lines in the shared log after the restart: %q, want sidecar, app, sidecar", starts)
	}

	// Deletion: the app stops first, the sidecar after it.
	if _, err := env.Kubectl(ctx, "-n", ns, "delete", "pod", p.Name, "--wait=false"); err != nil {
		t.Fatal(err)
	}
	w.WaitGone(t, 30*time.Second)
	final := w.LastWith(func(p *v1.Pod) bool {
		a, s := framework.StatusOf(p, "app"), framework.StatusOf(p, "sidecar")
		return a != nil && s != nil && a.State.Terminated != nil && s.State.Terminated != nil
	})
	if final == nil {
		t.Fatalf("no status with both containers terminated before the pod was deleted; last status:\n%s", framework.Dump(w.Latest().Pod.Status))
	}
	appEnd, sidecarEnd := framework.StatusOf(final, "app").State.Terminated, framework.StatusOf(final, "sidecar").State.Terminated
	if sidecarEnd.FinishedAt.Before(&appEnd.FinishedAt) {
		t.Errorf("sidecar finished at %v, before the app (%v); want it stopped after the app", sidecarEnd.FinishedAt, appEnd.FinishedAt)
	}
	if appEnd.ExitCode != 0 || sidecarEnd.ExitCode != 0 {
		t.Errorf("exit codes on deletion: app %d, sidecar %d; want both 0 (they exit on SIGTERM)", appEnd.ExitCode, sidecarEnd.ExitCode)
	}
}

// Deleting a pod gives its containers the grace period: one that traps
// SIGTERM and exits 2 s later ends after 2 s with its own exit code; one
// that ignores SIGTERM (sleep as PID 1) is killed when
// terminationGracePeriodSeconds runs out; a forced delete removes the
// containers from the engine at once. Durations run from the moment
// `kubectl delete` is called to the engine's die event for the container
// (nanosecond precision), so the upper bounds include up to a second for
// kubectl to start and the deletion to reach the node; the terminated status
// the node reports before the
// pod object goes away must agree (exit code, reason, finishedAt to the
// second), as the kubelet's status manager only deletes the object once
// that status is written (status_manager.go canBeDeleted).
func TestLifecycleTerminationGracePeriod(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		app      v1.Container
		grace    int64
		exitCode int32
		reason   string
		after    [2]time.Duration // bounds of die - delete
	}{
		{
			name:  "traps-term-exits-after-2s",
			app:   busybox("app", "trap 'sleep 2; exit 0' TERM; while true; do sleep 3600 & wait; done"),
			grace: 10, exitCode: 0, reason: "Completed",
			after: [2]time.Duration{1500 * time.Millisecond, 4 * time.Second},
		},
		{
			name: "ignores-term-killed-at-grace",
			app: v1.Container{Name: "app", Image: env.BusyboxImage(), ImagePullPolicy: v1.PullIfNotPresent,
				Command: []string{"sleep", "3600"}},
			grace: 3, exitCode: 137, reason: "Error",
			after: [2]time.Duration{2 * time.Second, 5 * time.Second},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ns := namespace(t)
			p := pod("graceful", c.app)
			p.Spec.TerminationGracePeriodSeconds = &c.grace
			created := createPod(t, ns, p)
			w := env.WatchPod(t, created)
			waitRunning(t, ns, p.Name)

			deleted := time.Now()
			if _, err := env.Kubectl(ctx, "-n", ns, "delete", "pod", p.Name, "--wait=false"); err != nil {
				t.Fatal(err)
			}
			died, code := env.WaitEngineDie(t, created.UID, "app", deleted, time.Duration(c.grace)*time.Second+10*time.Second)
			if after := died.Sub(deleted); after < c.after[0] || after > c.after[1] {
				t.Errorf("app died %v after kubectl delete, want between %v and %v", after, c.after[0], c.after[1])
			}
			if code != strconv.Itoa(int(c.exitCode)) {
				t.Errorf("app died with exit code %s on the engine, want %d", code, c.exitCode)
			}

			w.WaitGone(t, 20*time.Second)
			if term := w.LastTerminated("app"); term == nil {
				t.Errorf("the pod left the API before its container was reported terminated; last status:\n%s", framework.Dump(w.Latest().Pod.Status))
			} else {
				if term.ExitCode != c.exitCode || term.Reason != c.reason {
					t.Errorf("app reported terminated %s, want exitCode %d, reason %s", framework.Dump(term), c.exitCode, c.reason)
				}
				// finishedAt is the engine's, truncated to the second; the die
				// event comes a few milliseconds after it.
				if d := died.Sub(term.FinishedAt.Time); d < -500*time.Millisecond || d >= 1500*time.Millisecond {
					t.Errorf("app reported finished at %v, the engine saw it die at %v", term.FinishedAt, died)
				}
			}
			if err := env.WaitNoContainers(ctx, created.UID, 10*time.Second); err != nil {
				t.Errorf("containers left on the engine after the pod was deleted: %v", env.ContainerIDs(t, created.UID))
			}
		})
	}
	t.Run("force-delete", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		ns := namespace(t)
		p := pod("forced", v1.Container{Name: "app", Image: env.BusyboxImage(), ImagePullPolicy: v1.PullIfNotPresent,
			Command: []string{"sleep", "3600"}})
		grace := int64(30)
		p.Spec.TerminationGracePeriodSeconds = &grace
		created := createPod(t, ns, p)
		waitRunning(t, ns, p.Name)

		start := time.Now()
		if _, err := env.Kubectl(ctx, "-n", ns, "delete", "pod", p.Name, "--grace-period=0", "--force"); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Client.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("pod still in the API after a forced delete: %v", err)
		}
		if err := env.WaitNoContainers(ctx, created.UID, 10*time.Second); err != nil {
			t.Fatalf("containers still on the engine 10 s after a forced delete: %v", env.ContainerIDs(t, created.UID))
		}
		// sleep, as PID 1, ignores SIGTERM: SIGKILL comes after the
		// kubelet's minimum grace of 2 s, even for a forced deletion.
		if took := time.Since(start); took < 2*time.Second || took > 5*time.Second {
			t.Errorf("the pod's containers were gone %v after a forced delete, want after the minimum grace of 2 s", took)
		}
	})
	t.Run("force-delete-runs-the-TERM-handler", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		ns := namespace(t)
		p := pod("forced-trap", busybox("app", "trap 'exit 0' TERM; while true; do sleep 1 & wait; done"))
		created := createPod(t, ns, p)
		waitRunning(t, ns, p.Name)
		start := time.Now()
		if _, err := env.Kubectl(ctx, "-n", ns, "delete", "pod", p.Name, "--grace-period=0", "--force"); err != nil {
			t.Fatal(err)
		}
		// The handler ran: the container exited 0 on its stop signal, not
		// 137 on a SIGKILL.
		if _, code := env.WaitEngineDie(t, created.UID, "app", start, 10*time.Second); code != "0" {
			t.Errorf("the container exited %s after a forced delete, want 0 from its TERM handler", code)
		}
		if err := env.WaitNoContainers(ctx, created.UID, 10*time.Second); err != nil {
			t.Fatalf("containers still on the engine 10 s after a forced delete: %v", env.ContainerIDs(t, created.UID))
		}
	})
}

// activeDeadlineSeconds: 5 fails the pod with reason DeadlineExceeded about
// 5 s after its startTime, kills its containers, and records the kubelet's
// DeadlineExceeded event (active_deadline.go: Normal, "Pod was active on the
// node longer than the specified deadline").
func TestLifecycleActiveDeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	const message = "Pod was active on the node longer than the specified deadline"
	p := pod("deadline", busybox("app", "trap 'exit 0' TERM; while true; do sleep 1 & wait; done"))
	deadline := int64(5)
	p.Spec.ActiveDeadlineSeconds = &deadline
	created := createPod(t, ns, p)
	w := env.WatchPod(t, created)

	failed := w.WaitFor(t, 30*time.Second, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if failed.Pod.Status.Reason != "DeadlineExceeded" || failed.Pod.Status.Message != message {
		t.Errorf("failed pod reason %q message %q, want DeadlineExceeded, %q", failed.Pod.Status.Reason, failed.Pod.Status.Message, message)
	}
	if st := failed.Pod.Status.StartTime; st == nil {
		t.Errorf("failed pod has no startTime")
	} else if after := failed.At.Sub(st.Time); after < 4500*time.Millisecond || after > 8*time.Second {
		t.Errorf("pod seen Failed %v after its startTime %v, want 5 s (about 6–8 s at most)", after, st)
	}
	env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Normal DeadlineExceeded "+message, func(e v1.Event) bool {
		return e.Type == v1.EventTypeNormal && e.Reason == "DeadlineExceeded" && e.Message == message
	})
	w.WaitFor(t, 15*time.Second, "app terminated", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "app")
		return p.Status.Phase == v1.PodFailed && cs != nil && cs.State.Terminated != nil
	})
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID)), dockerhost.LabelContainerName+"=app")
		if err != nil || len(list) == 0 {
			return false, nil
		}
		for _, c := range list {
			if c.State == "running" {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Errorf("the app container is not stopped (and kept) on the engine after the deadline")
	}
}

// A pod's container events read like a kubelet's (kuberuntime_container.go,
// images/image_manager.go with KubeletEnsureSecretPulledImages on by
// default): Pulled, Created, Started for the container, and Killing
// "Stopping container app" when the pod is deleted.
func TestLifecycleContainerEvents(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := pod("events", sleeper("app"))
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	const field = "spec.containers{app}"
	for _, want := range []struct{ reason, message string }{
		{"Pulled", fmt.Sprintf("Container image %q already present on machine and can be accessed by the pod", env.BusyboxImage())},
		{"Created", "Container created"},
		{"Started", "Container started"},
	} {
		env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Normal "+want.reason+" "+want.message, func(e v1.Event) bool {
			return e.Type == v1.EventTypeNormal && e.Reason == want.reason && e.Message == want.message && e.InvolvedObject.FieldPath == field
		})
	}
	deletePod(t, ns, p.Name)
	env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Normal Killing Stopping container app", func(e v1.Event) bool {
		return e.Type == v1.EventTypeNormal && e.Reason == "Killing" && e.Message == "Stopping container app" && e.InvolvedObject.FieldPath == field
	})
}

// appNeverRan checks that the pod's "app" container never got a status of
// its own and that Docker never created it.
func appNeverRan(t *testing.T, w *framework.PodWatch, created *v1.Pod, since time.Time) {
	t.Helper()
	for _, v := range w.All() {
		if cs := framework.StatusOf(v.Pod, "app"); cs != nil && (cs.ContainerID != "" || cs.State.Running != nil || cs.State.Terminated != nil) {
			t.Errorf("the app container ran: %s", framework.Dump(cs))
			break
		}
	}
	if cs := framework.StatusOf(w.Latest().Pod, "app"); cs == nil || cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" {
		t.Errorf("app status = %s, want waiting PodInitializing", framework.Dump(cs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	msgs, errs := env.Docker.Events(ctx, since, dockerhost.PodSelector(string(created.UID)), dockerhost.LabelContainerName+"=app")
	for {
		select {
		case m := <-msgs:
			if m.Type == "container" && m.Action == "create" {
				t.Errorf("Docker created an app container for the pod: %s", m.Actor.ID)
			}
		case err := <-errs:
			if err != nil && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				t.Errorf("docker events: %v", err)
			}
			goto listed
		case <-ctx.Done():
			goto listed
		}
	}
listed:
	list, err := env.Docker.ContainerList(context.Background(), dockerhost.PodSelector(string(created.UID)), dockerhost.LabelContainerName+"=app")
	if err != nil || len(list) != 0 {
		t.Errorf("app containers on the engine: %s (%v), want none", framework.Dump(list), err)
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
