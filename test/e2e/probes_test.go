//go:build e2e_timing || e2e_sandbox_probes

package e2e

// Probes (issue 4): startup, liveness and readiness probes with the exec,
// tcpSocket, httpGet and grpc handlers, checked the way a user sees them:
// the containers' ready and started, the pod's conditions, restartCount and
// the kubelet's events. Semantics, messages and timings are the kubelet's
// (k8s.io/kubernetes v1.37.2: pkg/kubelet/prober, pkg/probe,
// pkg/kubelet/kuberuntime); the comments name the place. Lifecycle hooks
// are not tested here.
//
// Durations are read from the status timestamps (second precision, so up to
// a second short when compared with a local clock reading), from the local
// times the watch delivered the statuses, or from the Docker engine's event
// times (nanoseconds), with a tolerance of 1.5 s unless said otherwise.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const probeTolerance = 1500 * time.Millisecond

// Seed section 7.2: a tcpSocket readiness probe with initialDelaySeconds 10
// on a server that listens 10 s after the start. At 5 s the container runs
// but is not ready; it becomes ready between 10 and 16 s (the probe runs at
// 10 s, then every 5 s), and the pod's Ready condition turns True.
func TestProbesSeedReadinessTCP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	p := seedPod(t, "readiness-tcp.yaml")
	w := env.WatchPod(t, createPod(t, ns, p))
	started := w.WaitContainerRunning(t, "nginx")

	time.Sleep(time.Until(started.Add(5 * time.Second)))
	early := w.Latest().Pod
	cs := framework.StatusOf(early, "nginx")
	if cs == nil || cs.State.Running == nil || cs.Ready {
		t.Errorf("nginx 5 s after its start: %s; want running and not ready", framework.Dump(cs))
	} else if cs.Started == nil || !*cs.Started {
		// prober_manager.go UpdatePodStatus: no startup probe, started.
		t.Errorf("nginx 5 s after its start: started = %v, want true (it has no startup probe)", cs.Started)
	}
	// status/generate.go GenerateContainersReadyCondition
	for _, typ := range []v1.PodConditionType{v1.ContainersReady, v1.PodReady} {
		if c := framework.ConditionOf(early, typ); c == nil || c.Status != v1.ConditionFalse || c.Reason != "ContainersNotReady" ||
			c.Message != "containers with unready status: [nginx]" {
			t.Errorf("%s 5 s after the start = %s; want False, ContainersNotReady, %q", typ, framework.Dump(c), "containers with unready status: [nginx]")
		}
	}
	if out, err := env.Kubectl(ctx, "-n", ns, "get", "pod", p.Name, "--no-headers"); err != nil || len(strings.Fields(out)) < 3 ||
		strings.Fields(out)[1] != "0/1" || strings.Fields(out)[2] != "Running" {
		t.Errorf("kubectl get pod 5 s after the start: %q (%v), want READY 0/1, STATUS Running", out, err)
	}

	ready := w.WaitFor(t, 30*time.Second, "nginx ready", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "nginx")
		return cs != nil && cs.Ready
	})
	if after := ready.At.Sub(started); after < 10*time.Second || after > 16*time.Second+probeTolerance {
		t.Errorf("nginx ready %v after its start, want between 10 s (initialDelaySeconds) and 16 s", after)
	}
	if c := framework.ConditionOf(ready.Pod, v1.PodReady); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("Ready condition once nginx is ready = %s, want True", framework.Dump(c))
	} else if d := c.LastTransitionTime.Sub(started); d < 9*time.Second {
		t.Errorf("Ready turned True at %v, %v after the start; want no earlier than initialDelaySeconds (10 s)", c.LastTransitionTime, d)
	}
	if c := framework.ConditionOf(ready.Pod, v1.ContainersReady); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("ContainersReady once nginx is ready = %s, want True", framework.Dump(c))
	}
	if cs := framework.StatusOf(ready.Pod, "nginx"); cs.RestartCount != 0 || cs.State.Running == nil {
		t.Errorf("nginx once ready: %s, want running without restarts", framework.Dump(cs))
	}
}

