package provider

import (
	"context"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/staticpods"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// staticState is what the provider knows of static pods (staticpods): they
// run from manifests, not from the API. The pod controller sees only their
// mirror pods, which the provider treats as views: a mirror never starts,
// updates or deletes a pod, and a static pod's status reaches the API as
// the status of its mirror. Guarded by Provider.mu.
type staticState struct {
	desired map[types.UID]*v1.Pod // the manifests' pods
	known   map[types.UID]bool    // static pods with a worker (desired or terminating)
	mirrors map[types.UID]*v1.Pod // static UID → its mirror pod in the API
}

func newStaticState() staticState {
	return staticState{desired: map[types.UID]*v1.Pod{}, known: map[types.UID]bool{}, mirrors: map[types.UID]*v1.Pod{}}
}

// SetStaticPods hands the provider every static pod the manifests declare.
// Called before Run, the set is applied right after recovery, so running
// static pods are adopted without restarts. New pods start, pods no longer
// declared terminate with their grace period.
func (p *Provider) SetStaticPods(pods []*v1.Pod) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.static.desired = map[types.UID]*v1.Pod{}
	for _, pod := range pods {
		p.static.desired[pod.UID] = pod.DeepCopy()
	}
	select {
	case <-p.running:
		p.applyStaticLocked()
	default: // Run applies them after recovery
	}
}

// applyStaticLocked makes the workers match the desired static pods; p.mu
// must be held.
func (p *Provider) applyStaticLocked() {
	ctx := p.runCtx
	for uid, pod := range p.static.desired {
		if p.static.known[uid] {
			continue
		}
		p.static.known[uid] = true
		if w := p.workers[uid]; w != nil {
			// Recovered from the engine: adopt its running containers.
			w.Update(pod)
			continue
		}
		if old := p.byNameLocked(pod.Namespace, pod.Name); old != nil && !old.Terminating() {
			if prev := old.Pod(); prev != nil {
				old.Delete(prev) // the edited manifest's previous pod, or another holding the name
			}
		}
		log.G(ctx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name}).Info("Creating static pod")
		p.startWorker(pod, true, true)
	}
	for uid, w := range p.workers {
		if _, wanted := p.static.desired[uid]; wanted {
			continue
		}
		// A static pod no manifest declares has no mirror to report to any
		// more: a pod of its name may be the edited manifest's.
		delete(p.static.mirrors, uid)
		if w.Terminating() || (!p.static.known[uid] && !p.cfg.OnlyStaticPods) {
			continue
		}
		if pod := w.Pod(); pod != nil {
			log.G(ctx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name}).Info("Stopping static pod no manifest declares")
			w.Delete(pod)
		}
	}
}

// isStaticLocked reports whether uid is a static pod's; p.mu must be held.
func (p *Provider) isStaticLocked(uid types.UID) bool {
	return p.static.known[uid]
}

// staticByNameLocked returns the desired static pod of that name.
func (p *Provider) staticByNameLocked(namespace, name string) *v1.Pod {
	uid := p.byName[podKey(namespace, name)]
	return p.static.desired[uid]
}

// MirrorSeen records a static pod's mirror pod as found or created in the
// API and reports the static pod's status on it.
func (p *Provider) MirrorSeen(static types.UID, mirror *v1.Pod) {
	p.mu.Lock()
	_, ok := p.static.desired[static]
	if ok {
		p.static.mirrors[static] = mirror.DeepCopy()
	}
	w := p.workers[static]
	p.mu.Unlock()
	if ok && w != nil {
		if pod := w.ReportedPod(); pod != nil {
			p.notifyPod(pod)
		}
	}
}

// mirrorCall handles a pod controller call about a mirror pod or a static
// pod (which it finds by the mirror's name): it reports true when pod is
// one, and then only refreshes the mirror. deleted is true for DeletePod:
// a deleted mirror is recreated, its containers keep running.
func (p *Provider) mirrorCall(ctx context.Context, pod *v1.Pod, deleted bool) bool {
	p.mu.Lock()
	static := p.staticByNameLocked(pod.Namespace, pod.Name)
	isStatic := p.isStaticLocked(pod.UID)
	p.mu.Unlock()
	switch {
	case !staticpods.IsMirror(pod) && !isStatic && static == nil:
		return false
	case !staticpods.IsMirror(pod) && !isStatic:
		if !deleted {
			log.G(ctx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name}).Warn("Not running an API pod that has the name of a static pod")
		}
		return true
	}
	log.G(ctx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name, "deleted": deleted}).Debug("Mirror pod changed")
	switch {
	case deleted || pod.DeletionTimestamp != nil || static == nil:
		p.mu.Lock()
		if static != nil {
			delete(p.static.mirrors, static.UID)
		}
		p.mu.Unlock()
		p.resyncMirrors()
	case pod.Annotations[staticpods.AnnotationMirror] == static.Annotations[staticpods.AnnotationHash]:
		p.MirrorSeen(static.UID, pod)
	default:
		p.resyncMirrors() // a mirror of older content
	}
	return true
}

func (p *Provider) resyncMirrors() {
	if p.cfg.ResyncMirrors != nil {
		p.cfg.ResyncMirrors()
	}
}

// mirrorView turns a static pod's status report into its mirror's: the pod
// controller writes status to the API object of that name and UID. nil
// when the static pod has no mirror (yet); the status is reported once it
// has. Other pods are returned as they are.
func (p *Provider) mirrorView(pod *v1.Pod) *v1.Pod {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.isStaticLocked(pod.UID) || p.cfg.OnlyStaticPods {
		return pod
	}
	if _, wanted := p.static.desired[pod.UID]; !wanted {
		return nil // its mirror is gone or is the edited manifest's
	}
	mirror := p.static.mirrors[pod.UID]
	if mirror == nil {
		return nil
	}
	view := mirror.DeepCopy()
	view.Status = *pod.Status.DeepCopy()
	return view
}
