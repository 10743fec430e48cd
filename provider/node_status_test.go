package provider

import (
	"context"
	"errors"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func startingNode(name string) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: v1.NodeStatus{Conditions: []v1.NodeCondition{
			{Type: v1.NodeReady, Status: v1.ConditionFalse, Reason: notReadyReason, Message: "vk-docker is starting"},
		}},
	}
}

func readyCondition(t *testing.T, n *v1.Node) v1.NodeCondition {
	t.Helper()
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c
		}
	}
	t.Fatalf("node has no Ready condition: %+v", n.Status.Conditions)
	return v1.NodeCondition{}
}

// The node follows the engine: NotReady with the kubelet's reason while it
// does not answer, Ready again when it does; unchanged checks send nothing.
func TestNodeReadyFollowsTheEngine(t *testing.T) {
	ctx := context.Background()
	docker := dockerfake.New()
	s, err := NewNodeStatus(NodeStatusConfig{Docker: docker, NodeName: "vk-a"}, startingNode("vk-a"))
	if err != nil {
		t.Fatal(err)
	}
	var sent []*v1.Node
	s.NotifyNodeStatus(ctx, func(n *v1.Node) { sent = append(sent, n) })

	steps := []struct {
		name       string
		pingErr    error
		wantSent   int
		wantStatus v1.ConditionStatus
		wantReason string
		wantMsg    string
	}{
		{name: "engine answers", wantSent: 1, wantStatus: v1.ConditionTrue, wantReason: "KubeletReady", wantMsg: "kubelet is posting ready status"},
		{name: "still answers: nothing new", wantSent: 1, wantStatus: v1.ConditionTrue, wantReason: "KubeletReady"},
		{name: "engine gone", pingErr: errors.New("dial unix /run/docker.sock: connect: connection refused"), wantSent: 2, wantStatus: v1.ConditionFalse, wantReason: "KubeletNotReady",
			wantMsg: "container runtime is down: dial unix /run/docker.sock: connect: connection refused"},
		{name: "engine back", wantSent: 3, wantStatus: v1.ConditionTrue, wantReason: "KubeletReady", wantMsg: "kubelet is posting ready status"},
	}
	for _, st := range steps {
		docker.InjectError("Ping", st.pingErr)
		s.Check(ctx)
		if len(sent) != st.wantSent {
			t.Fatalf("%s: %d statuses sent, want %d", st.name, len(sent), st.wantSent)
		}
		c := readyCondition(t, sent[len(sent)-1])
		if c.Status != st.wantStatus || c.Reason != st.wantReason || (st.wantMsg != "" && c.Message != st.wantMsg) {
			t.Errorf("%s: Ready = %s %s %q, want %s %s %q", st.name, c.Status, c.Reason, c.Message, st.wantStatus, st.wantReason, st.wantMsg)
		}
	}
	if n := sent[len(sent)-1]; n.Status.NodeInfo.ContainerRuntimeVersion != "docker://fake" || n.Status.Capacity.Cpu().Value() != 4 {
		t.Errorf("nodeInfo/capacity = %+v %v, want docker://fake and the engine's 4 CPUs", n.Status.NodeInfo, n.Status.Capacity)
	}
}

// Several nodes may share one Docker host: allocatable leaves out what the
// other nodes' running pods there requested (read from their sandboxes'
// labels), but not this node's own pods (the scheduler counts those).
func TestAllocatableLeavesOutOtherNodesPodsOnTheSameEngine(t *testing.T) {
	ctx := context.Background()
	docker := dockerfake.New()
	docker.SetInfo(8, 16<<30)
	docker.AddImage("pause", "", "")
	for _, sb := range []struct {
		name, node, requests string
		running              bool
	}{
		{"own", "vk-a", "cpu=1,memory=1Gi", true},
		{"other", "vk-b", "cpu=2,memory=3Gi", true},
		{"other-done", "vk-b", "cpu=4,memory=4Gi", false},
		{"other-besteffort", "vk-c", "", true},
	} {
		labels := map[string]string{dockerhost.LabelNode: sb.node, dockerhost.LabelPodUID: "u-" + sb.name,
			dockerhost.LabelDockerType: dockerhost.DockerTypeSandbox}
		if sb.requests != "" {
			labels[dockerhost.LabelPodRequests] = sb.requests
		}
		resp, err := docker.ContainerCreate(ctx, &container.Config{Image: "pause", Labels: labels}, nil, nil, "k8s_POD_"+sb.name)
		if err != nil {
			t.Fatal(err)
		}
		if sb.running {
			if err := docker.ContainerStart(ctx, resp.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := checkedNode(t, docker)
	if c := got.Status.Capacity; c.Cpu().String() != "8" || c.Memory().String() != "16Gi" {
		t.Errorf("capacity = cpu %s memory %s, want the host's 8 and 16Gi", c.Cpu(), c.Memory())
	}
	if a := got.Status.Allocatable; a.Cpu().String() != "6" || a.Memory().String() != "13Gi" {
		t.Errorf("allocatable = cpu %s memory %s, want 6 and 13Gi (the host minus vk-b's running pod)", a.Cpu(), a.Memory())
	}
}

// checkedNode is the status node "vk-a" sends after one check of docker.
func checkedNode(t *testing.T, docker dockerhost.Client) *v1.Node {
	t.Helper()
	ctx := context.Background()
	s, err := NewNodeStatus(NodeStatusConfig{Docker: docker, NodeName: "vk-a"}, startingNode("vk-a"))
	if err != nil {
		t.Fatal(err)
	}
	var got *v1.Node
	s.NotifyNodeStatus(ctx, func(n *v1.Node) { got = n })
	s.Check(ctx)
	if got == nil {
		t.Fatal("no status sent")
	}
	return got
}

func TestNodeImagesListNamedImagesLargestFirst(t *testing.T) {
	docker := dockerfake.New()
	docker.AddImage("vk-docker/busybox:0.1.0", "", "")
	got := checkedNode(t, docker)
	if len(got.Status.Images) != 1 || got.Status.Images[0].Names[0] != "vk-docker/busybox:0.1.0" {
		t.Errorf("images = %+v, want the engine's one image by name", got)
	}
}