// A failing readiness probe takes a container out of ready, never restarts
// it (prober_manager.go: only liveness and startup results reach
// kuberuntime_manager.go computePodActions), and it comes back when the
// probe passes again. Also: initialDelaySeconds holds the first probe back
// even when the server listens from the start.
func TestProbesReadinessFailureNeverRestarts(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	c := busybox("web", "httpd -f -p 80 -h /usr/share/nginx/html & trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done")
	c.ReadinessProbe = &v1.Probe{
		ProbeHandler:        v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(80)}},
		InitialDelaySeconds: 4, PeriodSeconds: 1, FailureThreshold: 2,
	}
	p := pod("readiness-fails", c)
	p.Spec.RestartPolicy = v1.RestartPolicyAlways
	w := env.WatchPod(t, createPod(t, ns, p))
	started := w.WaitContainerRunning(t, "web")

	ready := w.WaitFor(t, 20*time.Second, "web ready", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "web")
		return cs != nil && cs.Ready
	})
	// worker.go doProbe: no probe before initialDelaySeconds; the result
	// starts as Failure for readiness.
	if after := ready.At.Sub(started); after < 4*time.Second || after > 5*time.Second+probeTolerance {
		t.Errorf("web ready %v after its start, want 4–5 s (initialDelaySeconds 4, period 1)", after)
	}
	podIP := ready.Pod.Status.PodIP
	firstID := framework.StatusOf(ready.Pod, "web").ContainerID

	killed := time.Now()
	mustExec(t, ns, p.Name, "web", "killall", "httpd")
	unready := w.WaitForAfter(t, killed, 15*time.Second, "web not ready", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "web")
		return cs != nil && !cs.Ready
	})
	// failureThreshold 2 × periodSeconds 1.
	if after := unready.At.Sub(killed); after > 2*time.Second+probeTolerance {
		t.Errorf("web not ready %v after its server stopped, want within 2 s (2 failures 1 s apart)", after)
	}
	if c := framework.ConditionOf(unready.Pod, v1.PodReady); c == nil || c.Status != v1.ConditionFalse {
		t.Errorf("Ready condition once web fails its readiness probe = %s, want False", framework.Dump(c))
	}
	want := fmt.Sprintf("Readiness probe failed: dial tcp %s:80: connect: connection refused", podIP)
	env.WaitUnhealthy(t, ns, p.Name, "web", 10*time.Second, want)

	// A few more failing periods: still the same running container.
	time.Sleep(4 * time.Second)
	cs := framework.StatusOf(w.Latest().Pod, "web")
	if cs == nil || cs.State.Running == nil || cs.ContainerID != firstID || cs.RestartCount != 0 || cs.Ready {
		t.Errorf("web after failing readiness for 4 s: %s; want the same running container %s, not ready, restartCount 0", framework.Dump(cs), firstID)
	}
	for _, e := range env.PodEvents(t, ns, p.Name) {
		if e.Reason == "Killing" {
			t.Errorf("a failing readiness probe killed the container: %s %s", e.Reason, e.Message)
		}
	}

	// Serving again makes it ready again.
	back := time.Now()
	mustExec(t, ns, p.Name, "web", "httpd", "-p", "80", "-h", "/usr/share/nginx/html")
	again := w.WaitForAfter(t, back, 10*time.Second, "web ready again", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "web")
		return cs != nil && cs.Ready && cs.State.Running != nil
	})
	if after := again.At.Sub(back); after > time.Second+probeTolerance {
		t.Errorf("web ready again %v after its server came back, want within a period (1 s)", after)
	}
	if cs := framework.StatusOf(again.Pod, "web"); cs.RestartCount != 0 || cs.ContainerID != firstID {
		t.Errorf("web ready again: %s; want container %s, restartCount 0", framework.Dump(cs), firstID)
	}
	for _, v := range w.All() {
		if cs := framework.StatusOf(v.Pod, "web"); cs != nil && cs.RestartCount != 0 {
			t.Errorf("web was restarted: %s", framework.Dump(cs))
			break
		}
	}
}

