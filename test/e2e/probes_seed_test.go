package e2e

import (
	"context"
	"testing"
	"time"

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
	w := watchPod(t, createPod(t, ns, p))

	ready := w.waitFor(t, 30*time.Second, "nginx ready", func(p *v1.Pod) bool {
		cs := statusOf(p, "nginx")
		return cs != nil && cs.Ready
	})
	cs := statusOf(ready.pod, "nginx")
	if cs.State.Running == nil {
		t.Fatalf("nginx ready but %s, want running", dump(cs))
	}
	started := cs.State.Running.StartedAt.Time
	// startedAt has second precision.
	if after := ready.at.Sub(started); after > 3*time.Second {
		t.Errorf("nginx ready %v after its start, want at once (no probe)", after)
	}
	for _, typ := range []v1.PodConditionType{v1.ContainersReady, v1.PodReady} {
		if c := conditionOf(ready.pod, typ); c == nil || c.Status != v1.ConditionTrue {
			t.Errorf("%s once nginx runs = %s, want True", typ, dump(c))
		}
	}
	if time.Since(started) < 8*time.Second {
		if out, err := env.Exec(ctx, ns, p.Name, "nginx", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"); err == nil {
			t.Errorf("the server answered %v after the start (%q); want nothing listening before 10 s", time.Since(started), out)
		}
	}
}
