//go:build e2e_timing || e2e_sandbox_probes

package e2e

import (
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
)

// A native sidecar with a startupProbe counts as started only once that
// probe passes, and the app container waits for it
// (kuberuntime_container.go computeInitContainerActions). The sidecar's
// probe passes once /tmp/ready appears, 4 s after its start; the app starts
// after that (status timestamps, second precision), and meanwhile the
// sidecar is reported running but not started.
func TestProbesSidecarStartupProbeHoldsBackTheApp(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	always := v1.ContainerRestartPolicyAlways
	sc := busybox("sidecar", "trap 'exit 0' TERM; sleep 4; touch /tmp/ready; while true; do sleep 1 & wait; done")
	sc.RestartPolicy = &always
	sc.StartupProbe = &v1.Probe{
		ProbeHandler:  v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"test", "-f", "/tmp/ready"}}},
		PeriodSeconds: 1, FailureThreshold: 30,
	}
	p := pod("sidecar-startup", sleeper("app"))
	p.Spec.InitContainers = []v1.Container{sc}
	w := env.WatchPod(t, createPod(t, ns, p))

	running := waitRunning(t, ns, p.Name)
	side, app := framework.StatusOf(running, "sidecar"), framework.StatusOf(running, "app")
	if side == nil || side.State.Running == nil || app == nil || app.State.Running == nil {
		t.Fatalf("running pod: sidecar %s, app %s; want both running", framework.Dump(side), framework.Dump(app))
	}
	if d := app.State.Running.StartedAt.Sub(side.State.Running.StartedAt.Time); d < 3*time.Second {
		t.Errorf("app started %v after the sidecar (%v, %v), want after the sidecar's startup probe passed, 4 s after its start",
			d, side.State.Running.StartedAt, app.State.Running.StartedAt)
	}
	sawUnstarted := false
	for _, v := range w.All() {
		s, a := framework.StatusOf(v.Pod, "sidecar"), framework.StatusOf(v.Pod, "app")
		if s == nil || s.State.Running == nil || (s.Started != nil && *s.Started) {
			continue
		}
		sawUnstarted = true
		if a != nil && (a.ContainerID != "" || a.State.Waiting == nil || a.State.Waiting.Reason != "PodInitializing") {
			t.Errorf("app while the sidecar had not started: %s, want waiting PodInitializing", framework.Dump(a))
		}
		if v.Pod.Status.Phase != v1.PodPending {
			t.Errorf("phase while the sidecar had not started = %s, want Pending", v.Pod.Status.Phase)
		}
	}
	if !sawUnstarted {
		t.Error("the sidecar was never reported running and not started: its startup probe did not hold it")
	}
}
