//go:build e2e_timing || e2e_sandbox_probes

package e2e

// Lifecycle hooks with the httpGet and sleep handlers, the seed's preStop,
// and preStop hooks of several containers running in parallel, as the
// kubelet runs them (pkg/kubelet/lifecycle/handlers.go;
// kuberuntime_container.go startContainer, killContainer,
// killContainersWithSyncResult). `make test` runs these tests a second time
// with the hooks' HTTP requests sent from inside the pod's sandbox
// (--probe-network=sandbox).

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
)

// hookServer is a native sidecar serving HTTP on 8080 (busybox httpd, which
// logs every request's path to /data/httpd.log); its startup probe makes the
// app containers wait until it listens, so that their hooks find it.
func hookServer() v1.Container {
	c := busybox("server", "httpd -f -vv -p 8080 -h /etc 2>>/data/httpd.log & trap 'exit 0' TERM; wait")
	always := v1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	c.StartupProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1, FailureThreshold: 30}
	return c
}

// httpHook is an httpGet lifecycle handler to the pod's own IP.
func httpHook(path string, port intstr.IntOrString) *v1.LifecycleHandler {
	return &v1.LifecycleHandler{HTTPGet: &v1.HTTPGetAction{Path: path, Port: port}}
}

// The postStart httpGet hook reaches the pod's server (port by container
// port name, with a header; its 404 is a success, as any response is for
// the kubelet) before the container runs; the preStop httpGet hook reaches
// it before the container's stop signal: the TERM trap finds /prestop in
// the server's log (exit 0, else 3).
func TestHooksHTTPGet(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	app := busybox("app", "trap 'if grep -q url:/prestop /data/httpd.log; then exit 0; else exit 3; fi' TERM; while true; do sleep 1 & wait; done")
	app.Ports = []v1.ContainerPort{{Name: "hooks", ContainerPort: 8080}}
	postStart := httpHook("/poststart", intstr.FromString("hooks"))
	postStart.HTTPGet.HTTPHeaders = []v1.HTTPHeader{{Name: "X-Hook", Value: "postStart"}}
	app.Lifecycle = &v1.Lifecycle{PostStart: postStart, PreStop: httpHook("/prestop", intstr.FromInt32(8080))}
	p := pod("http-hooks", app)
	p.Spec.InitContainers = []v1.Container{hookServer()}
	framework.WithSharedDir(p)
	grace := int64(10)
	p.Spec.TerminationGracePeriodSeconds = &grace
	w := env.WatchPod(t, createPod(t, ns, p))

	running := waitRunning(t, ns, p.Name)
	if log := mustExec(t, ns, p.Name, "app", "cat", "/data/httpd.log"); !strings.Contains(log, "url:/poststart") {
		t.Errorf("the server's log has no /poststart request once the app runs:\n%s", log)
	}
	if cs := framework.StatusOf(running, "app"); cs == nil || cs.RestartCount != 0 {
		t.Errorf("app once running: %s, want no restart (a 404 is a successful hook)", framework.Dump(cs))
	}
	for _, e := range env.PodEvents(t, ns, p.Name) {
		if strings.HasPrefix(e.Reason, "Failed") {
			t.Errorf("event %s %q, want no failure", e.Reason, e.Message)
		}
	}

	deletePod(t, ns, p.Name)
	if term := w.TerminatedWhenGone(t, 30*time.Second, "app"); term.ExitCode != 0 {
		t.Errorf("app exit code %d: the stop signal came before the preStop request reached the server (want 0)", term.ExitCode)
	}
}