// Seed section 7.3: once the page is gone, the httpGet liveness probe fails
// (Unhealthy "Liveness probe failed: HTTP probe failed with statuscode:
// 404"), and after failureThreshold (2) failures 5 s apart the container is
// killed (Killing "Container nginx failed liveness probe, will be
// restarted") and restarted at once (restartCount 1). httpd as PID 1 ignores
// SIGTERM, so it dies by SIGKILL at the pod's grace period (2 s here).
// The new container serves the page again and becomes ready.
func TestProbesSeedLivenessHTTP(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := seedPod(t, "liveness-http.yaml")
	grace := int64(2)
	p.Spec.TerminationGracePeriodSeconds = &grace
	created := createPod(t, ns, p)
	w := env.WatchPod(t, created)

	ready := w.WaitFor(t, 40*time.Second, "nginx ready", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "nginx")
		return cs != nil && cs.Ready
	})
	firstID := framework.StatusOf(ready.Pod, "nginx").ContainerID

	removed := time.Now()
	mustExec(t, ns, p.Name, "nginx", "rm", "/usr/share/nginx/html/index.html")
	stop := env.EngineStop(t, created.UID, "nginx", removed, 30*time.Second)
	// Two failures 5 s apart, the first within 5 s of the removal.
	if after := stop.Term.Sub(removed); stop.Term.IsZero() || after < 5*time.Second-probeTolerance || after > 10*time.Second+probeTolerance {
		t.Errorf("nginx got SIGTERM %v after its page was removed (engine: %s), want 5–10 s", after, stop)
	}
	if d := stop.Die.Sub(stop.Term); !stop.Term.IsZero() && (d < 1800*time.Millisecond || d > 2*time.Second+probeTolerance) {
		t.Errorf("nginx died %v after SIGTERM, want SIGKILL at the grace period, 2 s (engine: %s)", d, stop)
	}
	if stop.ExitCode != "137" {
		t.Errorf("nginx died with exit code %s, want 137 (SIGKILL)", stop.ExitCode)
	}

	restarted := w.WaitFor(t, 15*time.Second, "nginx restarted", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "nginx")
		return cs != nil && cs.RestartCount == 1 && cs.State.Running != nil
	})
	cs := framework.StatusOf(restarted.Pod, "nginx")
	last := cs.LastTerminationState.Terminated
	if last == nil || last.ExitCode != 137 || last.Reason != "Error" || last.ContainerID != firstID {
		t.Errorf("nginx lastState.terminated = %s; want container %s, exitCode 137, reason Error", framework.Dump(last), firstID)
	}
	// The first restart has no back-off (kuberuntime_manager.go doBackOff);
	// it still includes the engine's create and start, up to 2 s with other
	// tests probing through docker exec beside it.
	if d := cs.State.Running.StartedAt.Sub(stop.Die); d > 2*time.Second {
		t.Errorf("nginx restarted %v after it died, want at once", d)
	}
	if d := cs.State.Running.StartedAt.Sub(removed); d > 12*time.Second+probeTolerance {
		t.Errorf("nginx restarted %v after its page was removed, want within failureThreshold×period + grace (12 s)", d)
	}

	const field = "spec.containers{nginx}"
	const unhealthy = "Liveness probe failed: HTTP probe failed with statuscode: 404"
	env.WaitUnhealthy(t, ns, p.Name, "nginx", 5*time.Second, unhealthy)
	var failures int32
	for _, e := range env.PodEvents(t, ns, p.Name) {
		if e.Reason == "Unhealthy" && e.InvolvedObject.FieldPath == field && e.Message == unhealthy {
			failures += max(e.Count, 1)
		}
	}
	if failures != 2 {
		t.Errorf("%d Unhealthy events %q, want 2 (failureThreshold; the probe stops once it failed)", failures, unhealthy)
	}
	env.WaitPodEvent(t, ns, p.Name, 5*time.Second, "Normal Killing Container nginx failed liveness probe, will be restarted", func(e v1.Event) bool {
		return e.Type == v1.EventTypeNormal && e.Reason == "Killing" && e.InvolvedObject.FieldPath == field &&
			e.Message == "Container nginx failed liveness probe, will be restarted"
	})

	// The new container serves the page again: ready, and no more restarts.
	again := w.WaitFor(t, 25*time.Second, "nginx ready again", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "nginx")
		return cs != nil && cs.RestartCount == 1 && cs.Ready
	})
	if c := framework.ConditionOf(again.Pod, v1.PodReady); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("Ready condition after the restart = %s, want True", framework.Dump(c))
	}
	if again.Pod.Status.Phase != v1.PodRunning {
		t.Errorf("phase after the restart = %s, want Running", again.Pod.Status.Phase)
	}
}

