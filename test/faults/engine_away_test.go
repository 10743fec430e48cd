//go:build faults

package faults

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The engine goes away: the node reaches it through a TCP proxy the suite cuts
// (listener and every open connection) for a while, then restores. The node
// turns NotReady with the kubelet's reason within 10 s and Ready again after;
// the pods' containers, which ran on, are not restarted; a pod created while
// the engine is away shows what a kubelet shows (ContainerCreating with a
// FailedCreatePodSandBox warning naming the engine's error) and starts once
// the engine is back.
func TestEngineUnreachable(t *testing.T) {
	const away = 20 * time.Second
	fig := summary(t, "engine-away")
	ctx := context.Background()
	proxy := framework.NewTCPEngineProxy()
	if err := proxy.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Cut)
	messages := t.TempDir()
	node := startNode(t, framework.NodeOptions{Name: "faults-engine-" + framework.RandomSuffix(), Args: []string{
		"--docker-host", proxy.DockerHost(),
		// The node's directory for termination messages, not one per engine address.
		"--termination-message-dir", messages,
	}})
	ns := namespace(t, "faults-engine")
	var names []string
	for i := range 3 {
		p := churnPod(node.Name, fmt.Sprintf("before-%d", i))
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, p.Name)
	}
	pods, _, err := waitAll(ctx, ns, 2*time.Minute, func(pods map[string]*v1.Pod) bool {
		for _, n := range names {
			if p, ok := pods[n]; !ok || !framework.Running(p) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("pods not running before the cut: %v", err)
	}
	before := map[string]map[string]string{}
	for _, n := range names {
		before[n] = runningIDs(pods[n])
	}

	cut := time.Now()
	proxy.Cut()
	c, notReady, err := waitNodeReady(ctx, node.Name, v1.ConditionFalse, cut, 30*time.Second)
	fig.set("notready_after", "%s", seconds(notReady))
	fig.set("reason", "%s", c.Reason)
	if err != nil {
		t.Errorf("node still Ready %v after the engine went away: %v", notReady, err)
	} else {
		if c.Reason != "KubeletNotReady" || !strings.HasPrefix(c.Message, "container runtime is down") {
			t.Errorf("Ready condition = %s %s %q, want False KubeletNotReady \"container runtime is down...\"", c.Status, c.Reason, c.Message)
		}
		if notReady > 10*time.Second {
			t.Errorf("node NotReady %v after the engine went away, want within 10 s", notReady)
		}
	}

	// A pod arriving while the engine is away.
	late := churnPod(node.Name, "while-away")
	// Bound by name: the scheduler keeps pods off a node that is not Ready.
	late.Spec.NodeSelector, late.Spec.NodeName = nil, node.Name
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, late, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	feedback := waitEvent(ctx, ns, late.Name, time.Until(cut.Add(away)), func(e v1.Event) bool {
		return e.Type == v1.EventTypeWarning && e.Reason == "FailedCreatePodSandBox"
	})
	p, err := env.Client.CoreV1().Pods(ns).Get(ctx, late.Name, metav1.GetOptions{})
	shown := err == nil && containerCreating(p)
	fig.set("feedback_while_away", "%t", feedback != nil && shown)
	if feedback == nil {
		t.Errorf("a pod created while the engine was away got no FailedCreatePodSandBox warning within %v", away)
	}
	if !shown {
		t.Errorf("a pod created while the engine was away does not show ContainerCreating: %v %s", err, framework.Dump(p.Status))
	}
	time.Sleep(time.Until(cut.Add(away)))

	back := time.Now()
	if err := proxy.Listen(); err != nil {
		t.Fatal(err)
	}
	_, ready, err := waitNodeReady(ctx, node.Name, v1.ConditionTrue, back, time.Minute)
	fig.set("ready_after", "%s", seconds(ready))
	if err != nil {
		t.Errorf("node not Ready %v after the engine came back: %v", ready, err)
	}
	all := append([]string{late.Name}, names...)
	pods, took, err := waitAll(ctx, ns, 2*time.Minute, func(pods map[string]*v1.Pod) bool {
		for _, n := range all {
			if p, ok := pods[n]; !ok || !framework.Running(p) {
				return false
			}
		}
		return true
	})
	fig.set("late_pod_running_after", "%s", seconds(took))
	if err != nil {
		t.Errorf("pods not all running %v after the engine came back: %v", took, err)
	}
	var restarted []string
	for _, n := range names {
		p := pods[n]
		if p == nil {
			continue
		}
		restarted = append(restarted, containerChanges(n, p, before[n])...)
	}
	fig.set("restarts", "%d", len(restarted))
	if len(restarted) > 0 {
		t.Errorf("containers restarted across the engine's absence: %v", restarted)
	}
	checkNoPanic(t, fig, node)
}

// waitNodeReady waits for the node's Ready condition to have status want
// and returns it with how long after since it was seen.
func waitNodeReady(ctx context.Context, name string, want v1.ConditionStatus, since time.Time, timeout time.Duration) (v1.NodeCondition, time.Duration, error) {
	c, err := framework.WaitNodeReady(ctx, env, name, want, timeout)
	return c, time.Since(since), err
}

// containerCreating reports whether kubectl would show the pod as
// ContainerCreating: Pending, its containers waiting with that reason.
func containerCreating(p *v1.Pod) bool {
	if p.Status.Phase != v1.PodPending || len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting == nil || cs.State.Waiting.Reason != "ContainerCreating" {
			return false
		}
	}
	return true
}

// waitEvent waits for an event about the pod that match accepts; nil if
// none came within timeout.
func waitEvent(ctx context.Context, ns, pod string, timeout time.Duration, match func(v1.Event) bool) *v1.Event {
	var found *v1.Event
	_ = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, max(timeout, time.Second), true, func(ctx context.Context) (bool, error) {
		list, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
		if err != nil {
			return false, nil
		}
		for i := range list.Items {
			if match(list.Items[i]) {
				found = &list.Items[i]
				return true, nil
			}
		}
		return false, nil
	})
	return found
}
