// Package provider is vk-docker's virtual-kubelet provider: it maps the pod
// controller's calls onto one lifecycle.Worker per pod, rebuilds its pods from
// container labels when it starts, and turns the engine's event stream into
// status updates pushed through NotifyPods.
package provider

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/vk-docker/vk-docker/hostpool"
	"github.com/vk-docker/vk-docker/lifecycle"
	"github.com/vk-docker/vk-docker/staticpods"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/clock"
)

// Config configures a Provider.
type Config struct {
	// Runtime is what the node's pod workers share (see lifecycle.Runtime for
	// each field). New sets its Clock to Clock and its Notify and Removed to
	// the provider's own; the rest is used as given.
	lifecycle.Runtime
	// Clock defaults to the real clock; the provider's resyncs and the pod
	// workers use it.
	Clock clock.WithTicker
	// Pods, when set, is used as the kubelet uses it: once a deleted pod's
	// containers are all gone, its API object is deleted at once instead of
	// when its grace period ends.
	Pods corev1client.PodsGetter
	// ResyncMirrors, when set, is called when a mirror pod of a static pod
	// was deleted or is stale in the API (see static_pods.go).
	ResyncMirrors func()
	// Pool is the node's Docker hosts; nil is a pool of Runtime.Docker
	// alone. Each pod runs wholly on one of them.
	Pool *hostpool.Pool
	// HostSettings, when set, gives each host of Pool its own Runtime
	// settings; without it every host has the Runtime's.
	HostSettings func(*hostpool.Host) HostSettings
	// HostLostTimeout is how long a Docker host may stay silent before its
	// pods fail (DefaultHostLostTimeout when zero).
	HostLostTimeout time.Duration
	// OnlyStaticPods is standalone mode: every pod of the node comes from a
	// manifest, so a recovered pod no manifest declares is stopped.
	OnlyStaticPods bool
	// Node returns the node as it describes itself: labels, taints and
	// status.allocatable, which the node's admission reads (admission.go).
	// Nil, or a nil result, admits against Allocatable alone.
	Node func() *v1.Node
	// APIPods is the pod controller's cache of the node's pods in the API,
	// and APIPodsSynced reports once it holds them all; nil in standalone
	// mode. The reaper keeps what belongs to a pod there (reaper.go).
	APIPods       corev1listers.PodLister
	APIPodsSynced func() bool
	// ReapInterval is how often the reaper looks for what pods that are
	// gone left on the engine and on disk, starting once the API's pods are
	// known; 0 disables it.
	ReapInterval time.Duration
	// ReapMinAge: nothing younger than this is reaped (a pod being set up
	// has volumes before containers); DefaultReapMinAge when zero.
	ReapMinAge time.Duration
}

// Provider implements virtual-kubelet's PodLifecycleHandler and PodNotifier
// (and the node API entry points in exec.go and logs.go).
type Provider struct {
	cfg   Config
	rt    *lifecycle.Runtime
	hosts map[*hostpool.Host]*lifecycle.Runtime // hosts.go; fixed after New

	running chan struct{} // closed once Run has recovered pods
	runCtx  context.Context
	wg      sync.WaitGroup

	mu      sync.Mutex
	workers map[types.UID]*lifecycle.Worker
	byName  map[string]types.UID // namespace/name → UID of the newest pod of that name
	notify  func(*v1.Pod)
	static  staticState // static_pods.go

	lost lostHosts // lost_host.go

	started time.Time  // when New was called: the node's stats start time
	stats   statsCache // stats.go
	lat     *latencies // latency.go
}

var (
	_ node.PodLifecycleHandler = (*Provider)(nil)
	_ node.PodNotifier         = (*Provider)(nil)
)

// New returns a provider; it manages pods once Run is called.
func New(cfg Config) (*Provider, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.HostLostTimeout <= 0 {
		cfg.HostLostTimeout = DefaultHostLostTimeout
	}
	p := &Provider{
		lost:    lostHosts{failed: map[types.UID]bool{}},
		cfg:     cfg,
		running: make(chan struct{}),
		workers: map[types.UID]*lifecycle.Worker{},
		byName:  map[string]types.UID{},
		static:  newStaticState(),
		started: cfg.Clock.Now(),
		lat:     newLatencies(),
	}
	// The workers share the Runtime inside p.cfg: nothing is copied field by
	// field, so a new Runtime field needs no change here.
	p.rt = &p.cfg.Runtime
	p.rt.Clock = cfg.Clock
	p.rt.Notify = p.notifyPod
	p.rt.Removed = p.removed
	if err := p.rt.Validate(); err != nil {
		return nil, err
	}
	if err := p.initHosts(); err != nil {
		return nil, err
	}
	return p, nil
}