// A probe-level terminationGracePeriodSeconds replaces the pod's (30 s) for
// a liveness kill (kuberuntime_container.go setTerminationGracePeriod); the
// kubelet never stops a container with less than 2 s
// (kuberuntime_container.go killContainer, minimumGracePeriodInSeconds in
// kuberuntime_manager.go), so a probe-level 1 gives SIGKILL 2 s after
// SIGTERM to a process that ignores SIGTERM.
func TestProbesLivenessProbeGracePeriod(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	c := busybox("app", "touch /tmp/healthy; exec sleep 3600")
	probeGrace := int64(1)
	c.LivenessProbe = &v1.Probe{
		ProbeHandler:  v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
		PeriodSeconds: 1, FailureThreshold: 1, TerminationGracePeriodSeconds: &probeGrace,
	}
	p := pod("liveness-grace", c)
	grace := int64(30)
	p.Spec.TerminationGracePeriodSeconds = &grace
	created := createPod(t, ns, p)
	w := env.WatchPod(t, created)
	waitRunning(t, ns, p.Name)

	removed := time.Now()
	mustExec(t, ns, p.Name, "app", "rm", "/tmp/healthy")
	stop := env.EngineStop(t, created.UID, "app", removed, 40*time.Second)
	if after := stop.Term.Sub(removed); stop.Term.IsZero() || after > time.Second+probeTolerance {
		t.Errorf("app got SIGTERM %v after its health file was removed (engine: %s), want within a period (1 s)", after, stop)
	}
	if d := stop.Die.Sub(stop.Term); !stop.Term.IsZero() && (d < 1800*time.Millisecond || d > 3*time.Second) {
		t.Errorf("app died %v after SIGTERM; want SIGKILL 2 s after it (probe-level grace 1 s, raised to the kubelet's minimum of 2 s; the pod's is 30 s)", d)
	}
	env.WaitUnhealthy(t, ns, p.Name, "app", 5*time.Second, "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory")
	env.WaitPodEvent(t, ns, p.Name, 5*time.Second, "Normal Killing Container app failed liveness probe, will be restarted", func(e v1.Event) bool {
		return e.Reason == "Killing" && e.Message == "Container app failed liveness probe, will be restarted"
	})
	w.WaitFor(t, 15*time.Second, "app restarted", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "app")
		return cs != nil && cs.RestartCount == 1 && cs.State.Running != nil
	})
}

// Seed section 7.4: a startupProbe (tcpSocket, initialDelaySeconds 10,
// every 5 s, up to 20 failures) holds the httpGet liveness and readiness
// probes back (worker.go doProbe: "Disable other probes until container has
// started") while the server takes 30 s to start. Unstarted, the liveness
// probe (failureThreshold 2, period 5) would have killed it by ~12 s. The
// container is not started until the startup probe passes (30–35 s), ready
// within a readiness period after that, and never restarted; the only
// Unhealthy events are the startup probe's.
func TestProbesSeedStartupProbe(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := seedPod(t, "startup-probe.yaml")
	w := env.WatchPod(t, createPod(t, ns, p))
	started := w.WaitContainerRunning(t, "nginx")

	up := w.WaitFor(t, 50*time.Second, "nginx started", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "nginx")
		return cs != nil && cs.Started != nil && *cs.Started
	})
	if after := up.At.Sub(started); after < 30*time.Second-500*time.Millisecond || after > 35*time.Second+probeTolerance {
		t.Errorf("nginx started %v after its start, want 30–35 s (the server listens at 30 s; the startup probe runs every 5 s from 10 s)", after)
	}
	podIP := up.Pod.Status.PodIP
	for _, v := range w.All() {
		cs := framework.StatusOf(v.Pod, "nginx")
		if cs == nil || v.At.After(up.At) || v.At.Equal(up.At) {
			continue
		}
		if cs.Started != nil && *cs.Started || cs.Ready {
			t.Errorf("nginx before its startup probe passed: started %v, ready %v; want neither", cs.Started, cs.Ready)
			break
		}
	}

	ready := w.WaitFor(t, 15*time.Second, "nginx ready", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "nginx")
		return cs != nil && cs.Ready
	})
	if d := ready.At.Sub(up.At); d > 5*time.Second+probeTolerance {
		t.Errorf("nginx ready %v after it started, want within a readiness period (5 s)", d)
	}
	if c := framework.ConditionOf(ready.Pod, v1.PodReady); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("Ready condition once nginx is ready = %s, want True", framework.Dump(c))
	}

	// Two more liveness periods: the live server keeps it running.
	time.Sleep(10 * time.Second)
	for _, v := range w.All() {
		if cs := framework.StatusOf(v.Pod, "nginx"); cs != nil && cs.RestartCount != 0 {
			t.Errorf("nginx was restarted: %s", framework.Dump(cs))
			break
		}
	}
	if cs := framework.StatusOf(w.Latest().Pod, "nginx"); cs == nil || cs.State.Running == nil || !cs.Ready {
		t.Errorf("nginx 10 s after it became ready: %s, want running and ready", framework.Dump(cs))
	}
	startup := fmt.Sprintf("Startup probe failed: dial tcp %s:80: connect: connection refused", podIP)
	var sawStartup bool
	for _, e := range env.PodEvents(t, ns, p.Name) {
		msg := strings.TrimSpace(e.Message)
		switch {
		case e.Reason == "Unhealthy" && msg == startup:
			sawStartup = true
		case e.Reason == "Unhealthy" || e.Reason == "Killing":
			t.Errorf("unexpected event %s %s: %s (the startup probe gates liveness and readiness)", e.Type, e.Reason, msg)
		}
	}
	if !sawStartup {
		t.Errorf("no Unhealthy event %q while the server was starting; events:\n  %s", startup, framework.EventLines(env.PodEvents(t, ns, p.Name)))
	}
}

