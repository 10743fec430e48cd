package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/hostpool"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// The kubelet's Ready condition wording (pkg/kubelet/nodestatus).
const (
	readyReason      = "KubeletReady"
	readyMessage     = "kubelet is posting ready status"
	notReadyReason   = "KubeletNotReady"
	runtimeDownError = "container runtime is down"
	// maxNodeImages is the kubelet's default --node-status-max-images.
	maxNodeImages = 50
	// engineCheckTimeout bounds one health check of the engine.
	engineCheckTimeout = 5 * time.Second
)

// NodeStatusConfig configures a NodeStatus.
type NodeStatusConfig struct {
	// Pool is the node's Docker hosts, whose health and resources the node
	// reports: Ready while one answers, capacity their sum.
	Pool *hostpool.Pool
	// Docker, without Pool, is the node's one engine.
	Docker dockerhost.Client
	// Recorder, when set, records an event on the node when a host of
	// several stops or starts answering.
	Recorder record.EventRecorder
	// NodeName is this node; pods of other nodes on the same engine make
	// its allocatable smaller.
	NodeName string
	// Interval between checks of the engine; 10s when zero.
	Interval time.Duration
	// Clock defaults to the real clock.
	Clock clock.WithTicker
}

// NodeStatus is the node's virtual-kubelet NodeProvider: it checks the
// engine periodically and pushes the node's status when it changes —
// Ready or NotReady (with the kubelet's reason) as the engine answers or
// not, capacity and allocatable, versions and the image list.
type NodeStatus struct {
	cfg NodeStatusConfig

	mu      sync.Mutex
	node    *v1.Node // last status sent, or the initial one
	cb      func(*v1.Node)
	pending bool // a status the callback has not had yet
	wake    chan struct{}
}

var _ node.NodeProvider = (*NodeStatus)(nil)

// NewNodeStatus starts from initial (describeNode's node) and reports
// nothing until Run.
func NewNodeStatus(cfg NodeStatusConfig, initial *v1.Node) (*NodeStatus, error) {
	if (cfg.Docker == nil && cfg.Pool == nil) || cfg.NodeName == "" || initial == nil {
		return nil, errors.New("node status: Pool or Docker, NodeName and the initial node are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Pool == nil {
		cfg.Pool = hostpool.New(cfg.Clock, &hostpool.Host{Docker: cfg.Docker})
	}
	s := &NodeStatus{cfg: cfg, node: initial.DeepCopy(), pending: true, wake: make(chan struct{}, 1)}
	if cfg.Recorder != nil && len(cfg.Pool.Hosts()) > 1 {
		cfg.Pool.OnChange(s.hostChanged)
	}
	return s, nil
}

// Events on the node about its Docker hosts.
const (
	eventHostUnhealthy = "DockerHostUnhealthy"
	eventHostHealthy   = "DockerHostHealthy"
)

// hostChanged records an event on the node naming a host that stopped or
// started answering.
func (s *NodeStatus) hostChanged(c hostpool.Change) {
	ref := &v1.ObjectReference{Kind: "Node", Name: s.cfg.NodeName, UID: types.UID(s.cfg.NodeName)}
	if c.Healthy {
		s.cfg.Recorder.Eventf(ref, v1.EventTypeNormal, eventHostHealthy, "Docker host %s is answering again", c.Host.URL)
		return
	}
	s.cfg.Recorder.Eventf(ref, v1.EventTypeWarning, eventHostUnhealthy, "Docker host %s is not answering: %v", c.Host.URL, c.Host.Health().Err)
}

// Ping reports that vk-docker itself runs: an unreachable engine is shown
// by the Ready condition, which needs the node's status to keep flowing
// (a failed Ping stops status updates altogether).
func (s *NodeStatus) Ping(context.Context) error { return nil }

// NotifyNodeStatus registers the node controller's callback; Run sends it
// the current status at once.
func (s *NodeStatus) NotifyNodeStatus(ctx context.Context, cb func(*v1.Node)) {
	s.mu.Lock()
	s.cb = cb
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run checks the engine at once and then every Interval until ctx ends.
func (s *NodeStatus) Run(ctx context.Context) {
	t := s.cfg.Clock.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-s.wake:
		}
	}
}

