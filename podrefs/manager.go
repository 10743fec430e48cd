package podrefs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// syncTimeout bounds how long a read waits for the first answer of a new
// object's watch.
const syncTimeout = 10 * time.Second

// Manager watches, one by one, the Secrets and ConfigMaps the node's pods
// refer to. A read of an object no watch holds yet starts its watch when a
// pod of the node refers to it (and is refused otherwise, as the API server
// would refuse it); a watch stops once no pod of the node refers to its
// object any more.
type Manager struct {
	client     kubernetes.Interface
	secrets    *watchSet
	configMaps *watchSet

	mu      sync.Mutex
	pods    corev1listers.PodLister // the node's pods; set by Track
	base    context.Context         // parent of the watches; set by Run
	started chan struct{}
}

// New returns a Manager reading through client. Track and Run must be
// called before objects are read.
func New(client kubernetes.Interface) *Manager {
	m := &Manager{client: client, started: make(chan struct{})}
	m.secrets = &watchSet{m: m, kind: kind{
		resource: v1.Resource("secrets"),
		singular: "secret",
		example:  &v1.Secret{},
		refs:     func(r Refs) sets.Set[string] { return r.Secrets },
		list: func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return client.CoreV1().Secrets(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return client.CoreV1().Secrets(ns).Watch(ctx, o)
		},
	}}
	m.configMaps = &watchSet{m: m, kind: kind{
		resource: v1.Resource("configmaps"),
		singular: "configmap",
		example:  &v1.ConfigMap{},
		refs:     func(r Refs) sets.Set[string] { return r.ConfigMaps },
		list: func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return client.CoreV1().ConfigMaps(ns).List(ctx, o)
		},
		watch: func(ctx context.Context, ns string, o metav1.ListOptions) (watch.Interface, error) {
			return client.CoreV1().ConfigMaps(ns).Watch(ctx, o)
		},
	}}
	return m
}

// Track makes the pods of informer (the node's pods) the ones whose
// references are watched: when a pod goes, ends or refers to less, watches
// no pod needs any more stop.
func (m *Manager) Track(informer cache.SharedIndexInformer) error {
	m.mu.Lock()
	m.pods = corev1listers.NewPodLister(informer.GetIndexer())
	m.mu.Unlock()
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, new any) {
			// A sweep reads every pod of the node: on each of their status
			// updates that made bursts quadratic (8 % of the node's CPU with
			// 500 pods). Only an update that drops a reference can free a
			// watch.
			if o, ok := old.(*v1.Pod); ok {
				if n, ok := new.(*v1.Pod); ok && !dropsRefs(o, n) {
					return
				}
			}
			m.sweep()
		},
		DeleteFunc: func(any) { m.sweep() },
	})
	if err != nil {
		return fmt.Errorf("watch the node's pods for their references: %w", err)
	}
	return nil
}

// Run lets reads start watches and stops them all when ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.base != nil {
		m.mu.Unlock()
		return errors.New("podrefs: Run called twice")
	}
	m.base = ctx
	close(m.started)
	m.mu.Unlock()
	<-ctx.Done()
	m.secrets.stopAll()
	m.configMaps.stopAll()
	return nil
}

// referenced reports whether a pod of the node in namespace ns refers to
// the object name of k.
func (m *Manager) referenced(k *kind, ns, name string) (bool, error) {
	m.mu.Lock()
	pods := m.pods
	m.mu.Unlock()
	if pods == nil {
		return false, errors.New("podrefs: the node's pods are not tracked")
	}
	list, err := pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return false, fmt.Errorf("list the node's pods in %s: %w", ns, err)
	}
	for _, p := range list {
		if needsRefs(p) && k.refs(PodRefs(p)).Has(name) {
			return true, nil
		}
	}
	return false, nil
}

// wanted is every namespace/name of k the node's pods refer to.
func (m *Manager) wanted(k *kind) sets.Set[string] {
	out := sets.New[string]()
	m.mu.Lock()
	pods := m.pods
	m.mu.Unlock()
	if pods == nil {
		return out
	}
	list, err := pods.List(labels.Everything())
	if err != nil {
		return out
	}
	for _, p := range list {
		if !needsRefs(p) {
			continue
		}
		for name := range k.refs(PodRefs(p)) {
			out.Insert(p.Namespace + "/" + name)
		}
	}
	return out
}

// needsRefs: a pod whose containers can no longer run reads nothing more
// (the kubelet unregisters it from its managers).
func needsRefs(p *v1.Pod) bool {
	return p.Status.Phase != v1.PodSucceeded && p.Status.Phase != v1.PodFailed
}

// dropsRefs reports whether the update of a pod from old to new leaves out
// something old referred to: it ended, or its spec refers to less.
func dropsRefs(old, new *v1.Pod) bool {
	if !needsRefs(old) {
		return false
	}
	if !needsRefs(new) {
		return true
	}
	o, n := PodRefs(old), PodRefs(new)
	return !n.Secrets.IsSuperset(o.Secrets) || !n.ConfigMaps.IsSuperset(o.ConfigMaps)
}

// sweep stops the watches no pod needs any more.
func (m *Manager) sweep() {
	m.secrets.keepOnly(m.wanted(&m.secrets.kind))
	m.configMaps.keepOnly(m.wanted(&m.configMaps.kind))
}

// baseContext waits for Run.
func (m *Manager) baseContext(wait time.Duration) (context.Context, error) {
	select {
	case <-m.started:
	case <-time.After(wait):
		return nil, errors.New("podrefs: not running")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.base.Err() != nil {
		return nil, fmt.Errorf("podrefs: stopped: %w", m.base.Err())
	}
	return m.base, nil
}

// logger is for the watches' own messages.
func (m *Manager) logger() log.Logger {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.base == nil {
		return log.L
	}
	return log.G(m.base)
}
