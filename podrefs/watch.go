package podrefs

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// kind is what differs between Secrets and ConfigMaps.
type kind struct {
	resource schema.GroupResource
	// singular names the kind in NotFound errors, as listers and the
	// kubelet do: `secret "x" not found`.
	singular string
	example  runtime.Object
	refs     func(Refs) sets.Set[string]
	list     func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error)
	watch    func(ctx context.Context, ns string, o metav1.ListOptions) (watch.Interface, error)
}

// watchSet holds the running watches of one kind, by namespace/name.
type watchSet struct {
	m    *Manager
	kind kind

	mu      sync.Mutex
	watches map[string]*objectWatch
}

// objectWatch is one object's informer and what stops it.
type objectWatch struct {
	informer cache.SharedIndexInformer
	stop     context.CancelFunc
	done     chan struct{}
}

// get returns the object ns/name as its watch last saw it, starting the
// watch when a pod of the node refers to the object.
func (s *watchSet) get(ns, name string) (runtime.Object, error) {
	key := ns + "/" + name
	w, err := s.ensure(ns, name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	err = wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(context.Context) (bool, error) {
		select {
		case <-w.done:
			return false, fmt.Errorf("the watch of %s %s stopped", s.kind.resource.Resource, key)
		default:
		}
		return w.informer.HasSynced(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to sync %s cache of %s: %w", s.kind.resource.Resource, key, err)
	}
	obj, ok, err := w.informer.GetStore().GetByKey(key)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", s.kind.resource.Resource, key, err)
	}
	if !ok {
		return nil, apierrors.NewNotFound(v1.Resource(s.kind.singular), name)
	}
	return obj.(runtime.Object), nil
}

// ensure returns the watch of ns/name, started if a pod refers to it.
func (s *watchSet) ensure(ns, name string) (*objectWatch, error) {
	key := ns + "/" + name
	s.mu.Lock()
	w := s.watches[key]
	s.mu.Unlock()
	if w != nil {
		return w, nil
	}
	ok, err := s.m.referenced(&s.kind, ns, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		// The kubelet's message: the API server would refuse the read.
		return nil, fmt.Errorf("object %q/%q not registered: no pod of this node refers to %s %s", ns, name, s.kind.resource.Resource, name)
	}
	base, err := s.m.baseContext(syncTimeout)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if w := s.watches[key]; w != nil {
		s.mu.Unlock()
		return w, nil
	}
	if s.watches == nil {
		s.watches = map[string]*objectWatch{}
	}
	w = s.start(base, ns, name)
	s.watches[key] = w
	s.mu.Unlock()
	// The pod that referred to it may have gone or ended since the check,
	// its sweep before this watch existed: sweep again, or the watch would
	// last until some other pod goes.
	if ok, err := s.m.referenced(&s.kind, ns, name); err == nil && !ok {
		s.m.sweep()
	}
	return w, nil
}

// start runs the informer of one object: a list and watch restricted to its
// name, which the Node authorizer allows for objects of the node's pods.
func (s *watchSet) start(base context.Context, ns, name string) *objectWatch {
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return listPatiently(ctx, func() (runtime.Object, error) { return s.kind.list(ctx, ns, o) })
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return s.kind.watch(ctx, ns, o)
		},
	}
	// The client says whether it can stream the initial list (fakes cannot).
	informer := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, s.m.client), s.kind.example, 0, cache.Indexers{})
	ctx, cancel := context.WithCancel(base)
	w := &objectWatch{informer: informer, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		informer.RunWithContext(ctx)
	}()
	s.m.logger().WithField("namespace", ns).WithField(s.kind.resource.Resource, name).Debug("Watching")
	return w
}

// listPatiently retries, for a few seconds, a list the API server refuses:
// the Node authorizer learns of a pod's references a moment after the pod
// reaches its node.
func listPatiently(ctx context.Context, list func() (runtime.Object, error)) (runtime.Object, error) {
	var obj runtime.Object
	var err error
	backoff := wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 6}
	_ = wait.ExponentialBackoffWithContext(ctx, backoff, func(context.Context) (bool, error) {
		obj, err = list()
		return !apierrors.IsForbidden(err), nil
	})
	return obj, err
}

// keepOnly stops the watches whose keys are not in wanted.
func (s *watchSet) keepOnly(wanted sets.Set[string]) {
	s.mu.Lock()
	var stopped []*objectWatch
	for key, w := range s.watches {
		if !wanted.Has(key) {
			delete(s.watches, key)
			stopped = append(stopped, w)
			s.m.logger().WithField("object", key).WithField("resource", s.kind.resource.Resource).Debug("No pod refers to it any more: watch stopped")
		}
	}
	s.mu.Unlock()
	for _, w := range stopped {
		w.stop()
		<-w.done
	}
}

func (s *watchSet) stopAll() { s.keepOnly(sets.New[string]()) }

// watching lists the keys being watched (for tests).
func (s *watchSet) watching() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sets.List(sets.KeySet(s.watches))
}
