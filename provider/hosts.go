package provider

import (
	"fmt"
	"strings"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/hostpool"
	"github.com/vk-docker/vk-docker/lifecycle"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	resourcehelper "k8s.io/component-helpers/resource"
)

// HostSettings are the Runtime fields that differ from one Docker host of
// the node to another (see lifecycle.Runtime for each).
type HostSettings struct {
	HostIP           string
	ProbeViaSandbox  bool
	MessageDir       string
	ImagePullRecords string
}

// initHosts gives every host of the pool its own Runtime, made from the
// node's with the host's client and settings; a provider made with a bare
// Docker client gets a pool of that one host.
func (p *Provider) initHosts() error {
	if p.cfg.Pool == nil {
		p.cfg.Pool = hostpool.New(p.cfg.Clock, &hostpool.Host{Docker: p.cfg.Docker})
	}
	hosts := p.cfg.Pool.Hosts()
	if len(hosts) == 0 {
		return fmt.Errorf("provider: the pool has no Docker host")
	}
	p.hosts = make(map[*hostpool.Host]*lifecycle.Runtime, len(hosts))
	for _, h := range hosts {
		rt := p.rt.ForHost(h.Docker)
		if p.cfg.HostSettings != nil {
			s := p.cfg.HostSettings(h)
			rt.HostIP, rt.ProbeViaSandbox, rt.MessageDir, rt.ImagePullRecords = s.HostIP, s.ProbeViaSandbox, s.MessageDir, s.ImagePullRecords
		}
		if len(hosts) > 1 {
			rt.DockerHost = h.URL
			rt.HostAnswering = func() bool { return h.Health().Healthy }
		}
		if err := rt.Validate(); err != nil {
			return fmt.Errorf("docker host %s: %w", h.URL, err)
		}
		if err := rt.LoadImagePullRecords(); err != nil {
			return fmt.Errorf("docker host %s: %w", h.URL, err)
		}
		p.hosts[h] = rt
	}
	return nil
}

// hostOf returns the host a pod was placed on and its Runtime; a pod the
// pool does not know (none placed yet) gets the first host.
func (p *Provider) hostOf(uid types.UID) (*hostpool.Host, *lifecycle.Runtime) {
	h := p.cfg.Pool.HostOf(string(uid))
	if h == nil {
		h = p.cfg.Pool.Hosts()[0]
	}
	return h, p.hosts[h]
}

// dockerOf is the engine holding a pod's containers.
func (p *Provider) dockerOf(uid types.UID) dockerhost.Client {
	h, _ := p.hostOf(uid)
	return h.Docker
}

// place chooses the host of a new pod: the healthy host with the most room
// for it. When no host answers, the pod is not refused, as a kubelet whose
// runtime is down does not refuse it: it waits on the first host
// (ContainerCreating, FailedCreatePodSandBox warnings) and starts when that
// host answers, or fails with it after --host-lost-timeout.
func (p *Provider) place(pod *v1.Pod) *hostpool.Host {
	req := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	h, err := p.cfg.Pool.Place(string(pod.UID), req)
	if err != nil {
		h = p.cfg.Pool.Hosts()[0]
		p.cfg.Pool.Assign(string(pod.UID), h, req)
		log.L.WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name}).WithFields(p.hostFields(h)).WithError(err).Warn("No Docker host answers; the pod waits on the first")
	}
	return h
}

// podRequests reads a sandbox's LabelPodRequests ("cpu=250m,memory=64Mi");
// malformed entries are skipped.
func podRequests(label string, logf func(error)) v1.ResourceList {
	sum := v1.ResourceList{}
	for _, kv := range strings.Split(label, ",") {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		q, err := resource.ParseQuantity(value)
		if err != nil {
			if logf != nil {
				logf(err)
			}
			continue
		}
		addResources(sum, v1.ResourceList{v1.ResourceName(name): q})
	}
	return sum
}

// addResources adds add to sum.
func addResources(sum, add v1.ResourceList) {
	for r, q := range add {
		total := sum[r]
		total.Add(q)
		sum[r] = total
	}
}

// PoolCapacity is the CPU and memory of the pool's hosts that answer,
// summed: the node's capacity.
func PoolCapacity(pool *hostpool.Pool) v1.ResourceList {
	sum := v1.ResourceList{}
	for _, h := range pool.Hosts() {
		if st := h.Health(); st.Healthy && st.Known {
			addResources(sum, HostCapacity(st.Info))
		}
	}
	return sum
}

// hostFields names the host in log entries when the node has several.
func (p *Provider) hostFields(h *hostpool.Host) log.Fields {
	if len(p.hosts) < 2 {
		return log.Fields{}
	}
	return log.Fields{"host": h.URL}
}
