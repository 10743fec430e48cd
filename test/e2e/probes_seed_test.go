//go:build e2e_timing || e2e_sandbox_probes

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
)

// Seed section 7.2, first pod: without a probe the container is ready as
// soon as it runs (prober_manager.go UpdatePodStatus: no readiness probe,
// ready), although its web server only listens 10 s after the start; so
// the pod is Ready while nothing answers yet — what the seed's readiness
// probe (TestProbesSeedReadinessTCP) is for.
func TestProbesSeedNoProbeIsReadyAsSoonAsItRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	p := seedPod(t, "no-probe.yaml")
	grace := int64(1)
	p.Spec.TerminationGracePeriodSeconds = &grace
	w := env.WatchPod(t, createPod(t, ns, p))

	ready := w.WaitFor(t, 30*time.Second, "nginx ready", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "nginx")
		return cs != nil && cs.Ready
	})
	cs := framework.StatusOf(ready.Pod, "nginx")
	if cs.State.Running == nil {
		t.Fatalf("nginx ready but %s, want running", framework.Dump(cs))
	}
	started := cs.State.Running.StartedAt.Time
	// startedAt has second precision.
	if after := ready.At.Sub(started); after > 3*time.Second {
		t.Errorf("nginx ready %v after its start, want at once (no probe)", after)
	}
	for _, typ := range []v1.PodConditionType{v1.ContainersReady, v1.PodReady} {
		if c := framework.ConditionOf(ready.Pod, typ); c == nil || c.Status != v1.ConditionTrue {
			t.Errorf("%s once nginx runs = %s, want True", typ, framework.Dump(c))
		}
	}
	if time.Since(started) < 8*time.Second {
		if out, err := env.Exec(ctx, ns, p.Name, "nginx", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"); err == nil {
			t.Errorf("the server answered %v after the start (%q); want nothing listening before 10 s", time.Since(started), out)
		}
	}
}
