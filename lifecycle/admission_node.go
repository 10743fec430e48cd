package lifecycle

// The node predicates of the kubelet's admission: its predicate admit
// handler (pkg/kubelet/lifecycle/predicate.go) runs the scheduler's
// AdmissionCheck (resources, node affinity, node name, host ports) and
// checks NoExecute taints, against the node as it describes itself and the
// pods it already admitted. A pod bound with spec.nodeName never met the
// scheduler: these checks are all that stand between it and the node.

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// Admission reasons of the node predicates, with the kubelet's words.
const (
	// ReasonPodOSSelectorNodeLabelDoesNotMatch: the pod's kubernetes.io/os
	// label names another OS than the node's.
	ReasonPodOSSelectorNodeLabelDoesNotMatch = "PodOSSelectorNodeLabelDoesNotMatch"
	// ReasonNodeAffinity: the pod's nodeSelector or required node affinity
	// does not match the node's labels.
	ReasonNodeAffinity = "NodeAffinity"
	// ReasonNodePorts: a hostPort of the pod is held by another pod.
	ReasonNodePorts = "NodePorts"
	// ReasonTaintToleration: the node has a NoExecute taint the pod does
	// not tolerate.
	ReasonTaintToleration = "TaintToleration"
	// reasonOutOfPrefix prefixes the resource name of an insufficient
	// resource: OutOfcpu, OutOfmemory, OutOfpods, OutOfephemeral-storage.
	reasonOutOfPrefix = "OutOf"

	messageOSSelector = "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"
	// The scheduler plugins' failure reasons.
	errNodeAffinity = "node(s) didn't match Pod's node affinity/selector"
	errNodePorts    = "node(s) didn't have free ports for the requested pod ports"
	errTaints       = "node(s) had taints that the pod didn't tolerate"
)

// NodeVerdict is the outcome of the node predicates: a zero Reason admits
// the pod, any other rejects it with Message.
type NodeVerdict struct {
	Reason, Message string
}

// AdmitOnNode decides, as the kubelet's predicate admit handler does,
// whether pod may run on node beside others: the pods the node admitted
// before it that still count (not finished, not rejected). The first
// failing predicate gives the verdict, in the kubelet's order: the OS
// label, resources (pods, cpu, memory, ephemeral-storage, others), node
// affinity, host ports, then NoExecute taints (skipped for static pods).
// node supplies labels, taints and status.allocatable. Without any
// allocatable, resources are not checked; pods only when allocatable has
// them; a request of another native resource the node does not offer
// cannot fit, as for the scheduler.
func AdmitOnNode(pod *v1.Pod, node *v1.Node, others []*v1.Pod, static bool) NodeVerdict {
	if os, ok := pod.Labels[v1.LabelOSStable]; ok && os != nodeOS(node) {
		return NodeVerdict{ReasonPodOSSelectorNodeLabelDoesNotMatch, messageOSSelector}
	}
	if r := insufficientResource(pod, node.Status.Allocatable, others); r != nil {
		return NodeVerdict{reasonOutOfPrefix + string(r.name), r.message()}
	}
	if ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !ok {
		return predicateFailed(ReasonNodeAffinity, errNodeAffinity)
	}
	if pod.Spec.NodeName != "" && node.Name != "" && pod.Spec.NodeName != node.Name {
		return predicateFailed("NodeName", "node(s) didn't match the requested node name")
	}
	if hostPortsConflict(pod, others) {
		return predicateFailed(ReasonNodePorts, errNodePorts)
	}
	if !static {
		// The kubelet looks only at NoExecute taints: NoSchedule is the
		// scheduler's business, and a pod bound by name skips it on purpose.
		_, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, pod.Spec.Tolerations,
			func(t *v1.Taint) bool { return t.Effect == v1.TaintEffectNoExecute }, false)
		if untolerated {
			return predicateFailed(ReasonTaintToleration, errTaints)
		}
	}
	return NodeVerdict{}
}

// predicateFailed is the kubelet's PredicateFailureError: the predicate's
// name is the reason.
func predicateFailed(name, desc string) NodeVerdict {
	return NodeVerdict{name, fmt.Sprintf("Predicate %s failed: %s", name, desc)}
}

