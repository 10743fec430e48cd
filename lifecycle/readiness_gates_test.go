package lifecycle

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

// Readiness gates as the kubelet's GeneratePodReadyCondition: Ready is
// ContainersReady and every gate's condition True; conditions others wrote
// are kept as they are.
func TestReadinessGatesHoldReadyBack(t *testing.T) {
	gate := v1.PodConditionType("example.com/lb-ready")
	for _, tc := range []struct {
		name        string
		conditions  []v1.PodCondition
		wantStatus  v1.ConditionStatus
		wantReason  string
		wantMessage string
	}{{
		name:        "the gate's condition does not exist",
		wantStatus:  v1.ConditionFalse,
		wantReason:  ReasonReadinessGatesNotReady,
		wantMessage: `corresponding condition of pod readiness gate "example.com/lb-ready" does not exist.`,
	}, {
		name:        "the gate's condition is False",
		conditions:  []v1.PodCondition{{Type: gate, Status: v1.ConditionFalse}},
		wantStatus:  v1.ConditionFalse,
		wantReason:  ReasonReadinessGatesNotReady,
		wantMessage: `the status of pod readiness gate "example.com/lb-ready" is not "True", but False`,
	}, {
		name:       "the gate's condition is True",
		conditions: []v1.PodCondition{{Type: gate, Status: v1.ConditionTrue}},
		wantStatus: v1.ConditionTrue,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			pod := newPod(appContainer())
			pod.Spec.ReadinessGates = []v1.PodReadinessGate{{ConditionType: gate}}
			pod.Status.Conditions = append(pod.Status.Conditions, tc.conditions...)
			h.running(pod)
			s := h.status()
			if c := podCondition(s, v1.ContainersReady); c == nil || c.Status != v1.ConditionTrue {
				t.Fatalf("ContainersReady = %+v, want True", c)
			}
			c := podCondition(s, v1.PodReady)
			if c == nil || c.Status != tc.wantStatus || c.Reason != tc.wantReason || c.Message != tc.wantMessage {
				t.Errorf("Ready = %+v, want %s %q %q", c, tc.wantStatus, tc.wantReason, tc.wantMessage)
			}
			for _, want := range tc.conditions {
				if got := podCondition(s, want.Type); got == nil || got.Status != want.Status {
					t.Errorf("condition %s = %+v, want it kept as written (%s)", want.Type, got, want.Status)
				}
			}
		})
	}
}

// A gate's condition written later (kubectl patch --subresource=status)
// reaches Ready when the worker gets the updated pod.
func TestAReadinessGateTurningTrueMakesThePodReady(t *testing.T) {
	h := newHarness(t)
	gate := v1.PodConditionType("example.com/lb-ready")
	pod := newPod(appContainer())
	pod.Spec.ReadinessGates = []v1.PodReadinessGate{{ConditionType: gate}}
	w := h.running(pod)
	if c := podCondition(h.status(), v1.PodReady); c == nil || c.Status != v1.ConditionFalse {
		t.Fatalf("Ready before the gate = %+v, want False", c)
	}
	updated := w.Pod()
	updated.Status.Conditions = append(updated.Status.Conditions, v1.PodCondition{Type: gate, Status: v1.ConditionTrue})
	w.Update(updated)
	h.sync(w)
	s := h.status()
	if c := podCondition(s, v1.PodReady); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("Ready after the gate turned True = %+v, want True", c)
	}
	if c := podCondition(s, gate); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("the gate's condition = %+v, want it kept", c)
	}
}

func TestForeignConditionsChanged(t *testing.T) {
	gate := v1.PodConditionType("example.com/lb-ready")
	with := func(conds ...v1.PodCondition) *v1.Pod {
		return &v1.Pod{Status: v1.PodStatus{Conditions: conds}}
	}
	for _, tc := range []struct {
		name     string
		old, new *v1.Pod
		want     bool
	}{
		{"a gate's condition appears", with(), with(v1.PodCondition{Type: gate, Status: v1.ConditionTrue}), true},
		{"a gate's condition flips", with(v1.PodCondition{Type: gate, Status: v1.ConditionTrue}), with(v1.PodCondition{Type: gate, Status: v1.ConditionFalse}), true},
		{"only the node's own conditions change", with(v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionFalse}), with(v1.PodCondition{Type: v1.PodReady, Status: v1.ConditionTrue}), false},
		{"nothing changes", with(v1.PodCondition{Type: gate, Status: v1.ConditionTrue}), with(v1.PodCondition{Type: gate, Status: v1.ConditionTrue}), false},
	} {
		if got := ForeignConditionsChanged(tc.old, tc.new); got != tc.want {
			t.Errorf("%s: ForeignConditionsChanged = %v, want %v", tc.name, got, tc.want)
		}
	}
}
