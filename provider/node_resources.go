package provider

import (
	"github.com/docker/docker/api/types/system"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The node's resources have one meaning each, here:
//   - capacity is what the Docker host has: the engine's CPUs and memory
//     (and the pods the node takes, --max-pods);
//   - allocatable is capacity less what is reserved: on a host shared by
//     several vk-docker nodes, what the other nodes' pods requested;
//   - a resourceFieldRef to a limit a container does not set is the node's
//     allocatable, as on the kubelet (defaultPodLimitsForDownwardAPI reads
//     node.Status.Allocatable): NodeStatus.Allocatable.

// HostCapacity is the CPU and memory capacity of the engine's host.
func HostCapacity(info system.Info) v1.ResourceList {
	return v1.ResourceList{
		v1.ResourceCPU:    *resource.NewQuantity(int64(info.NCPU), resource.DecimalSI),
		v1.ResourceMemory: *resource.NewQuantity(info.MemTotal, resource.BinarySI),
	}
}

// Allocatable is capacity less reserved, never below zero, for CPU and
// memory; the other resources (pods) are all allocatable.
func Allocatable(capacity, reserved v1.ResourceList) v1.ResourceList {
	out := capacity.DeepCopy()
	if out == nil {
		out = v1.ResourceList{}
	}
	for _, r := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
		q, ok := out[r]
		if !ok {
			continue
		}
		q.Sub(reserved[r])
		if q.Sign() < 0 {
			q = *resource.NewQuantity(0, q.Format)
		}
		out[r] = q
	}
	return out
}