// A startup probe that exhausts failureThreshold kills the container with
// the kubelet's Killing event "Container app failed startup probe, will be
// restarted" (kuberuntime_manager.go computePodActions) and restarts it; it
// is never started meanwhile.
func TestProbesStartupFailureRestarts(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	c := sleeper("app")
	c.StartupProbe = &v1.Probe{
		ProbeHandler:  v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"cat", "/tmp/started"}}},
		PeriodSeconds: 1, FailureThreshold: 3,
	}
	c.LivenessProbe = &v1.Probe{
		ProbeHandler:  v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"false"}}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}
	p := pod("startup-fails", c)
	created := createPod(t, ns, p)
	w := env.WatchPod(t, created)
	started := w.WaitContainerRunning(t, "app")
	stop := env.EngineStop(t, created.UID, "app", started.Add(-time.Second), 20*time.Second)
	// Failures at about 0, 1 and 2 s after the start.
	if after := stop.Term.Sub(started); stop.Term.IsZero() || after < 1500*time.Millisecond || after > 3*time.Second+probeTolerance+time.Second {
		t.Errorf("app got SIGTERM %v after its start (engine: %s), want after 3 failures 1 s apart (~2–3 s)", after, stop)
	}
	restarted := w.WaitFor(t, 15*time.Second, "app restarted", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "app")
		return cs != nil && cs.RestartCount == 1
	})
	if last := framework.StatusOf(restarted.Pod, "app").LastTerminationState.Terminated; last == nil || last.ExitCode != 0 {
		t.Errorf("app lastState.terminated = %s, want exitCode 0 (it exits on SIGTERM)", framework.Dump(last))
	}
	for _, v := range w.All() {
		if cs := framework.StatusOf(v.Pod, "app"); cs != nil && (cs.Started != nil && *cs.Started || cs.Ready) {
			t.Errorf("app reported started, ready %v; its startup probe never passed: %s", cs.Ready, framework.Dump(cs))
			break
		}
	}
	env.WaitUnhealthy(t, ns, p.Name, "app", 5*time.Second, "Startup probe failed: cat: can't open '/tmp/started': No such file or directory")
	env.WaitPodEvent(t, ns, p.Name, 5*time.Second, "Normal Killing Container app failed startup probe, will be restarted", func(e v1.Event) bool {
		return e.Reason == "Killing" && e.Message == "Container app failed startup probe, will be restarted"
	})
	for _, e := range env.PodEvents(t, ns, p.Name) {
		if strings.HasPrefix(e.Message, "Liveness probe") || strings.Contains(e.Message, "failed liveness probe") {
			t.Errorf("the liveness probe ran before the container started: %s %s", e.Reason, e.Message)
		}
	}
}

