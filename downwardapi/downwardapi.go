// Package downwardapi resolves fieldRef and resourceFieldRef selectors, the
// one path behind both env variables and downwardAPI volume files.
package downwardapi

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubectl/pkg/util/fieldpath"
	kresource "k8s.io/kubectl/pkg/util/resource"
)

// Status is what a fieldRef to the pod's status sees: known only once the
// sandbox runs, so empty for a downwardAPI volume (the API allows none of
// these fields there).
type Status struct {
	PodIP, HostIP string
}

// PodField is the value of a pod field a fieldRef selects, as the kubelet
// resolves it (metadata through fieldpath, labels and annotations in its
// `key="value"` format).
func PodField(pod *v1.Pod, fieldPath string, status Status) (string, error) {
	switch fieldPath {
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return status.HostIP, nil
	case "status.podIP", "status.podIPs":
		return status.PodIP, nil
	}
	return fieldpath.ExtractFieldPathAsString(pod, fieldPath)
}

// ContainerResource is the value of a container's resource a
// resourceFieldRef selects (limit or request divided by the divisor, rounded
// up). The container is ref.ContainerName, or self when that is empty. A
// limit the container does not set is the node's allocatable amount, as on
// the kubelet (defaultPodLimitsForDownwardAPI).
func ContainerResource(pod *v1.Pod, self string, ref *v1.ResourceFieldSelector, allocatable v1.ResourceList) (string, error) {
	name := ref.ContainerName
	if name == "" {
		name = self
	}
	var target *v1.Container
	// An init container wins over an app container of the same name, as in
	// the kubelet's lookup.
	for _, list := range [][]v1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				target = &list[i]
			}
		}
	}
	if target == nil {
		return "", fmt.Errorf("container %q referenced by resourceFieldRef not found", name)
	}
	c := target.DeepCopy()
	for res, q := range allocatable {
		_, set := c.Resources.Limits[res]
		if set || !defaultsToAllocatable(res) {
			continue
		}
		if c.Resources.Limits == nil {
			c.Resources.Limits = v1.ResourceList{}
		}
		c.Resources.Limits[res] = q
	}
	v, err := kresource.ExtractContainerResourceValue(ref, c)
	if err != nil {
		return "", fmt.Errorf("resource %s of container %s: %w", ref.Resource, c.Name, err)
	}
	return v, nil
}

// defaultsToAllocatable says which limits the kubelet defaults
// (MergeContainerResourceLimits): CPU, memory, ephemeral storage and huge pages.
func defaultsToAllocatable(res v1.ResourceName) bool {
	switch res {
	case v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage:
		return true
	}
	return strings.HasPrefix(string(res), v1.ResourceHugePagesPrefix)
}
