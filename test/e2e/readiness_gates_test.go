//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
)

// A readiness gate holds Ready back until the condition it names is True,
// as on a kubelet (pkg/kubelet/status/generate.go). The condition is
// written by someone else through the status subresource — here with
// kubectl patch, as a load balancer controller would — and the node keeps
// it as written and re-evaluates Ready within 2 s.
func TestReadinessGateHoldsReadyUntilItsConditionIsTrue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	const gate = "example.com/lb-ready"
	p := pod("gated", sleeper("app"))
	p.Spec.ReadinessGates = []v1.PodReadinessGate{{ConditionType: gate}}
	createPod(t, ns, p)

	conditionIs := func(typ v1.PodConditionType, status v1.ConditionStatus) func(*v1.Pod) bool {
		return func(p *v1.Pod) bool {
			c := framework.ConditionOf(p, typ)
			return c != nil && c.Status == status
		}
	}
	got, err := framework.WaitForPod(ctx, env, ns, "gated", 60*time.Second, "ContainersReady", conditionIs(v1.ContainersReady, v1.ConditionTrue))
	if err != nil {
		t.Fatal(err)
	}
	wantReady(t, got, v1.ConditionFalse, "ReadinessGatesNotReady", `corresponding condition of pod readiness gate "example.com/lb-ready" does not exist.`)

	setGate := func(status v1.ConditionStatus) time.Time {
		t.Helper()
		patch := fmt.Sprintf(`[{"op":"add","path":"/status/conditions/-","value":{"type":%q,"status":%q}}]`, gate, status)
		for i, c := range got.Status.Conditions {
			if c.Type == gate {
				patch = fmt.Sprintf(`[{"op":"replace","path":"/status/conditions/%d/status","value":%q}]`, i, status)
			}
		}
		if _, err := env.Kubectl(ctx, "-n", ns, "patch", "pod", "gated", "--subresource=status", "--type=json", "-p", patch); err != nil {
			t.Fatalf("patch the gate's condition: %v", err)
		}
		return time.Now()
	}

	patched := setGate(v1.ConditionTrue)
	if got, err = framework.WaitForPod(ctx, env, ns, "gated", 10*time.Second, "Ready", conditionIs(v1.PodReady, v1.ConditionTrue)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(patched); d > 2*time.Second {
		t.Errorf("Ready turned True %v after the gate's condition did, want within 2 s", d)
	}
	if c := framework.ConditionOf(got, gate); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("the gate's condition = %+v, want it kept as written (True)", c)
	}

	setGate(v1.ConditionFalse)
	if got, err = framework.WaitForPod(ctx, env, ns, "gated", 10*time.Second, "not Ready", conditionIs(v1.PodReady, v1.ConditionFalse)); err != nil {
		t.Fatal(err)
	}
	wantReady(t, got, v1.ConditionFalse, "ReadinessGatesNotReady", `the status of pod readiness gate "example.com/lb-ready" is not "True", but False`)
}

func wantReady(t *testing.T, p *v1.Pod, status v1.ConditionStatus, reason, message string) {
	t.Helper()
	c := framework.ConditionOf(p, v1.PodReady)
	if c == nil || c.Status != status || c.Reason != reason || c.Message != message {
		t.Errorf("Ready = %+v, want %s, reason %q, message %q", c, status, reason, message)
	}
}
