package lifecycle

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// The node's admission rejects, with the kubelet's reasons and words
// (pkg/kubelet/lifecycle/predicate.go over the scheduler's AdmissionCheck),
// the pods that cannot run beside those it admitted before.
func TestAdmitOnNode(t *testing.T) {
	node := &v1.Node{}
	node.Name = testNode
	node.Labels = map[string]string{"kubernetes.io/os": "linux", "disk": "ssd"}
	node.Spec.Taints = []v1.Taint{
		{Key: "virtual-kubelet.io/provider", Value: "docker", Effect: v1.TaintEffectNoSchedule},
	}
	node.Status.Allocatable = v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse("4"),
		v1.ResourceMemory: resource.MustParse("8Gi"),
		v1.ResourcePods:   resource.MustParse("3"),
	}
	noExecute := node.DeepCopy()
	noExecute.Spec.Taints = append(noExecute.Spec.Taints, v1.Taint{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoExecute})

	port := func(hostIP string, proto v1.Protocol, p int32) v1.ContainerPort {
		return v1.ContainerPort{ContainerPort: 80, HostPort: p, HostIP: hostIP, Protocol: proto}
	}
	withPorts := func(ports ...v1.ContainerPort) *v1.Pod {
		c := appContainer()
		c.Ports = ports
		return newPod(c)
	}
	requesting := func(cpu, mem string) *v1.Pod {
		c := appContainer()
		c.Resources.Requests = v1.ResourceList{}
		if cpu != "" {
			c.Resources.Requests[v1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			c.Resources.Requests[v1.ResourceMemory] = resource.MustParse(mem)
		}
		return newPod(c)
	}
	const (
		portsMsg    = "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
		affinityMsg = "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
		taintsMsg   = "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate"
	)
	cases := []struct {
		name    string
		pod     *v1.Pod
		node    *v1.Node
		others  []*v1.Pod
		static  bool
		reason  string
		message string
	}{
		{name: "a plain pod on an empty node", pod: newPod(appContainer())},
		{name: "a host port another pod holds", pod: withPorts(port("", "", 8080)), others: []*v1.Pod{withPorts(port("", v1.ProtocolTCP, 8080))},
			reason: ReasonNodePorts, message: portsMsg},
		{name: "a host port on one address against the same port on every address", pod: withPorts(port("127.0.0.1", v1.ProtocolTCP, 8080)),
			others: []*v1.Pod{withPorts(port("0.0.0.0", v1.ProtocolTCP, 8080))}, reason: ReasonNodePorts, message: portsMsg},
		{name: "the same host port on two addresses", pod: withPorts(port("127.0.0.1", v1.ProtocolTCP, 8080)),
			others: []*v1.Pod{withPorts(port("127.0.0.2", v1.ProtocolTCP, 8080))}},
		{name: "the same host port in another protocol", pod: withPorts(port("", v1.ProtocolUDP, 8080)),
			others: []*v1.Pod{withPorts(port("", v1.ProtocolTCP, 8080))}},
		{name: "a sidecar's host port is held too", pod: withPorts(port("", "", 8080)), others: []*v1.Pod{func() *v1.Pod {
			p := newPod(appContainer())
			sc := sidecarContainer()
			sc.RestartPolicy = ptr.To(v1.ContainerRestartPolicyAlways)
			sc.Ports = []v1.ContainerPort{port("", "", 8080)}
			p.Spec.InitContainers = []v1.Container{sc}
			return p
		}()}, reason: ReasonNodePorts, message: portsMsg},
		{name: "a run-once init container's host port is not", pod: withPorts(port("", "", 8080)), others: []*v1.Pod{func() *v1.Pod {
			p := newPod(appContainer())
			ic := sidecarContainer()
			ic.Ports = []v1.ContainerPort{port("", "", 8080)}
			p.Spec.InitContainers = []v1.Container{ic}
			return p
		}()}},
		{name: "container ports without host ports never conflict", pod: withPorts(port("", "", 0)), others: []*v1.Pod{withPorts(port("", "", 0))}},
		{name: "cpu above allocatable", pod: requesting("5", ""), reason: "OutOfcpu",
			message: "Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000"},
		{name: "cpu above what admitted pods left", pod: requesting("2", ""), others: []*v1.Pod{requesting("1500m", ""), requesting("1", "")},
			reason: "OutOfcpu", message: "Node didn't have enough resource: cpu, requested: 2000, used: 2500, capacity: 4000"},
		{name: "cpu that fits beside admitted pods", pod: requesting("1500m", ""), others: []*v1.Pod{requesting("2500m", "")}},
		{name: "memory above allocatable", pod: requesting("", "9Gi"), reason: "OutOfmemory",
			message: "Node didn't have enough resource: memory, requested: 9663676416, used: 0, capacity: 8589934592"},
		{name: "cpu is checked before memory", pod: requesting("5", "9Gi"), reason: "OutOfcpu",
			message: "Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000"},
		{name: "more pods than the node takes", pod: newPod(appContainer()), others: []*v1.Pod{newPod(appContainer()), newPod(appContainer()), newPod(appContainer())},
			reason: "OutOfpods", message: "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3"},
		{name: "an extended resource the node does not offer is the cluster's", pod: func() *v1.Pod {
			p := newPod(appContainer())
			p.Spec.Containers[0].Resources.Requests = v1.ResourceList{"example.com/dongle": resource.MustParse("1")}
			return p
		}()},
		{name: "ephemeral storage the node does not report", pod: func() *v1.Pod {
			p := newPod(appContainer())
			p.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceEphemeralStorage: resource.MustParse("1Gi")}
			return p
		}(), reason: "OutOfephemeral-storage", message: "Node didn't have enough resource: ephemeral-storage, requested: 1073741824, used: 0, capacity: 0"},
		{name: "a matching nodeSelector", pod: func() *v1.Pod {
			p := newPod(appContainer())
			p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
			return p
		}()},
		{name: "a nodeSelector the node's labels do not match", pod: func() *v1.Pod {
			p := newPod(appContainer())
			p.Spec.NodeSelector = map[string]string{"disk": "hdd"}
			return p
		}(), reason: ReasonNodeAffinity, message: affinityMsg},
		{name: "a required node affinity the node's labels do not match", pod: func() *v1.Pod {
			p := newPod(appContainer())
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpExists}}}},
			}}}
			return p
		}(), reason: ReasonNodeAffinity, message: affinityMsg},
		{name: "a NoSchedule taint is the scheduler's business", pod: newPod(appContainer())},
		{name: "a NoExecute taint not tolerated", pod: newPod(appContainer()), node: noExecute, reason: ReasonTaintToleration, message: taintsMsg},
		{name: "a NoExecute taint tolerated", pod: func() *v1.Pod {
			p := newPod(appContainer())
			p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "gpu", Effect: v1.TaintEffectNoExecute}}
			return p
		}(), node: noExecute},
		{name: "static pods ignore taints", pod: newPod(appContainer()), node: noExecute, static: true},
		{name: "resources are checked before affinity and ports", pod: func() *v1.Pod {
			p := requesting("5", "")
			p.Spec.NodeSelector = map[string]string{"disk": "hdd"}
			return p
		}(), reason: "OutOfcpu", message: "Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000"},
		{name: "affinity is checked before ports", pod: func() *v1.Pod {
			p := withPorts(port("", "", 8080))
			p.Spec.NodeSelector = map[string]string{"disk": "hdd"}
			return p
		}(), others: []*v1.Pod{withPorts(port("", "", 8080))}, reason: ReasonNodeAffinity, message: affinityMsg},
		{name: "an OS label of another OS", pod: func() *v1.Pod {
			p := newPod(appContainer())
			p.Labels = map[string]string{"kubernetes.io/os": "windows"}
			return p
		}(), reason: ReasonPodOSSelectorNodeLabelDoesNotMatch, message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := node
			if c.node != nil {
				n = c.node
			}
			got := AdmitOnNode(c.pod, n, c.others, c.static)
			if got.Reason != c.reason || got.Message != c.message {
				t.Errorf("AdmitOnNode = %q %q, want %q %q", got.Reason, got.Message, c.reason, c.message)
			}
		})
	}
}

