package provider

import (
	"context"
	"testing"

	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	"github.com/vk-docker/vk-docker/lifecycle"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
)

// Pods are admitted in the order they arrive, each against the pods
// admitted before it: the second pod asking for a host port the first
// holds is rejected, and a third asking for it again once the second was
// rejected is rejected too (a rejected pod holds nothing).
func TestCreatePodAdmitsAgainstEarlierPods(t *testing.T) {
	docker := dockerfake.New()
	docker.AddImage("vk-docker/pause:test", "", "")
	docker.AddImage("example.com/app:1", "", "")
	p, err := New(Config{
		Runtime: lifecycle.Runtime{
			Docker: docker, Node: translate.Node{NodeName: "vk-admit", PauseImage: "vk-docker/pause:test"},
			Recorder: record.NewFakeRecorder(100),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	pod := func(name string, uid types.UID) *v1.Pod {
		return &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: uid},
			Spec: v1.PodSpec{NodeName: "vk-admit", RestartPolicy: v1.RestartPolicyAlways, Containers: []v1.Container{{
				Name: "app", Image: "example.com/app:1", Ports: []v1.ContainerPort{{ContainerPort: 80, HostPort: 18081, Protocol: v1.ProtocolTCP}},
			}}},
		}
	}
	phase := func(namespace, name string) (v1.PodPhase, string) {
		got, err := p.GetPod(ctx, namespace, name)
		if err != nil {
			return "", err.Error()
		}
		return got.Status.Phase, got.Status.Reason
	}
	for _, c := range []struct {
		name   string
		uid    types.UID
		reason string
	}{{"first", "uid-1", ""}, {"second", "uid-2", lifecycle.ReasonNodePorts}, {"third", "uid-3", lifecycle.ReasonNodePorts}} {
		if err := p.CreatePod(ctx, pod(c.name, c.uid)); err != nil {
			t.Fatal(err)
		}
		want := v1.PodRunning
		if c.reason != "" {
			want = v1.PodFailed
		}
		waitFor(t, func() bool { ph, _ := phase("default", c.name); return ph == want })
		if ph, reason := phase("default", c.name); reason != c.reason {
			t.Errorf("pod %s: %s %q, want %s %q", c.name, ph, reason, want, c.reason)
		}
	}

	// A pod recreated under the name of one being stopped (the predecessor
	// it replaces) is not rejected for the ports its predecessor holds.
	first, err := p.GetPod(ctx, "default", "first")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.DeletePod(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := p.CreatePod(ctx, pod("first", "uid-4")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		got, err := p.GetPod(ctx, "default", "first")
		return err == nil && got.UID == "uid-4" && (got.Status.Phase == v1.PodRunning || got.Status.Phase == v1.PodFailed)
	})
	if got, _ := p.GetPod(ctx, "default", "first"); got.Status.Phase != v1.PodRunning {
		t.Errorf("the successor of a pod being stopped: %s %q, want admitted", got.Status.Phase, got.Status.Reason)
	}
}