// nodeOS is the node's kubernetes.io/os label; the kubelet takes its own OS
// when the label is missing or wrong.
func nodeOS(node *v1.Node) string {
	if os := node.Labels[v1.LabelOSStable]; os == runtime.GOOS {
		return os
	}
	return runtime.GOOS
}

// insufficient is the kubelet's InsufficientResourceError.
type insufficient struct {
	name                      v1.ResourceName
	requested, used, capacity int64
}

func (r *insufficient) message() string {
	return fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d",
		r.name, r.requested, r.used, r.capacity)
}

// insufficientResource is the first resource the pod needs more of than
// the node's allocatable leaves beside others' requests, as the scheduler's
// noderesources.Fits counts them (CPU in millicores, the rest in units).
func insufficientResource(pod *v1.Pod, allocatable v1.ResourceList, others []*v1.Pod) *insufficient {
	if len(allocatable) == 0 {
		return nil // the node does not know its resources yet
	}
	if q, ok := allocatable[v1.ResourcePods]; ok && int64(len(others))+1 > q.Value() {
		return &insufficient{v1.ResourcePods, 1, int64(len(others)), q.Value()}
	}
	want := podRequests(pod, allocatable)
	if len(want) == 0 {
		return nil
	}
	used := map[v1.ResourceName]int64{}
	for _, o := range others {
		for name, v := range podRequests(o, allocatable) {
			used[name] += v
		}
	}
	names := []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage}
	var rest []v1.ResourceName
	for name := range want {
		if !slices.Contains(names, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range append(names, rest...) {
		req := want[name]
		if req <= 0 {
			continue
		}
		capacity := amount(name, allocatable[name])
		if req > capacity-used[name] {
			return &insufficient{name, req, used[name], capacity}
		}
	}
	return nil
}

// podRequests is what a pod requests (init containers, sidecars and
// overhead counted as the scheduler does), by resource. Extended resources
// the node does not offer are dropped, as the kubelet drops them: they are
// the cluster's, not the node's.
func podRequests(pod *v1.Pod, allocatable v1.ResourceList) map[v1.ResourceName]int64 {
	out := map[v1.ResourceName]int64{}
	for name, q := range resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}) {
		if _, offered := allocatable[name]; !offered && isExtendedResource(name) {
			continue
		}
		if v := amount(name, q); v > 0 {
			out[name] = v
		}
	}
	return out
}

func amount(name v1.ResourceName, q resource.Quantity) int64 {
	if name == v1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// isExtendedResource is the API's test: a resource name with a domain
// outside kubernetes.io (and not a quota's requests.* name).
func isExtendedResource(name v1.ResourceName) bool {
	s := string(name)
	return strings.Contains(s, "/") && !strings.Contains(s, v1.ResourceDefaultNamespacePrefix) &&
		!strings.HasPrefix(s, v1.DefaultResourceRequestsPrefix)
}

// hostPort is one host port a pod holds; an empty or 0.0.0.0 IP is every
// address of the host.
type hostPort struct {
	ip, protocol string
	port         int32
}

// hostPortsOf lists the host ports of a pod's sidecars (init containers
// that run all along) and app containers, as the scheduler's NodePorts
// counts them.
func hostPortsOf(pod *v1.Pod) []hostPort {
	var out []hostPort
	var containers []v1.Container
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			containers = append(containers, c)
		}
	}
	for _, c := range append(containers, pod.Spec.Containers...) {
		for _, p := range c.Ports {
			if p.HostPort <= 0 {
				continue
			}
			hp := hostPort{ip: p.HostIP, protocol: string(p.Protocol), port: p.HostPort}
			if hp.ip == "" {
				hp.ip = "0.0.0.0"
			}
			if hp.protocol == "" {
				hp.protocol = string(v1.ProtocolTCP)
			}
			out = append(out, hp)
		}
	}
	return out
}

// hostPortsConflict reports whether a host port of pod is held by one of
// others: same protocol and port, and the same address or either side on
// every address.
func hostPortsConflict(pod *v1.Pod, others []*v1.Pod) bool {
	want := hostPortsOf(pod)
	if len(want) == 0 {
		return false
	}
	for _, o := range others {
		for _, held := range hostPortsOf(o) {
			for _, w := range want {
				if w.protocol == held.protocol && w.port == held.port &&
					(w.ip == held.ip || w.ip == "0.0.0.0" || held.ip == "0.0.0.0") {
					return true
				}
			}
		}
	}
	return false
}
