//go:build e2e_timing || e2e_sandbox_probes

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func execHook(script string) *v1.LifecycleHandler {
	return &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", script}}}
}

// Seed section 8: the postStart hook writes /usr/share/message, read back
// with kubectl exec, as the seed shows.
func TestHooksSeedPostStartWritesTheMessage(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := examplePod(t, "lifecycle-hooks.yaml")
	grace := int64(1)
	p.Spec.TerminationGracePeriodSeconds = &grace
	createPod(t, ns, framework.OnNode(p, node.Name))
	waitRunning(t, ns, p.Name)
	if got := mustExec(t, ns, p.Name, "nginx", "sh", "-c", "cat /usr/share/message"); strings.TrimSpace(got) != "Hello from the postStart handler" {
		t.Errorf("/usr/share/message = %q, want the postStart handler's greeting", got)
	}
}

// The container is not Running until postStart has finished: a hook that
// takes 3 s delays the running state by as much after the container started.
func TestHooksPostStartBlocksRunning(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	c := busybox("app", "date +%s > /tmp/started; trap 'exit 0' TERM; while true; do sleep 1; done")
	c.Lifecycle = &v1.Lifecycle{PostStart: execHook("sleep 3")}
	created := createPod(t, ns, pod("slow-poststart", c))
	w := env.WatchPod(t, created)
	running := w.WaitFor(t, 60*time.Second, "running", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "app")
		return cs != nil && cs.State.Running != nil
	})
	started := framework.StatusOf(running.Pod, "app").State.Running.StartedAt.Time
	if lag := running.At.Sub(started); lag < 2500*time.Millisecond {
		t.Errorf("reported running %v after the container started, want after the 3 s postStart hook", lag)
	}
}

// preStop runs before the stop signal, inside the grace period: the TERM
// trap finds the preStop's mark (exit 0, else exit 3), and the container
// ends no sooner than the preStop's 2 s sleep.
func TestHooksPreStopRunsBeforeTheStopSignal(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	c := busybox("app", "trap 'if [ -f /tmp/prestop ]; then exit 0; else exit 3; fi' TERM; while true; do sleep 1 & wait; done")
	c.Lifecycle = &v1.Lifecycle{PreStop: execHook("touch /tmp/prestop; sleep 2")}
	p := pod("prestop", c)
	grace := int64(10)
	p.Spec.TerminationGracePeriodSeconds = &grace
	created := createPod(t, ns, p)
	w := env.WatchPod(t, created)
	waitRunning(t, ns, p.Name)
	deleted := deletePod(t, ns, p.Name)
	term := w.TerminatedWhenGone(t, 30*time.Second, "app")
	if term.ExitCode != 0 {
		t.Errorf("exit code %d: the stop signal came before the preStop hook had run (want 0)", term.ExitCode)
	}
	if took := term.FinishedAt.Sub(deleted.Truncate(time.Second)); took < 2*time.Second {
		t.Errorf("the container ended %v after the delete, before its 2 s preStop hook could finish", took)
	}
	env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Killing", func(e v1.Event) bool {
		return e.Reason == "Killing" && e.Message == "Stopping container app"
	})
}

// Failing hooks are reported with the kubelet's events, whatever their
// handler: a failed postStart kills the container (Killing
// "FailedPostStartHook"), which comes back per restart policy; a failed
// preStop is reported and the container still gets its stop signal.
func TestHooksFailuresAreReported(t *testing.T) {
	t.Parallel()
	for _, h := range []struct {
		name    string
		handler *v1.LifecycleHandler
	}{
		{"exec", execHook("echo broken; exit 1")},
		{"httpGet", httpHook("/", intstr.FromInt32(9))}, // nothing listens on port 9
	} {
		t.Run(h.name+"/postStart", func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			c := sleeper("app")
			c.Lifecycle = &v1.Lifecycle{PostStart: h.handler}
			created := createPod(t, ns, pod("bad-poststart", c))
			w := env.WatchPod(t, created)
			env.WaitPodEvent(t, ns, created.Name, 30*time.Second, "FailedPostStartHook", func(e v1.Event) bool {
				// kuberuntime_container.go startContainer: the event leaves the
				// hook's output out, which may hold secrets.
				return e.Type == v1.EventTypeWarning && e.Reason == "FailedPostStartHook" && e.Message == "PostStartHook failed" &&
					e.InvolvedObject.FieldPath == "spec.containers{app}"
			})
			env.WaitPodEvent(t, ns, created.Name, 10*time.Second, "Killing FailedPostStartHook", func(e v1.Event) bool {
				return e.Reason == "Killing" && e.Message == "FailedPostStartHook"
			})
			w.WaitFor(t, 30*time.Second, "restarted", func(p *v1.Pod) bool {
				cs := framework.StatusOf(p, "app")
				return cs != nil && cs.RestartCount >= 1
			})
		})
		t.Run(h.name+"/preStop", func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			c := sleeper("app")
			c.Lifecycle = &v1.Lifecycle{PreStop: h.handler}
			p := pod("bad-prestop", c)
			grace := int64(10) // time for the final status to be written before the object goes
			p.Spec.TerminationGracePeriodSeconds = &grace
			created := createPod(t, ns, p)
			w := env.WatchPod(t, created)
			waitRunning(t, ns, created.Name)
			deletePod(t, ns, created.Name)
			env.WaitPodEvent(t, ns, created.Name, 30*time.Second, "FailedPreStopHook", func(e v1.Event) bool {
				return e.Type == v1.EventTypeWarning && e.Reason == "FailedPreStopHook" && e.Message == "PreStopHook failed"
			})
			if term := w.TerminatedWhenGone(t, 30*time.Second, "app"); term.ExitCode != 0 {
				t.Errorf("app's last terminated state: %s; want exit code 0 (its stop signal followed the failed hook)", framework.Dump(term))
			}
		})
	}
}