// The sleep handler: a 3 s preStop sleep delays the stop signal by 3 s
// (the engine's kill event, against the time of the delete); a 2 s
// postStart sleep delays the running state by as much after the start.
func TestHooksSleep(t *testing.T) {
	t.Parallel()
	t.Run("preStop", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		c := sleeper("app")
		c.Lifecycle = &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 3}}}
		p := pod("sleep-prestop", c)
		grace := int64(10)
		p.Spec.TerminationGracePeriodSeconds = &grace
		created := createPod(t, ns, p)
		waitRunning(t, ns, p.Name)
		deleted := deletePod(t, ns, p.Name)
		stop := env.EngineStop(t, created.UID, "app", deleted, 30*time.Second)
		if after := stop.Term.Sub(deleted); stop.Term.IsZero() || after < 3*time.Second || after > 3*time.Second+probeTolerance {
			t.Errorf("the stop signal came %v after the delete (engine: %s), want after the 3 s preStop sleep", after, stop)
		}
		if stop.ExitCode != "0" {
			t.Errorf("exit code %s, want 0 (the container exits on SIGTERM)", stop.ExitCode)
		}
	})
	t.Run("postStart", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		c := sleeper("app")
		c.Lifecycle = &v1.Lifecycle{PostStart: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 2}}}
		w := env.WatchPod(t, createPod(t, ns, pod("sleep-poststart", c)))
		running := w.WaitFor(t, 60*time.Second, "running", func(p *v1.Pod) bool {
			cs := framework.StatusOf(p, "app")
			return cs != nil && cs.State.Running != nil
		})
		// startedAt has second precision: up to 1 s early.
		if lag := running.At.Sub(framework.StatusOf(running.Pod, "app").State.Running.StartedAt.Time); lag < 2*time.Second {
			t.Errorf("reported running %v after the container started, want after the 2 s postStart sleep", lag)
		}
	})
}

// The preStop hooks of a pod's containers run at the same time, as the
// kubelet's killContainersWithSyncResult does: two containers with a 3 s
// preStop each get their stop signals (the engine's kill events) no sooner
// than 3 s after the delete and less than 3 s apart; one after the other,
// the second would come at least 3 s after the first. (Against the time of
// the delete alone the test would depend on how long `docker exec` takes on
// a busy machine.)
func TestHooksPreStopHooksRunInParallel(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	a, b := sleeper("app-a"), sleeper("app-b")
	for _, c := range []*v1.Container{&a, &b} {
		c.Lifecycle = &v1.Lifecycle{PreStop: execHook("sleep 3")}
	}
	p := pod("parallel-prestop", a, b)
	grace := int64(20)
	p.Spec.TerminationGracePeriodSeconds = &grace
	created := createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	deleted := deletePod(t, ns, p.Name)
	var terms []time.Time
	for _, c := range []string{"app-a", "app-b"} {
		stop := env.EngineStop(t, created.UID, c, deleted, 30*time.Second)
		if after := stop.Term.Sub(deleted); stop.Term.IsZero() || after < 3*time.Second {
			t.Fatalf("%s got its stop signal %v after the delete (engine: %s), want after its 3 s preStop hook", c, after, stop)
		}
		terms = append(terms, stop.Term)
	}
	if apart := terms[1].Sub(terms[0]).Abs(); apart >= 3*time.Second {
		t.Errorf("the stop signals came %v apart (%s, %s), want less than 3 s: the preStop hooks ran one after the other",
			apart, terms[0].Format("15:04:05.000"), terms[1].Format("15:04:05.000"))
	}
}

// Seed section 8's preStop stops the web server and waits for it to be
// gone; the shell whose child the server is then ends with exit code 0 (a
// bare `wait` returns 0), well within the grace period. Without the hook it
// would not: as PID 1 without a trap it ignores its stop signal and would
// die by SIGKILL (137) at the end of the grace period. (The seed's 30 s
// sleep before the server starts is cut to 1 s here.)
func TestHooksSeedPreStopStopsTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	p := examplePod(t, "lifecycle-hooks.yaml")
	script := &p.Spec.Containers[0].Command[2]
	if !strings.HasPrefix(*script, "sleep 30; ") {
		t.Fatalf("the example's command %q no longer starts with the seed's sleep 30", *script)
	}
	*script = "sleep 1; " + strings.TrimPrefix(*script, "sleep 30; ")
	grace := int64(20)
	p.Spec.TerminationGracePeriodSeconds = &grace
	created := createPod(t, ns, framework.OnNode(p, node.Name))
	waitRunning(t, ns, p.Name)
	if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := env.Exec(ctx, ns, p.Name, "nginx", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/")
		return err == nil, nil
	}); err != nil {
		t.Fatalf("the web server never served: %v", err)
	}

	deleted := deletePod(t, ns, p.Name)
	stop := env.EngineStop(t, created.UID, "nginx", deleted, 30*time.Second)
	if after := stop.Die.Sub(deleted); after > 5*time.Second {
		t.Errorf("the container ended %v after the delete (engine: %s), want within a few seconds: the preStop hook stops the server", after, stop)
	}
	if stop.ExitCode != "0" {
		t.Errorf("exit code %s (engine: %s), want 0: the shell ends when the preStop hook has stopped its server", stop.ExitCode, stop)
	}
}