// Each handler passes and fails as expected, as a readiness probe (so a
// failure is seen, not acted on): tcpSocket and httpGet by port name, the
// httpGet's custom header reaching the server, grpc against the project's
// standard health server image (vk-docker/grpc-health: the busybox image has
// none), and exec. A passing probe makes the container
// ready with no Unhealthy event; a failing one keeps it running, not ready,
// with the kubelet's Unhealthy event ("Readiness probe failed: <output>",
// prober.go; the outputs are pkg/probe's).
func TestProbesHandlers(t *testing.T) {
	t.Parallel()
	grpcImage := "vk-docker/grpc-health:" + env.Version // make images; test/images/grpchealth
	if _, err := env.Docker.ImageInspect(context.Background(), grpcImage); err != nil {
		t.Fatalf("image %s is missing (run `make images`): %v", grpcImage, err)
	}
	const (
		// An HTTP server on 8080 that appends each request's head to
		// /tmp/requests, then answers with the status in %s.
		ncServer = `cat > /tmp/h <<'EOF'
#!/bin/sh
cr=$(printf '\r')
while IFS= read -r line; do
  echo "$line" >> /tmp/requests
  [ "$line" = "$cr" ] || [ -z "$line" ] && break
done
printf 'HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
EOF
chmod +x /tmp/h; exec nc -ll -p 8080 -e /tmp/h`
		httpd  = "httpd -f -p 8080 -h /usr/share/nginx/html"
		header = "X-Probe-Token"
	)
	service := func(s string) *string { return &s }
	grpcServer := func(probe v1.GRPCAction) v1.Container {
		return v1.Container{Name: "app", Image: grpcImage, ImagePullPolicy: v1.PullNever,
			ReadinessProbe: &v1.Probe{ProbeHandler: v1.ProbeHandler{GRPC: &probe}}}
	}
	withProbe := func(c v1.Container, h v1.ProbeHandler, ports ...v1.ContainerPort) v1.Container {
		c.ReadinessProbe = &v1.Probe{ProbeHandler: h}
		c.Ports = ports
		return c
	}
	cases := []struct {
		name  string
		app   v1.Container
		fails string                                 // the Unhealthy event's message, {ip} for the pod's IP; "" to pass
		check func(t *testing.T, ns, pod, ip string) // more checks once ready (or failing)
	}{
		{
			name: "tcp-port-name-passes",
			app: withProbe(busybox("app", httpd), v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromString("web")}},
				v1.ContainerPort{Name: "web", ContainerPort: 8080}),
		},
		{
			name: "tcp-port-name-fails",
			app: withProbe(busybox("app", httpd), v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromString("web")}},
				v1.ContainerPort{Name: "web", ContainerPort: 8081}),
			fails: "dial tcp {ip}:8081: connect: connection refused",
		},
		{
			name: "http-port-name-header-passes",
			app: withProbe(busybox("app", fmt.Sprintf(ncServer, "200 OK")), v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{
				Path: "/healthz?from=probe", Port: intstr.FromString("http"),
				HTTPHeaders: []v1.HTTPHeader{{Name: header, Value: "e2e-secret"}},
			}}, v1.ContainerPort{Name: "http", ContainerPort: 8080}),
			check: func(t *testing.T, ns, pod, ip string) {
				req := mustExec(t, ns, pod, "app", "cat", "/tmp/requests")
				// request.go NewRequestForHTTPGetAction, http.go: the
				// kubelet's User-Agent and Accept.
				for _, want := range []string{"GET /healthz?from=probe HTTP/1.1\r\n", "Host: " + ip + ":8080\r\n", header + ": e2e-secret\r\n",
					"User-Agent: kube-probe/", "Accept: */*\r\n"} {
					if !strings.Contains(req, want) {
						t.Errorf("the server's requests lack %q:\n%s", want, req)
					}
				}
			},
		},
		{
			name: "http-fails",
			app: withProbe(busybox("app", fmt.Sprintf(ncServer, "503 Service Unavailable")), v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromInt32(8080)}}),
			fails: "HTTP probe failed with statuscode: 503",
		},
		{name: "grpc-server-passes", app: grpcServer(v1.GRPCAction{Port: 9000})},
		{name: "grpc-service-passes", app: grpcServer(v1.GRPCAction{Port: 9000, Service: service("ok")})},
		{
			name:  "grpc-service-fails",
			app:   grpcServer(v1.GRPCAction{Port: 9000, Service: service("down")}),
			fails: `service unhealthy (responded with "NOT_SERVING")`,
		},
		{
			name:  "grpc-no-server-fails",
			app:   grpcServer(v1.GRPCAction{Port: 9091}),
			fails: `timeout: failed to connect service "{ip}:9091" within 1s: context deadline exceeded`,
		},
		{
			name: "exec-passes",
			app: withProbe(busybox("app", "touch /tmp/healthy; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"),
				v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}}),
		},
		{
			name: "exec-fails",
			app: withProbe(sleeper("app"),
				v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}}),
			fails: "cat: can't open '/tmp/healthy': No such file or directory",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			app := c.app
			app.ReadinessProbe.InitialDelaySeconds, app.ReadinessProbe.PeriodSeconds = 1, 1
			p := pod("probe", app)
			w := env.WatchPod(t, createPod(t, ns, p))
			w.WaitContainerRunning(t, "app")

			if c.fails == "" {
				ready := w.WaitFor(t, 15*time.Second, "app ready", func(p *v1.Pod) bool {
					cs := framework.StatusOf(p, "app")
					return cs != nil && cs.Ready
				})
				time.Sleep(3 * time.Second)
				for _, v := range w.All() {
					if cs := framework.StatusOf(v.Pod, "app"); v.At.After(ready.At) && (cs == nil || !cs.Ready || cs.RestartCount != 0) {
						t.Errorf("app after it became ready: %s; want it ready, not restarted", framework.Dump(cs))
						break
					}
				}
				for _, e := range env.PodEvents(t, ns, p.Name) {
					if e.Reason == "Unhealthy" || e.Reason == "ProbeWarning" {
						t.Errorf("a passing probe gave the event %s: %s", e.Reason, e.Message)
					}
				}
				if c.check != nil {
					c.check(t, ns, p.Name, ready.Pod.Status.PodIP)
				}
				return
			}
			ip := w.WaitFor(t, 10*time.Second, "an IP", func(p *v1.Pod) bool { return p.Status.PodIP != "" }).Pod.Status.PodIP
			e := env.WaitUnhealthy(t, ns, p.Name, "app", 15*time.Second, "Readiness probe failed: "+strings.ReplaceAll(c.fails, "{ip}", ip))
			if e.Count < 2 {
				// Wait for a second attempt: the probe goes on failing.
				e = env.WaitPodEvent(t, ns, p.Name, 5*time.Second, "a repeated Unhealthy event", func(x v1.Event) bool {
					return x.Name == e.Name && x.Count >= 2
				})
			}
			for _, v := range w.All() {
				if cs := framework.StatusOf(v.Pod, "app"); cs != nil && (cs.Ready || cs.RestartCount != 0) {
					t.Errorf("app with a failing readiness probe: %s; want never ready, never restarted", framework.Dump(cs))
					break
				}
			}
			if cs := framework.StatusOf(w.Latest().Pod, "app"); cs == nil || cs.State.Running == nil {
				t.Errorf("app with a failing readiness probe: %s, want running", framework.Dump(cs))
			}
			if c.check != nil {
				c.check(t, ns, p.Name, ip)
			}
		})
	}
}

