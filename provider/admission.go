package provider

import (
	"runtime"
	"sort"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/lifecycle"
	v1 "k8s.io/api/core/v1"
)

// admitLocked runs the node predicates on a pod that arrives (CreatePod, a
// new static pod) against the pods admitted before it, as the kubelet's
// HandlePodAdditions does in the order pods arrive; p.mu must be held, so
// that two pods arriving together are admitted one after the other. Pods
// adopted from the engine after a restart are not admitted again: they run.
func (p *Provider) admitLocked(pod *v1.Pod, static bool) lifecycle.NodeVerdict {
	node := p.admissionNode()
	v := lifecycle.AdmitOnNode(pod, node, p.admittedLocked(pod), static)
	if v.Reason != "" {
		log.G(p.runCtx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name, "reason": v.Reason}).Info("Pod rejected by the node's admission")
	}
	return v
}

// admissionNode is the node as the predicates read it: labels, taints and
// allocatable as the node reports them; without a node (standalone mode,
// tests), allocatable and a kubelet's own labels.
func (p *Provider) admissionNode() *v1.Node {
	if p.cfg.Node != nil {
		if n := p.cfg.Node(); n != nil {
			return n
		}
	}
	n := &v1.Node{}
	n.Name = p.cfg.NodeName
	// The labels every kubelet gives its node, standalone too.
	n.Labels = map[string]string{v1.LabelHostname: p.cfg.NodeName, v1.LabelOSStable: runtime.GOOS, v1.LabelArchStable: runtime.GOARCH}
	if p.cfg.Allocatable != nil {
		n.Status.Allocatable = p.cfg.Allocatable()
	}
	return n
}

// admittedLocked lists the pods that count against a new pod, oldest first:
// every other pod of the node that was admitted and has not finished. A pod
// adopted from the engine whose API object has not reached its worker yet
// is taken from the API's cache, so that its host ports and requests count.
func (p *Provider) admittedLocked(pod *v1.Pod) []*v1.Pod {
	var out []*v1.Pod
	for uid, w := range p.workers {
		if uid == pod.UID {
			continue
		}
		other := w.AdmittedPod()
		if other == nil || other.Namespace == pod.Namespace && other.Name == pod.Name {
			// A pod of the same name is the predecessor the new pod replaces
			// (an edited static manifest, a pod recreated under its name):
			// it is being stopped, and must not hold its ports against it.
			continue
		}
		if !w.SpecKnown() && p.cfg.APIPods != nil {
			if api, err := p.cfg.APIPods.Pods(other.Namespace).Get(other.Name); err == nil && api.UID == uid {
				other = api
			}
		}
		out = append(out, other)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].CreationTimestamp.Before(&out[j].CreationTimestamp)
	})
	return out
}
