//go:build e2e_timing

package e2e

import (
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Once the startup probe succeeds the kubelet runs the readiness probe at
// once (the prober manager's manual trigger), not a whole readiness period
// later: with periodSeconds 60, the container is Ready within 2 s of being
// started, not up to a minute after.
func TestProbesReadinessRightAfterStartup(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	c := busybox("app", "sleep 8; touch /tmp/started; trap 'exit 0' TERM; while true; do sleep 1; done")
	exec := func(cmd ...string) v1.ProbeHandler { return v1.ProbeHandler{Exec: &v1.ExecAction{Command: cmd}} }
	c.StartupProbe = &v1.Probe{ProbeHandler: exec("test", "-f", "/tmp/started"), PeriodSeconds: 5, FailureThreshold: 10}
	c.ReadinessProbe = &v1.Probe{ProbeHandler: exec("true"), PeriodSeconds: 60}
	created := createPod(t, ns, pod("startup-ready", c))
	w := env.WatchPod(t, created)

	started := w.WaitFor(t, 60*time.Second, "started", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "app")
		return cs != nil && ptr.Deref(cs.Started, false)
	})
	ready := w.WaitFor(t, 10*time.Second, "ready", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "app")
		return cs != nil && cs.Ready
	})
	if d := ready.At.Sub(started.At); d > 2*time.Second {
		t.Errorf("Ready %v after the startup probe succeeded, want within 2 s (the readiness period is 60 s)", d)
	}
}