// A probe whose handler errs (here a port name the container does not
// declare) is not a failure: the kubelet records "<Kind> probe errored and
// resulted in unknown state: <error>" (prober.go probe) and throws the
// result away (worker.go doProbe, "Prober error, throw away the result"),
// so a liveness probe that errs never kills the container.
func TestProbesErroredLivenessDoesNotKill(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	c := sleeper("app")
	c.LivenessProbe = &v1.Probe{
		ProbeHandler:  v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromString("nope")}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}
	p := pod("probe-errors", c)
	w := env.WatchPod(t, createPod(t, ns, p))
	started := w.WaitContainerRunning(t, "app")
	// Five periods, each past failureThreshold if errors counted.
	time.Sleep(time.Until(started.Add(6 * time.Second)))
	for _, v := range w.All() {
		if cs := framework.StatusOf(v.Pod, "app"); cs != nil && cs.RestartCount != 0 {
			t.Errorf("a liveness probe that errs restarted the container: %s", framework.Dump(cs))
			break
		}
	}
	const want = `Liveness probe errored and resulted in unknown state: port "nope" not found`
	var errored bool
	evs := env.PodEvents(t, ns, p.Name)
	for _, e := range evs {
		switch {
		case e.Reason == "Killing":
			t.Errorf("a liveness probe that errs killed the container: %s", e.Message)
		case e.Reason == "Unhealthy" && e.Type == v1.EventTypeWarning && e.InvolvedObject.FieldPath == "spec.containers{app}" && e.Message == want:
			errored = true
		}
	}
	if !errored {
		t.Errorf("no Warning Unhealthy event %q; events:\n  %s", want, framework.EventLines(evs))
	}
}

