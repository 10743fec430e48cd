package framework

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// PodEvents lists the events about a pod.
func (e *Env) PodEvents(t testing.TB, ns, pod string) []v1.Event {
	t.Helper()
	list, err := e.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// EventLines renders events one a line for failure messages.
func EventLines(evs []v1.Event) string {
	lines := make([]string, 0, len(evs))
	for _, e := range evs {
		lines = append(lines, fmt.Sprintf("%s %s %s (×%d): %s", e.Type, e.Reason, e.InvolvedObject.FieldPath, e.Count, e.Message))
	}
	return strings.Join(lines, "\n  ")
}

// WaitUnhealthy waits for the kubelet's Unhealthy Warning event about a
// container with message (compared without surrounding white space: the
// kubelet keeps an exec's trailing newline).
func (e *Env) WaitUnhealthy(t testing.TB, ns, pod, container string, timeout time.Duration, message string) v1.Event {
	t.Helper()
	field := "spec.containers{" + container + "}"
	return e.WaitPodEvent(t, ns, pod, timeout, "Warning Unhealthy "+field+" "+message, func(ev v1.Event) bool {
		return ev.Type == v1.EventTypeWarning && ev.Reason == "Unhealthy" && ev.InvolvedObject.FieldPath == field &&
			strings.TrimSpace(ev.Message) == message
	})
}

// WaitPodEvent waits for an event about the pod that match accepts; on a
// timeout it reports the events there are.
func (e *Env) WaitPodEvent(t testing.TB, ns, pod string, timeout time.Duration, what string, match func(v1.Event) bool) v1.Event {
	t.Helper()
	var (
		found   v1.Event
		last    []v1.Event
		lastErr error
	)
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := e.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
		if err != nil {
			lastErr = err
			return false, nil
		}
		last = list.Items
		for _, ev := range list.Items {
			if match(ev) {
				found = ev
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no event %q about pod %s within %v (last error: %v); events:\n  %s", what, pod, timeout, lastErr, EventLines(last))
	}
	return found
}