// A node without pods or resources in its allocatable (a standalone node
// before its first status) checks neither.
func TestAdmitOnNodeWithoutAllocatable(t *testing.T) {
	c := appContainer()
	c.Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("64")}
	if got := AdmitOnNode(newPod(c), &v1.Node{}, []*v1.Pod{newPod(appContainer())}, false); got.Reason != "" {
		t.Errorf("AdmitOnNode = %+v, want admitted", got)
	}
}

// A pod the node rejected fails at its first sync: phase Failed, the
// predicate's reason, "Pod was rejected: " and its message, one Warning
// event, and nothing created on the engine. The pod then no longer counts
// among the node's pods.
func TestWorkerRejectedOnNode(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	w := NewWorker(h.rt, pod, true)
	msg := "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
	w.RejectOnNode(NodeVerdict{Reason: ReasonNodePorts, Message: msg})
	if w.AdmittedPod() != nil {
		t.Error("a rejected pod still counts among the node's pods")
	}
	h.sync(w)
	h.sync(w)
	s := h.status()
	if s.Phase != v1.PodFailed || s.Reason != ReasonNodePorts || s.Message != "Pod was rejected: "+msg {
		t.Errorf("status = %s %q %q, want Failed %s %q", s.Phase, s.Reason, s.Message, ReasonNodePorts, "Pod was rejected: "+msg)
	}
	if len(s.ContainerStatuses) != 0 {
		t.Errorf("status shows containers: %+v", s.ContainerStatuses)
	}
	if got, want := h.events(), []string{"Warning NodePorts " + msg}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want exactly %q", got, want)
	}
	if got := h.calls(mutations...); len(got) != 0 {
		t.Errorf("the engine was changed: %q", got)
	}
}

// A running pod counts among the node's pods; once it finished it does not,
// unless it is being deleted (its containers may still run).
func TestAdmittedPod(t *testing.T) {
	h := newHarness(t)
	c := appContainer()
	c.Command = []string{"true"}
	pod := newPod(c)
	pod.Spec.RestartPolicy = v1.RestartPolicyNever
	w := NewWorker(h.rt, pod, true)
	if w.AdmittedPod() == nil {
		t.Fatal("a new pod does not count among the node's pods")
	}
	h.sync(w)
	if err := h.docker.SetExited(dockerName(pod, "app", 0), 0, false); err != nil {
		t.Fatal(err)
	}
	h.sync(w)
	h.sync(w)
	if s := h.status(); s.Phase != v1.PodSucceeded {
		t.Fatalf("phase = %s, want Succeeded", s.Phase)
	}
	if got := w.AdmittedPod(); got != nil {
		t.Errorf("a finished pod still counts among the node's pods")
	}
	w.Delete(pod)
	if w.AdmittedPod() == nil {
		t.Errorf("a finished pod being deleted no longer counts")
	}
}
