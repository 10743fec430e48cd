package volumes

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// A projected token is requested once, bound to the pod, served from the
// cache, and renewed once 80% of its lifetime has passed (the kubelet's rule).
func TestTokenRenewedAtEightyPercentOfLifetime(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2031, 5, 6, 7, 0, 0, 0, time.UTC))
	kube := fake.NewClientset()
	var reqs []*authenticationv1.TokenRequest
	kube.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca := a.(k8stesting.CreateAction)
		if ca.GetSubresource() != "token" {
			return false, nil, nil
		}
		tr := ca.GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		reqs = append(reqs, tr)
		tr.Status = authenticationv1.TokenRequestStatus{
			Token:               "token-" + string(rune('0'+len(reqs))),
			ExpirationTimestamp: metav1.NewTime(clk.Now().Add(time.Duration(*tr.Spec.ExpirationSeconds) * time.Second)),
		}
		return true, tr, nil
	})
	tc := NewTokenCache(kube, clk)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns1", UID: "uid-1"}, Spec: v1.PodSpec{ServiceAccountName: "robot"}}
	get := func() string {
		t.Helper()
		tok, err := tc.Token(context.Background(), pod, "vault", ptr.To[int64](600))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if tok := get(); tok != "token-1" {
		t.Fatalf("first token = %q", tok)
	}
	r := reqs[0]
	if r.Spec.BoundObjectRef == nil || r.Spec.BoundObjectRef.Kind != "Pod" || r.Spec.BoundObjectRef.Name != "web" || r.Spec.BoundObjectRef.UID != "uid-1" ||
		len(r.Spec.Audiences) != 1 || r.Spec.Audiences[0] != "vault" || *r.Spec.ExpirationSeconds != 600 {
		t.Errorf("token request = %+v, want bound to pod web, audience vault, 600 s", r.Spec)
	}
	if a := kube.Actions()[0]; a.GetNamespace() != "ns1" || a.(k8stesting.CreateAction).GetObject() == nil {
		t.Errorf("request went to namespace %q", a.GetNamespace())
	}
	clk.Step(479 * time.Second) // just under 80% of 600 s
	if tok := get(); tok != "token-1" || len(reqs) != 1 {
		t.Fatalf("at 479 s: token %q after %d requests, want the cached token-1", tok, len(reqs))
	}
	clk.Step(2 * time.Second) // past 480 s
	if tok := get(); tok != "token-2" || len(reqs) != 2 {
		t.Fatalf("at 481 s: token %q after %d requests, want a renewed token-2", tok, len(reqs))
	}
	clk.Step(479 * time.Second)
	if tok := get(); tok != "token-2" {
		t.Fatalf("the renewed token was renewed again too early: %q", tok)
	}
}

// When renewal fails, the old token is served while it is still valid.
func TestTokenKeptWhileValidWhenRenewalFails(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2031, 5, 6, 7, 0, 0, 0, time.UTC))
	kube := fake.NewClientset()
	fail := false
	kube.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if fail {
			return true, nil, context.DeadlineExceeded
		}
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		tr.Status = authenticationv1.TokenRequestStatus{Token: "t", ExpirationTimestamp: metav1.NewTime(clk.Now().Add(600 * time.Second))}
		return true, tr, nil
	})
	tc := NewTokenCache(kube, clk)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns1", UID: "uid-1"}}
	if _, err := tc.Token(context.Background(), pod, "", ptr.To[int64](600)); err != nil {
		t.Fatal(err)
	}
	fail = true
	clk.Step(500 * time.Second)
	if tok, err := tc.Token(context.Background(), pod, "", ptr.To[int64](600)); err != nil || tok != "t" {
		t.Fatalf("during failed renewal: %q, %v; want the still valid token", tok, err)
	}
	clk.Step(101 * time.Second)
	if _, err := tc.Token(context.Background(), pod, "", ptr.To[int64](600)); err == nil {
		t.Fatal("an expired token was served")
	}
}