// Check makes one check of the engine and reports the node's status when
// it changed.
func (s *NodeStatus) Check(ctx context.Context) {
	s.mu.Lock()
	n := s.node.DeepCopy()
	s.mu.Unlock()

	s.cfg.Pool.Check(ctx)
	ctx, cancel := context.WithTimeout(ctx, engineCheckTimeout)
	defer cancel()
	down, engineErr := s.refresh(ctx, n)
	switch {
	case engineErr != nil:
		log.G(ctx).WithError(engineErr).Warn("Docker engine unreachable: node NotReady")
		setReady(n, false, fmt.Sprintf("%s: %v", runtimeDownError, engineErr), s.cfg.Clock.Now())
	case len(down) > 0:
		setReady(n, true, fmt.Sprintf("%s; Docker hosts not answering: %s", readyMessage, strings.Join(down, ", ")), s.cfg.Clock.Now())
	default:
		setReady(n, true, readyMessage, s.cfg.Clock.Now())
	}

	s.mu.Lock()
	if !equality.Semantic.DeepEqual(withoutHeartbeats(s.node.Status), withoutHeartbeats(n.Status)) {
		s.node, s.pending = n, true
	}
	cb, send := s.cb, s.pending && s.cb != nil
	if send {
		s.pending = false
	}
	s.mu.Unlock()
	if send {
		cb(n.DeepCopy())
	}
}

// refresh fills in what the healthy hosts say about themselves: the first
// one's versions, the sum of their capacities, their images. It returns
// the hosts that do not answer ("URL (error)"), and an error when none does.
func (s *NodeStatus) refresh(ctx context.Context, n *v1.Node) ([]string, error) {
	var healthy []*hostpool.Host
	var down []string
	var errs []error
	hosts := s.cfg.Pool.Hosts()
	for _, h := range hosts {
		st := h.Health()
		if st.Healthy && st.Known {
			healthy = append(healthy, h)
			continue
		}
		err := st.Err
		if err == nil {
			err = errors.New("not checked yet")
		}
		down = append(down, fmt.Sprintf("%s (%v)", h.URL, err))
		if len(hosts) > 1 {
			err = fmt.Errorf("docker host %s: %w", h.URL, err)
		}
		errs = append(errs, err)
	}
	if len(healthy) == 0 {
		return down, errors.Join(errs...)
	}
	info := healthy[0].Health().Info
	n.Status.NodeInfo.ContainerRuntimeVersion = "docker://" + info.ServerVersion
	n.Status.NodeInfo.KernelVersion = info.KernelVersion
	n.Status.NodeInfo.OSImage = info.OperatingSystem
	n.Status.NodeInfo.MachineID = info.ID
	n.Status.NodeInfo.SystemUUID = info.ID
	capacity := n.Status.Capacity.DeepCopy()
	if capacity == nil {
		capacity = v1.ResourceList{}
	}
	for r, q := range PoolCapacity(s.cfg.Pool) {
		capacity[r] = q
	}
	n.Status.Capacity = capacity
	others := v1.ResourceList{}
	var othersErr error
	for _, h := range healthy {
		o, err := s.otherNodesRequests(ctx, h.Docker)
		if err != nil {
			othersErr = err
			break
		}
		addResources(others, o)
	}
	if othersErr != nil {
		// The engines answered; only the shared-host accounting is stale.
		log.G(ctx).WithError(othersErr).Warn("Cannot count the requests of other nodes on the Docker hosts; allocatable keeps its last value")
		n.Status.Allocatable = capacity.DeepCopy()
		if old := s.Allocatable(); old != nil {
			n.Status.Allocatable = old
		}
	} else {
		n.Status.Allocatable = Allocatable(capacity, others)
	}
	images, err := hostImages(ctx, healthy)
	if err != nil {
		// The engines answered their pings; a list too slow for this check
		// (a busy engine) leaves the images as they were, not the node
		// NotReady.
		log.G(ctx).WithError(err).Warn("Cannot list the Docker hosts' images; the node's images keep their last value")
		return down, nil
	}
	n.Status.Images = images
	return down, nil
}

