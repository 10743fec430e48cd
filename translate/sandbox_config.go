package translate

import (
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// podLabels are the labels shared by every container of pod.
func (n *Node) podLabels(pod *v1.Pod) map[string]string {
	grace := int64(v1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	labels := map[string]string{
		dockerhost.LabelNode:                   n.NodeName,
		dockerhost.LabelPodName:                pod.Name,
		dockerhost.LabelPodNamespace:           pod.Namespace,
		dockerhost.LabelPodUID:                 string(pod.UID),
		dockerhost.LabelTerminationGracePeriod: strconv.FormatInt(grace, 10),
	}
	if n.DockerHost != "" {
		labels[dockerhost.LabelDockerHost] = n.DockerHost
	}
	return labels
}

// SandboxConfig describes the pause container that owns the pod's network
// and IPC namespaces (and PID namespace with shareProcessNamespace).
func (n *Node) SandboxConfig(pod *v1.Pod) (*container.Config, *container.HostConfig) {
	labels := n.podLabels(pod)
	labels[dockerhost.LabelContainerName] = dockerhost.SandboxContainerName
	labels[dockerhost.LabelDockerType] = dockerhost.DockerTypeSandbox
	if r := podRequestsLabel(pod); r != "" {
		labels[dockerhost.LabelPodRequests] = r
	}
	cfg := &container.Config{
		Image:  n.PauseImage,
		Labels: labels,
	}
	host := &container.HostConfig{
		NetworkMode: container.NetworkMode(n.DockerNetwork()),
		IpcMode:     container.IPCModeShareable,
	}
	applyHostPorts(pod, cfg, host)
	applySysctls(pod, host)
	return cfg, host
}

// podRequestsLabel renders the pod's CPU and memory requests, as the
// scheduler counts them, for dockerhost.LabelPodRequests.
func podRequestsLabel(pod *v1.Pod) string {
	req := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	var parts []string
	for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
		if q, ok := req[name]; ok && !q.IsZero() {
			parts = append(parts, string(name)+"="+q.String())
		}
	}
	return strings.Join(parts, ",")
}