// An exec probe that hangs (sleep 30) is cut at timeoutSeconds (1 s): the
// Unhealthy event says the command timed out (pkg/probe/exec/exec.go with
// the CRI's ErrCommandTimedOut: `command timed out: "sleep 30" timed out
// after 1s`), arrives within periodSeconds + timeoutSeconds of the start,
// not 30 s, and the probe goes on every period.
func TestProbesExecTimeout(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	c := sleeper("app")
	c.ReadinessProbe = &v1.Probe{
		ProbeHandler:   v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"sleep", "30"}}},
		TimeoutSeconds: 1, PeriodSeconds: 2,
	}
	p := pod("exec-hangs", c)
	w := env.WatchPod(t, createPod(t, ns, p))
	started := w.WaitContainerRunning(t, "app")

	const want = `Readiness probe failed: command timed out: "sleep 30" timed out after 1s`
	env.WaitUnhealthy(t, ns, p.Name, "app", 10*time.Second, want)
	if after := time.Since(started); after > 3*time.Second+probeTolerance {
		t.Errorf("the first timed-out event came %v after the start, want within period + timeout (3 s)", after)
	}
	// Three attempts take about 2 × period + timeout: a hung exec does not
	// hold the next one back.
	e := env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "3 timed-out attempts", func(e v1.Event) bool {
		return e.Reason == "Unhealthy" && strings.TrimSpace(e.Message) == want && e.Count >= 3
	})
	if d := e.LastTimestamp.Sub(started); d > 7*time.Second+probeTolerance {
		t.Errorf("the third timed-out attempt came %v after the start, want about 5 s (2 × period + timeout)", d)
	}
	for _, v := range w.All() {
		if cs := framework.StatusOf(v.Pod, "app"); cs != nil && (cs.Ready || cs.RestartCount != 0) {
			t.Errorf("app with a hanging readiness probe: %s; want never ready, never restarted", framework.Dump(cs))
			break
		}
	}
}

// Readiness during deletion: a ready container whose server stops on
// SIGTERM but whose process takes 3 s more to exit goes not ready (the
// readiness probe keeps running while the pod terminates,
// prober_manager.go AddPod) while it still runs, before the pod goes away.
func TestProbesReadinessDuringDeletion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	c := busybox("web", "httpd -f -p 80 -h /usr/share/nginx/html & pid=$!; "+
		"trap 'kill $pid; sleep 3; exit 0' TERM; while true; do sleep 1 & wait $!; done")
	c.ReadinessProbe = &v1.Probe{
		ProbeHandler:  v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(80)}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}
	p := pod("ready-deleting", c)
	grace := int64(10)
	p.Spec.TerminationGracePeriodSeconds = &grace
	w := env.WatchPod(t, createPod(t, ns, p))
	w.WaitFor(t, 20*time.Second, "web ready", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "web")
		return cs != nil && cs.Ready
	})

	deleted := time.Now()
	if _, err := env.Kubectl(ctx, "-n", ns, "delete", "pod", p.Name, "--wait=false"); err != nil {
		t.Fatal(err)
	}
	unready := w.WaitFor(t, 15*time.Second, "web not ready while terminating", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "web")
		return p.DeletionTimestamp != nil && cs != nil && !cs.Ready
	})
	cs := framework.StatusOf(unready.Pod, "web")
	if cs.State.Running == nil {
		t.Errorf("web went not ready only once it stopped: %s; want not ready while it still runs (it takes 3 s to stop); statuses since the delete:\n%s",
			framework.Dump(cs), webVersions(w.All(), deleted))
	}
	if after := unready.At.Sub(deleted); after > time.Second+probeTolerance {
		t.Errorf("web not ready %v after kubectl delete, want within a period (1 s)", after)
	}
	for _, typ := range []v1.PodConditionType{v1.ContainersReady, v1.PodReady} {
		if c := framework.ConditionOf(unready.Pod, typ); c == nil || c.Status != v1.ConditionFalse {
			t.Errorf("%s once web is not ready = %s, want False", typ, framework.Dump(c))
		}
	}
	w.WaitGone(t, 20*time.Second)
	for _, v := range w.All() {
		if v.At.After(unready.At) {
			if cs := framework.StatusOf(v.Pod, "web"); cs != nil && cs.Ready {
				t.Errorf("web ready again while the pod terminates: %s", framework.Dump(cs))
				break
			}
		}
	}
	if term := w.LastTerminated("web"); term == nil {
		t.Errorf("the pod left the API before web was reported terminated")
	} else if term.ExitCode != 0 {
		t.Errorf("web terminated %s, want exit code 0 (it exits 3 s after SIGTERM)", framework.Dump(term))
	}
}

// webVersions sums up the statuses of container web seen from since on.
func webVersions(vs []framework.PodVersion, since time.Time) string {
	var lines []string
	for _, v := range vs {
		cs := framework.StatusOf(v.Pod, "web")
		if v.At.Before(since) || cs == nil {
			continue
		}
		state := "waiting"
		switch {
		case cs.State.Running != nil:
			state = "running"
		case cs.State.Terminated != nil:
			state = "terminated"
		}
		lines = append(lines, fmt.Sprintf("  +%v deleting=%v %s ready=%v", v.At.Sub(since).Round(time.Millisecond), v.Pod.DeletionTimestamp != nil, state, cs.Ready))
	}
	return strings.Join(lines, "\n")
}