// Run recovers the node's pods from the engine, then follows the engine's
// events until ctx ends. Pod workers stop with ctx; their containers stay on
// the engine for the next run to adopt.
func (p *Provider) Run(ctx context.Context) error {
	p.runCtx = ctx
	if err := p.recover(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	close(p.running)
	p.applyStaticLocked()
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.runReaper(ctx)
	}()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.watchHosts(ctx)
	}()
	p.followEvents(ctx)
	p.wg.Wait()
	return nil
}

// waitRunning blocks calls that arrive before Run has recovered existing pods,
// so that a pod is never created twice.
func (p *Provider) waitRunning(ctx context.Context) error {
	select {
	case <-p.running:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func podKey(namespace, name string) string { return namespace + "/" + name }

// startWorker registers and starts a worker for a pod on its host (placing
// it first when it has none); p.mu must be held. A pod that arrives (admit)
// first goes through the node's admission; one adopted from the engine does
// not.
func (p *Provider) startWorker(pod *v1.Pod, specKnown, admit bool) *lifecycle.Worker {
	if p.cfg.Pool.HostOf(string(pod.UID)) == nil {
		p.place(pod) // a static pod: placed here
	}
	_, rt := p.hostOf(pod.UID)
	w := lifecycle.NewWorker(rt, pod, specKnown)
	if admit {
		if v := p.admitLocked(pod, p.static.desired[pod.UID] != nil); v.Reason != "" {
			w.RejectOnNode(v)
		}
	}
	p.workers[pod.UID] = w
	p.byName[podKey(pod.Namespace, pod.Name)] = pod.UID
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		w.Run(p.runCtx)
	}()
	return w
}

// CreatePod starts the pod's worker and returns at once: pulling, creating
// and starting happen in the worker. Calling it again for a known pod
// updates it.
func (p *Provider) CreatePod(ctx context.Context, pod *v1.Pod) error {
	if err := p.waitRunning(ctx); err != nil {
		return err
	}
	if p.mirrorCall(ctx, pod, false) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.workers[pod.UID]; w != nil {
		w.Update(pod)
		return nil
	}
	// A pod of the same name but another UID is a deleted predecessor whose
	// termination may not have been requested (a force delete while we were
	// down): it must not outlive its replacement.
	if old, ok := p.byName[podKey(pod.Namespace, pod.Name)]; ok && old != pod.UID {
		if w := p.workers[old]; w != nil && !w.Terminating() {
			if prev := w.Pod(); prev != nil {
				w.Delete(prev)
			}
		}
	}
	h := p.place(pod)
	log.G(ctx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name}).WithFields(p.hostFields(h)).Info("Creating pod")
	p.lat.podCreated(pod.UID, time.Now())
	p.startWorker(pod, true, true)
	return nil
}

// UpdatePod hands a changed pod to its worker.
func (p *Provider) UpdatePod(ctx context.Context, pod *v1.Pod) error {
	return p.CreatePod(ctx, pod)
}

// DeletePod starts the pod's termination and returns at once; the worker
// reports the terminal status through NotifyPods and then removes the pod's
// containers and volumes. It may be called many times.
func (p *Provider) DeletePod(ctx context.Context, pod *v1.Pod) error {
	if err := p.waitRunning(ctx); err != nil {
		return err
	}
	if p.mirrorCall(ctx, pod, true) {
		return nil
	}
	w := p.lookup(pod)
	if w == nil {
		return errdefs.NotFoundf("pod %s/%s is not on node %s", pod.Namespace, pod.Name, p.cfg.NodeName)
	}
	log.G(ctx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name}).Info("Deleting pod")
	w.Delete(pod)
	return nil
}

// PodDeletedFromAPI handles a pod object that vanished from the API server
// (a forced delete): its containers must stop with the grace the deletion
// carried, which the pod controller does not pass on in that case.
func (p *Provider) PodDeletedFromAPI(pod *v1.Pod) {
	if p.mirrorCall(context.Background(), pod, true) {
		return
	}
	if w := p.lookup(pod); w != nil {
		w.Delete(pod)
	}
}

// PodStatusChangedInAPI hands a pod whose conditions someone else changed
// (those of its readiness gates, written through the status subresource)
// to its worker: virtual-kubelet's pod controller calls UpdatePod only for
// changes of the spec and metadata. Mirror pods are views and are skipped.
func (p *Provider) PodStatusChangedInAPI(old, pod *v1.Pod) {
	if staticpods.IsMirror(pod) || !lifecycle.ForeignConditionsChanged(old, pod) {
		return
	}
	p.mu.Lock()
	w := p.workers[pod.UID]
	p.mu.Unlock()
	if w != nil {
		w.Update(pod)
	}
}

