package provider

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/hostpool"
	"github.com/vk-docker/vk-docker/lifecycle"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// DefaultHostLostTimeout is how long a Docker host may stay silent before
// its pods fail.
const DefaultHostLostTimeout = 5 * time.Minute

// ReasonHostLost is the reason of the events, conditions and failed phase
// of the pods of a Docker host that does not answer.
const ReasonHostLost = "DockerHostLost"

// The kubelet's words for a container whose end nobody saw
// (kubelet_pods.go).
const (
	reasonStatusUnknown  = "ContainerStatusUnknown"
	messageStatusUnknown = "The container could not be located when the pod was terminated"
)

// lostHosts is what the provider tracks about silent hosts; guarded by p.mu.
type lostHosts struct {
	failed map[types.UID]bool // pods failed after their host's timeout
}

// watchHosts reacts to the pool's health changes and fails the pods of
// hosts silent for longer than HostLostTimeout, until ctx ends.
func (p *Provider) watchHosts(ctx context.Context) {
	p.cfg.Pool.OnChange(func(c hostpool.Change) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.hostChanged(ctx, c)
		}()
	})
	t := p.cfg.Clock.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			p.failLostPods(ctx)
		}
	}
}

// workersOn lists the workers of the pods placed on h.
func (p *Provider) workersOn(h *hostpool.Host) []*lifecycle.Worker {
	uids := p.cfg.Pool.PodsOn(h)
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*lifecycle.Worker
	for _, uid := range uids {
		if w := p.workers[types.UID(uid)]; w != nil {
			out = append(out, w)
		}
	}
	return out
}

// hostChanged reports the pods of a host that stopped answering as not
// ready; when it answers again, its workers look at it at once and what
// runs there unknown to us (its pods were not recovered at start-up) is
// adopted — the pod controller then keeps what the API still has and
// deletes the rest.
func (p *Provider) hostChanged(ctx context.Context, c hostpool.Change) {
	ctx = log.WithLogger(ctx, log.G(ctx).WithField("host", c.Host.URL))
	if !c.Healthy {
		log.G(ctx).WithError(c.Host.Health().Err).Warn("Docker host not answering: its pods are not ready")
		for _, w := range p.workersOn(c.Host) {
			pod := w.Pod()
			if pod == nil {
				continue
			}
			p.rt.Recorder.Eventf(pod, v1.EventTypeWarning, ReasonHostLost, "Docker host %s is not answering: the pod's containers are not ready", c.Host.URL)
			p.notifyPod(pod)
		}
		return
	}
	log.G(ctx).Info("Docker host answering again")
	if err := dockerhost.EnsurePauseImage(ctx, c.Host.Docker, p.rt.PauseImage); err != nil {
		log.G(ctx).WithError(err).Warn("Cannot make sure of the pause image on the Docker host")
	}
	list, err := c.Host.Docker.ContainerList(ctx, dockerhost.NodeSelector(p.cfg.NodeName))
	if err != nil {
		log.G(ctx).WithError(err).Warn("Cannot list the node's containers on the Docker host back")
	}
	byUID := map[string][]container.Summary{}
	for _, ct := range list {
		if dockerhost.IsManaged(ct.Labels, p.cfg.NodeName) {
			byUID[ct.Labels[dockerhost.LabelPodUID]] = append(byUID[ct.Labels[dockerhost.LabelPodUID]], ct)
		}
	}
	var strays []container.Summary
	p.mu.Lock()
	for uid, cs := range byUID {
		switch {
		case p.workers[types.UID(uid)] == nil:
			p.adoptLocked(ctx, types.UID(uid), c.Host, cs)
		case p.cfg.Pool.HostOf(uid) != c.Host:
			// The pod was started anew on another host while this one
			// was silent (a provider that started meanwhile).
			strays = append(strays, cs...)
		}
	}
	p.mu.Unlock()
	for _, ct := range strays {
		if err := c.Host.Docker.ContainerRemove(ctx, ct.ID); err != nil && !cerrdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).WithField("containerID", ct.ID).Warn("Cannot remove a container of a pod that now runs on another host")
		}
	}
	for _, w := range p.workersOn(c.Host) {
		// The API holds the not-ready view; the worker reports only what
		// changes from its own last report, so that one goes again.
		if pod := w.ReportedPod(); pod != nil {
			p.notifyPod(pod)
		}
		w.Wake()
	}
}

// failLostPods fails the pods of the hosts silent for HostLostTimeout, so
// that their controllers replace them; their containers are stopped and
// removed if the host comes back.
func (p *Provider) failLostPods(ctx context.Context) {
	now := p.cfg.Clock.Now()
	for _, h := range p.cfg.Pool.Hosts() {
		st := h.Health()
		if st.Healthy || st.DownSince.IsZero() || now.Sub(st.DownSince) < p.cfg.HostLostTimeout {
			continue
		}
		for _, w := range p.workersOn(h) {
			pod := w.Pod()
			if pod == nil || w.Terminating() {
				continue
			}
			p.mu.Lock()
			done := p.lost.failed[pod.UID]
			p.lost.failed[pod.UID] = true
			p.mu.Unlock()
			if done {
				continue
			}
			log.G(ctx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name, "host": h.URL}).Warn("Docker host silent too long: pod failed")
			p.rt.Recorder.Eventf(pod, v1.EventTypeWarning, ReasonHostLost, "Docker host %s has not answered for %s: the pod failed", h.URL, p.cfg.HostLostTimeout)
			p.notifyPod(pod)
			w.Delete(pod)
		}
	}
}

// lostView is the status of a pod whose host does not answer: nothing of it
// is ready; after the timeout, it failed with its running containers'
// end unknown.
func (p *Provider) lostView(pod *v1.Pod) *v1.Pod {
	h := p.cfg.Pool.HostOf(string(pod.UID))
	if h == nil {
		return pod
	}
	st := h.Health()
	p.mu.Lock()
	failed := p.lost.failed[pod.UID]
	p.mu.Unlock()
	if st.Healthy && !failed {
		return pod
	}
	now := metav1.NewTime(p.cfg.Clock.Now())
	msg := fmt.Sprintf("Docker host %s is not answering", h.URL)
	for i := range pod.Status.ContainerStatuses {
		cs := &pod.Status.ContainerStatuses[i]
		cs.Ready = false
		if failed && cs.State.Terminated == nil {
			started := metav1.Time{}
			if cs.State.Running != nil {
				started = cs.State.Running.StartedAt
			}
			cs.LastTerminationState = v1.ContainerState{}
			cs.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
				ExitCode: 137, Reason: reasonStatusUnknown, Message: messageStatusUnknown, StartedAt: started, FinishedAt: now,
			}}
		}
	}
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		if (c.Type == v1.PodReady || c.Type == v1.ContainersReady) && c.Status != v1.ConditionFalse {
			c.Status, c.Reason, c.Message, c.LastTransitionTime = v1.ConditionFalse, ReasonHostLost, msg, now
		}
	}
	if failed {
		pod.Status.Phase = v1.PodFailed
		pod.Status.Reason = ReasonHostLost
		pod.Status.Message = fmt.Sprintf("Docker host %s has not answered for %s", h.URL, p.cfg.HostLostTimeout)
	}
	return pod
}
