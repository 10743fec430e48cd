//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

// Issue 13 item 2: the node's admission. Pods bound with spec.nodeName skip
// the scheduler; the node rejects those that cannot run as the kubelet's
// predicate admit handler does (k8s.io/kubernetes v1.37:
// pkg/kubelet/lifecycle/predicate.go): phase Failed, the predicate's
// reason, "Pod was rejected: " and its message, exactly one Warning event,
// and nothing created on the engine.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNodeAdmission(t *testing.T) {
	t.Parallel()
	const taint = "e2e.vk-docker.io/admission=yes"
	n := startNode(t, framework.NodeOptions{
		Name:   "e2e-admit-" + framework.RandomSuffix(),
		Taints: []string{"virtual-kubelet.io/provider=docker:NoSchedule", taint + ":NoExecute"},
		Args:   []string{"--node-labels", "e2e.vk-docker.io/disk=ssd"},
	})
	// The controller manager's taint manager evicts a pod that does not
	// tolerate a NoExecute taint of the API's Node at once, racing the
	// node's admission; the node admits against the taints it was started
	// with, so the taint comes off the API's Node to see admission alone.
	if _, err := env.Kubectl(context.Background(), "taint", "node", n.Name, taint+":NoExecute-"); err != nil {
		t.Fatal(err)
	}
	tolerateAll := []v1.Toleration{{Operator: v1.TolerationOpExists}}
	// bound is a pod bound by name, past the scheduler, tolerating every
	// taint unless a case says otherwise.
	bound := func(name string, containers ...v1.Container) *v1.Pod {
		p := pod(name, containers...)
		p.Spec.NodeSelector = nil
		p.Spec.Tolerations = tolerateAll
		p.Spec.NodeName = n.Name
		return p
	}
	t.Run("cases", func(t *testing.T) {
		t.Run("hostPort-held-by-another-pod", func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			port := int32(freeLocalPort(t))
			web := sleeper("web")
			web.Ports = []v1.ContainerPort{{ContainerPort: 8080, HostPort: port, Protocol: v1.ProtocolTCP}}
			createPod(t, ns, bound("holder", web))
			waitRunning(t, ns, "holder")
			// Another address of the same port is taken too: the first pod
			// holds it on every address.
			web.Ports[0].HostIP = "127.0.0.1"
			expectRejected(t, ns, bound("second", web), "NodePorts",
				"Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports")
		})
		t.Run("requests-above-allocatable", func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			node, err := env.Client.CoreV1().Nodes().Get(context.Background(), n.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			alloc := node.Status.Allocatable[v1.ResourceMemory]
			big := sleeper("app")
			want := resource.NewQuantity(alloc.Value()+1<<30, resource.BinarySI)
			big.Resources.Requests = v1.ResourceList{v1.ResourceMemory: *want}
			// The case's pods request no memory: nothing else is counted.
			expectRejected(t, ns, bound("too-big", big), "OutOfmemory",
				fmt.Sprintf("Node didn't have enough resource: memory, requested: %d, used: 0, capacity: %d", want.Value(), alloc.Value()))
		})
		t.Run("nodeSelector-mismatch", func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			p := bound("elsewhere", sleeper("app"))
			p.Spec.NodeSelector = map[string]string{"e2e.vk-docker.io/disk": "hdd"}
			expectRejected(t, ns, p, "NodeAffinity",
				"Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector")
			// The label the node has is a match.
			ok := bound("on-ssd", sleeper("app"))
			ok.Spec.NodeSelector = map[string]string{"e2e.vk-docker.io/disk": "ssd"}
			createPod(t, ns, ok)
			waitRunning(t, ns, ok.Name)
		})
		t.Run("NoExecute-taint-not-tolerated", func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			p := bound("intolerant", sleeper("app"))
			p.Spec.Tolerations = []v1.Toleration{framework.DefaultTaintToleration} // NoSchedule only
			expectRejected(t, ns, p, "TaintToleration",
				"Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate")
		})
	})
}

// expectRejected creates p and checks that the node rejects it as the
// kubelet does: Failed with reason and "Pod was rejected: "+message, one
// Warning event (reason, message), nothing on the engine, even a while
// later.
func expectRejected(t *testing.T, ns string, p *v1.Pod, reason, message string) {
	t.Helper()
	ctx := context.Background()
	created := createPod(t, ns, p)
	failed, err := framework.WaitForPod(ctx, env, ns, p.Name, 30*time.Second, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if err != nil {
		t.Fatal(err)
	}
	if failed.Status.Reason != reason || failed.Status.Message != "Pod was rejected: "+message {
		t.Errorf("status = %q %q, want %q %q", failed.Status.Reason, failed.Status.Message, reason, "Pod was rejected: "+message)
	}
	if len(failed.Status.ContainerStatuses) != 0 {
		t.Errorf("container statuses of a rejected pod: %s", framework.Dump(failed.Status.ContainerStatuses))
	}
	env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Warning "+reason, func(e v1.Event) bool {
		return e.Type == v1.EventTypeWarning && e.Reason == reason && e.Message == message
	})
	// A retry would show as more events and containers: give it time to.
	time.Sleep(5 * time.Second)
	// The node's events only: the controller manager may have its say (the
	// taint manager's TaintManagerEviction).
	var fromNode []v1.Event
	for _, e := range env.PodEvents(t, ns, p.Name) {
		if e.Source.Component == "kubelet" {
			fromNode = append(fromNode, e)
		}
	}
	if len(fromNode) != 1 || fromNode[0].Count > 1 {
		t.Errorf("the node's events about the rejected pod:\n  %s\nwant exactly one", framework.EventLines(fromNode))
	}
	if cs, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID))); err != nil || len(cs) != 0 {
		t.Errorf("containers of the rejected pod on the engine: %d (%v), want none", len(cs), err)
	}
	if vs, err := env.Docker.VolumeList(ctx, dockerhost.PodSelector(string(created.UID))); err != nil || len(vs) != 0 {
		t.Errorf("volumes of the rejected pod on the engine: %d (%v), want none", len(vs), err)
	}
}
