//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// debugTarget is the container `kubectl debug --target=app` looks into: it
// serves HTTP on localhost:8080, leaves a file in the pod's IPC namespace's
// /dev/shm, and carries a marker in its command line for `ps` to find.
func debugTarget() v1.Container {
	return busybox("app", ": app-marker; trap 'exit 0' TERM; echo app-ipc > /dev/shm/marker; "+
		"httpd -p 127.0.0.1:8080 -h /usr/share/nginx/html; while true; do sleep 1; done")
}

// What a debugging shell checks: the target's processes (PID namespace),
// its localhost port (network namespace) and its /dev/shm (IPC namespace).
// Each line is printed only when its check passes.
const debugChecks = "ps -o args | grep -q 'app-marke[r]' && echo sees-app-process; " +
	"wget -qO- http://127.0.0.1:8080/ | grep -q 'Welcome to nginx' && echo reaches-app-port; " +
	"grep -q app-ipc /dev/shm/marker && echo shares-app-ipc"

func ephemeralStatusOf(p *v1.Pod, name string) *v1.ContainerStatus {
	for i := range p.Status.EphemeralContainerStatuses {
		if cs := &p.Status.EphemeralContainerStatuses[i]; cs.Name == name {
			return cs
		}
	}
	return nil
}

// `kubectl debug -it POD --image=IMG --target=app -- sh`, as on a kubelet:
// the shell sees the target's processes, network and IPC, and the ephemeral
// container ends with it, Completed, never to be started again.
func TestKubectlDebugItWithTarget(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := namespace(t)
	p := pod("debug-it", debugTarget())
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)

	// Each answer is computed, so that the typed command never shows it.
	screen, err := runInPTY(t, ctx, []string{
		"wait:If you don't see a command prompt", "\r",
		"(" + debugChecks + ") | tr a-z A-Z | tr '\\n' +; echo\r",
		"wait:SEES-APP-PROCESS+REACHES-APP-PORT+SHARES-APP-IPC+",
		"exit 0\r",
	}, "", "-n", ns, "debug", "-it", p.Name, "--image="+env.BusyboxImage(), "--image-pull-policy=IfNotPresent",
		"--target=app", "-c", "shell", "--", "sh")
	if err != nil {
		t.Fatalf("kubectl debug -it: %v\n%s", err, screen)
	}
	got, err := framework.WaitForPod(ctx, env, ns, p.Name, 30*time.Second, "the shell terminated", func(p *v1.Pod) bool {
		cs := ephemeralStatusOf(p, "shell")
		return cs != nil && cs.State.Terminated != nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cs := ephemeralStatusOf(got, "shell")
	if term := cs.State.Terminated; term.ExitCode != 0 || term.Reason != "Completed" || cs.RestartCount != 0 {
		t.Errorf("shell = %s, want terminated, Completed, exit 0, no restart", framework.Dump(cs))
	}
	if !framework.Running(got) {
		t.Errorf("the pod is no longer running and ready after its debugging shell ended: %s", framework.Dump(got.Status))
	}
}

// `kubectl debug POD --image=IMG --target=app -- sh -c SCRIPT` (no -i: it
// does not attach): the ephemeral container's status goes running then
// terminated with the kubelet's reasons; kubectl exec and kubectl logs -c
// work on it; it survives a provider restart, is never restarted, and goes
// with the pod.
func TestKubectlDebugEphemeralContainerLifecycle(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// A node of the test's own: it is restarted.
	n := startNode(t, framework.NodeOptions{Name: "e2e-debug-" + framework.RandomSuffix()})
	ns := namespace(t)
	grace := int64(2)
	p := framework.OnNode(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "debugged"},
		Spec:       v1.PodSpec{Containers: []v1.Container{debugTarget()}, TerminationGracePeriodSeconds: &grace},
	}, n.Name)
	created := createPod(t, ns, p)
	watch := env.WatchPod(t, created)
	running := waitRunning(t, ns, p.Name)
	appID := framework.StatusOf(running, "app").ContainerID

	script := debugChecks + "; while [ ! -f /tmp/done ]; do sleep 0.2; done; echo bye"
	if out, err := env.Kubectl(ctx, "-n", ns, "debug", p.Name, "--image="+env.BusyboxImage(), "--image-pull-policy=IfNotPresent",
		"--target=app", "-c", "debugger", "--", "sh", "-c", script); err != nil {
		t.Fatalf("kubectl debug: %v\n%s", err, out)
	}
	got := watch.WaitFor(t, 30*time.Second, "the debugger running", func(p *v1.Pod) bool {
		cs := ephemeralStatusOf(p, "debugger")
		return cs != nil && cs.State.Running != nil
	}).Pod
	cs := ephemeralStatusOf(got, "debugger")
	if cs.Ready || cs.RestartCount != 0 || cs.Image != env.BusyboxImage() || !strings.HasPrefix(cs.ContainerID, "docker://") {
		t.Errorf("debugger = %s, want running, not ready, the image asked for", framework.Dump(cs))
	}
	debuggerID := cs.ContainerID
	waitLogs(t, "sees-app-process\nreaches-app-port\nshares-app-ipc\n", "-n", ns, p.Name, "-c", "debugger")
	if out := mustExec(t, ns, p.Name, "debugger", "hostname"); out != "debugged\n" {
		t.Errorf("kubectl exec -c debugger printed %q", out)
	}
	ev := env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Started event of the debugger", func(e v1.Event) bool {
		return e.Reason == "Started" && e.InvolvedObject.FieldPath == "spec.ephemeralContainers{debugger}"
	})
	if ev.Message != "Container started" {
		t.Errorf("Started event of the debugger: %q", ev.Message)
	}

	// The provider restarts: it finds the ephemeral container by its labels
	// and leaves it running.
	n.Stop()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if out := mustExec(t, ns, p.Name, "debugger", "touch", "/tmp/done"); out != "" {
		t.Errorf("kubectl exec touch printed %q", out)
	}
	got = watch.WaitFor(t, 30*time.Second, "the debugger terminated", func(p *v1.Pod) bool {
		cs := ephemeralStatusOf(p, "debugger")
		return cs != nil && cs.State.Terminated != nil
	}).Pod
	cs = ephemeralStatusOf(got, "debugger")
	if term := cs.State.Terminated; term.ExitCode != 0 || term.Reason != "Completed" || cs.ContainerID != debuggerID || cs.RestartCount != 0 {
		t.Errorf("debugger = %s, want the same container (%s) terminated, Completed, exit 0", framework.Dump(cs), debuggerID)
	}
	waitLogs(t, "sees-app-process\nreaches-app-port\nshares-app-ipc\nbye\n", "-n", ns, p.Name, "-c", "debugger")

	// Never started again, and the pod's own container untouched.
	time.Sleep(3 * time.Second)
	instances, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID)), dockerhost.LabelContainerName+"=debugger")
	if err != nil {
		t.Fatal(err)
	}
	if len(instances) != 1 || "docker://"+instances[0].ID != debuggerID || instances[0].State == "running" {
		t.Errorf("engine holds %d debugger containers (%+v), want the one that ran, stopped", len(instances), instances)
	}
	last := watch.Latest().Pod
	if app := framework.StatusOf(last, "app"); app.ContainerID != appID || app.RestartCount != 0 {
		t.Errorf("app = %s, want %s never restarted", framework.Dump(app), appID)
	}
	// What the API showed of the debugger, in order: running, then
	// terminated, and never running again.
	var states []string
	for _, v := range watch.All() {
		cs := ephemeralStatusOf(v.Pod, "debugger")
		state := "none"
		switch {
		case cs == nil:
		case cs.State.Running != nil:
			state = "running"
		case cs.State.Terminated != nil:
			state = "terminated"
		case cs.State.Waiting != nil:
			state = "waiting " + cs.State.Waiting.Reason
		}
		if len(states) == 0 || states[len(states)-1] != state {
			states = append(states, state)
		}
	}
	if n := len(states); n < 2 || states[n-2] != "running" || states[n-1] != "terminated" || strings.Count(strings.Join(states, ","), "running") != 1 {
		t.Errorf("debugger states seen through the API: %q, want running once, then terminated", states)
	}

	// It goes with the pod.
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.WaitNoContainers(ctx, created.UID, 30*time.Second); err != nil {
		t.Errorf("the pod's containers, the ephemeral one included, are still on the engine: %v", err)
	}
}
