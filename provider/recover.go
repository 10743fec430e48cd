package provider

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/hostpool"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// recover rebuilds a worker for every pod that has containers of this node
// on the engine. Such a worker knows only what the labels say until the pod
// controller hands it the API's pod (it then adopts the running containers
// without restarting them), or deletes it when the API no longer has it.
func (p *Provider) recover(ctx context.Context) error {
	type found struct {
		host       *hostpool.Host
		containers []container.Summary
	}
	byUID := map[string]*found{}
	for _, h := range p.cfg.Pool.Hosts() {
		if !h.Health().Healthy {
			// Its pods are adopted when it answers again (lost_host.go).
			log.G(ctx).WithField("host", h.URL).Warn("Docker host not answering: its pods are recovered when it does")
			continue
		}
		list, err := h.Docker.ContainerList(ctx, dockerhost.NodeSelector(p.cfg.NodeName))
		if err != nil {
			return fmt.Errorf("list containers of node %s on %s: %w", p.cfg.NodeName, h.URL, err)
		}
		for _, c := range list {
			if !dockerhost.IsManaged(c.Labels, p.cfg.NodeName) {
				continue
			}
			uid := c.Labels[dockerhost.LabelPodUID]
			f := byUID[uid]
			if f == nil {
				f = &found{host: h}
				byUID[uid] = f
			}
			if f.host == h { // a pod lives on one host
				f.containers = append(f.containers, c)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for uid, f := range byUID {
		p.adoptLocked(ctx, types.UID(uid), f.host, f.containers)
	}
	return nil
}

// adoptLocked starts a worker for a pod found on host from its containers'
// labels; p.mu is held.
func (p *Provider) adoptLocked(ctx context.Context, uid types.UID, host *hostpool.Host, containers []container.Summary) {
	pod := podFromLabels(uid, containers)
	if pod == nil || p.workers[uid] != nil {
		return
	}
	var requests v1.ResourceList
	for _, c := range containers {
		if c.Labels[dockerhost.LabelDockerType] == dockerhost.DockerTypeSandbox {
			requests = podRequests(c.Labels[dockerhost.LabelPodRequests], nil)
		}
	}
	p.cfg.Pool.Assign(string(uid), host, requests)
	log.G(ctx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name, "uid": uid}).WithFields(p.hostFields(host)).Info("Recovered pod from the engine")
	p.startWorker(pod, false, false)
}

// podFromLabels rebuilds the skeleton of a pod from its containers' labels:
// identity, app and ephemeral containers (name, image, in spec order) and
// grace period.
func podFromLabels(uid types.UID, containers []container.Summary) *v1.Pod {
	pod := &v1.Pod{}
	type indexed struct {
		index int
		c     v1.Container
	}
	// By kind (app, ephemeral), then by container name.
	seen := map[string]map[string]indexed{}
	for _, c := range containers {
		l := c.Labels
		pod.Name, pod.Namespace, pod.UID = l[dockerhost.LabelPodName], l[dockerhost.LabelPodNamespace], uid
		if g, err := strconv.ParseInt(l[dockerhost.LabelTerminationGracePeriod], 10, 64); err == nil {
			pod.Spec.TerminationGracePeriodSeconds = &g
		}
		kind := l[dockerhost.LabelContainerKind]
		if l[dockerhost.LabelDockerType] != dockerhost.DockerTypeContainer || (kind != dockerhost.KindApp && kind != dockerhost.KindEphemeral) {
			continue
		}
		if seen[kind] == nil {
			seen[kind] = map[string]indexed{}
		}
		name := l[dockerhost.LabelContainerName]
		idx, _ := strconv.Atoi(l[dockerhost.LabelContainerIndex])
		seen[kind][name] = indexed{idx, v1.Container{Name: name, Image: l[dockerhost.LabelContainerImage]}}
	}
	if pod.Name == "" || pod.Namespace == "" {
		return nil
	}
	inOrder := func(m map[string]indexed) []v1.Container {
		list := make([]indexed, 0, len(m))
		for _, c := range m {
			list = append(list, c)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].index < list[j].index })
		out := make([]v1.Container, 0, len(list))
		for _, c := range list {
			out = append(out, c.c)
		}
		return out
	}
	for _, c := range inOrder(seen[dockerhost.KindApp]) {
		pod.Spec.Containers = append(pod.Spec.Containers, c)
	}
	for _, c := range inOrder(seen[dockerhost.KindEphemeral]) {
		pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, v1.EphemeralContainer{EphemeralContainerCommon: v1.EphemeralContainerCommon(c)})
	}
	pod.ObjectMeta = metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: uid}
	return pod
}