func (p *Provider) lookup(pod *v1.Pod) *lifecycle.Worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pod.UID != "" {
		return p.workers[pod.UID]
	}
	return p.workers[p.byName[podKey(pod.Namespace, pod.Name)]]
}

func (p *Provider) byNameLocked(namespace, name string) *lifecycle.Worker {
	return p.workers[p.byName[podKey(namespace, name)]]
}

// GetPod returns the newest pod of that name known to the provider, with its
// last status; nil (and a NotFound error) when there is none.
func (p *Provider) GetPod(ctx context.Context, namespace, name string) (*v1.Pod, error) {
	p.mu.Lock()
	w := p.byNameLocked(namespace, name)
	p.mu.Unlock()
	if w != nil {
		if pod := w.Pod(); pod != nil {
			return pod, nil
		}
	}
	return nil, errdefs.NotFoundf("pod %s/%s is not on node %s", namespace, name, p.cfg.NodeName)
}

// GetPodStatus returns the pod's last status.
func (p *Provider) GetPodStatus(ctx context.Context, namespace, name string) (*v1.PodStatus, error) {
	pod, err := p.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &pod.Status, nil
}

// GetPods lists every pod that still has containers or volumes on the engine.
func (p *Provider) GetPods(ctx context.Context) ([]*v1.Pod, error) {
	p.mu.Lock()
	workers := make([]*lifecycle.Worker, 0, len(p.workers))
	for uid, w := range p.workers {
		if !p.isStaticLocked(uid) { // the controller would delete them: no API object has their UID
			workers = append(workers, w)
		}
	}
	p.mu.Unlock()
	pods := make([]*v1.Pod, 0, len(workers))
	for _, w := range workers {
		if pod := w.Pod(); pod != nil {
			pods = append(pods, pod)
		}
	}
	return pods, nil
}

// NotifyPods registers the pod controller's status callback and replays
// what workers reported before it was registered.
func (p *Provider) NotifyPods(ctx context.Context, cb func(*v1.Pod)) {
	p.mu.Lock()
	p.notify = cb
	workers := make([]*lifecycle.Worker, 0, len(p.workers))
	for _, w := range p.workers {
		workers = append(workers, w)
	}
	p.mu.Unlock()
	// The callback may block; NotifyPods must not.
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for _, w := range workers {
			if pod := w.ReportedPod(); pod != nil {
				if pod = p.mirrorView(pod); pod != nil {
					cb(pod)
				}
			}
		}
	}()
}

func (p *Provider) notifyPod(pod *v1.Pod) {
	if pod = p.mirrorView(pod); pod == nil {
		return
	}
	pod = p.lostView(pod)
	p.mu.Lock()
	cb := p.notify
	p.mu.Unlock()
	if cb != nil {
		p.lat.reported(pod, time.Now())
		cb(pod)
	}
}

// removed forgets a pod whose containers and volumes are gone, and finishes
// its deletion in the API the way the kubelet's status manager does.
func (p *Provider) removed(uid types.UID) {
	p.mu.Lock()
	w := p.workers[uid]
	delete(p.workers, uid)
	delete(p.static.known, uid)
	delete(p.static.mirrors, uid)
	delete(p.lost.failed, uid)
	for k, u := range p.byName {
		if u == uid {
			delete(p.byName, k)
		}
	}
	p.mu.Unlock()
	p.cfg.Pool.Release(string(uid))
	p.lat.forget(uid)
	if w == nil || p.cfg.Pods == nil {
		return
	}
	pod := w.LastPod()
	if pod.DeletionTimestamp == nil {
		return // not deleted through the API (a dangling pod)
	}
	ctx, cancel := context.WithTimeout(p.runCtx, 10*time.Second)
	defer cancel()
	opts := metav1.NewDeleteOptions(0)
	opts.Preconditions = metav1.NewUIDPreconditions(string(uid))
	err := p.cfg.Pods.Pods(pod.Namespace).Delete(ctx, pod.Name, *opts)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		log.G(ctx).WithError(err).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name}).Warn("Cannot delete terminated pod from the API; the pod controller will after its grace period")
	}
}

// wakeAll asks every worker to look at the engine again.
func (p *Provider) wakeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.workers {
		w.Wake()
	}
}

func (p *Provider) wake(uid types.UID) {
	p.mu.Lock()
	w := p.workers[uid]
	p.mu.Unlock()
	if w != nil {
		w.Wake()
	}
}

func (p *Provider) String() string {
	return fmt.Sprintf("vk-docker provider for node %s", p.cfg.NodeName)
}