// hostImages lists the images of the hosts, largest first, as the kubelet
// reports them (at most maxNodeImages); an image on several hosts is
// listed once.
func hostImages(ctx context.Context, hosts []*hostpool.Host) ([]v1.ContainerImage, error) {
	var all []image.Summary
	seen := map[string]bool{}
	for _, h := range hosts {
		images, err := h.Docker.ImageList(ctx)
		if err != nil {
			return nil, fmt.Errorf("images of %s: %w", h.URL, err)
		}
		for _, img := range images {
			if !seen[img.ID] {
				seen[img.ID] = true
				all = append(all, img)
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Size > all[j].Size })
	out := []v1.ContainerImage{}
	for _, img := range all {
		if len(out) == maxNodeImages {
			break
		}
		names := append(append([]string{}, img.RepoDigests...), img.RepoTags...)
		if len(names) == 0 {
			continue // dangling layers nobody can name in a pod
		}
		out = append(out, v1.ContainerImage{Names: names, SizeBytes: img.Size})
	}
	return out, nil
}

// Allocatable is the node's allocatable resources as last reported: what a
// resourceFieldRef to a limit a container does not set resolves to.
func (s *NodeStatus) Allocatable() v1.ResourceList {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.node.Status.Allocatable.DeepCopy()
}

// otherNodesRequests sums the requests of the pods of the other vk-docker
// nodes whose sandboxes run on this engine, from the label each sandbox
// carries (one container list, no API call). The host's CPU and memory are
// shared: capacity is the host's, and allocatable leaves out what those
// nodes' pods asked for. This node's own pods are not subtracted — the
// scheduler already subtracts them from allocatable.
func (s *NodeStatus) otherNodesRequests(ctx context.Context, docker dockerhost.Client) (v1.ResourceList, error) {
	sum := v1.ResourceList{}
	list, err := docker.ContainerList(ctx, dockerhost.LabelNode, dockerhost.LabelDockerType+"="+dockerhost.DockerTypeSandbox)
	if err != nil {
		return nil, fmt.Errorf("list sandboxes of other nodes: %w", err)
	}
	for _, c := range list {
		if c.Labels[dockerhost.LabelNode] == s.cfg.NodeName || c.State != "running" {
			continue
		}
		addResources(sum, podRequests(c.Labels[dockerhost.LabelPodRequests], func(err error) {
			log.G(ctx).WithField("container", c.ID).WithError(err).Debug("Ignoring a malformed requests label")
		}))
	}
	return sum, nil
}

// setReady sets the Ready condition; its transition time only moves when
// its status does.
func setReady(n *v1.Node, ready bool, message string, now time.Time) {
	status, reason := v1.ConditionFalse, notReadyReason
	if ready {
		status, reason = v1.ConditionTrue, readyReason
	}
	t := metav1.NewTime(now)
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		if c.Type != v1.NodeReady {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = t
		}
		c.Status, c.Reason, c.Message, c.LastHeartbeatTime = status, reason, message, t
		return
	}
	n.Status.Conditions = append(n.Status.Conditions, v1.NodeCondition{Type: v1.NodeReady, Status: status, Reason: reason, Message: message, LastHeartbeatTime: t, LastTransitionTime: t})
}

// withoutHeartbeats is a status without heartbeat times, to tell a change
// from a check that found the same.
func withoutHeartbeats(st v1.NodeStatus) v1.NodeStatus {
	st = *st.DeepCopy()
	for i := range st.Conditions {
		st.Conditions[i].LastHeartbeatTime = metav1.Time{}
	}
	return st
}

// Node returns what of the node its admission reads: name, labels, taints
// and allocatable, as last reported.
func (s *NodeStatus) Node() *v1.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := &v1.Node{}
	n.Name = s.node.Name
	n.Labels = maps.Clone(s.node.Labels)
	n.Spec.Taints = slices.Clone(s.node.Spec.Taints)
	n.Status.Allocatable = s.node.Status.Allocatable.DeepCopy()
	return n
}
