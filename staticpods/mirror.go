package staticpods

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/utils/clock"
)

// mirrorResync bounds how long a mirror pod can be missing or stale when no
// change was signalled.
const mirrorResync = 10 * time.Second

// MirrorConfig configures Mirrors.
type MirrorConfig struct {
	// Client reads the Node and writes its mirror pods.
	Client interface {
		corev1client.PodsGetter
		corev1client.NodesGetter
	}
	// NodeName is the node the mirror pods belong to.
	NodeName string
	// Mirrored is called with each static pod's UID and its mirror pod as
	// found or created in the API.
	Mirrored func(static types.UID, mirror *v1.Pod)
	// Clock defaults to the real clock.
	Clock clock.WithTicker
}

// Mirrors keeps one mirror pod in the API server per static pod, as the
// kubelet's mirror client does: a copy of the static pod annotated with
// kubernetes.io/config.mirror and owned by the Node. A mirror deleted
// through the API, or one for content that changed, is replaced; a mirror
// of no static pod is deleted. Deleting a mirror never touches the
// containers: they belong to the manifest.
type Mirrors struct {
	cfg     MirrorConfig
	trigger chan struct{}

	mu      sync.Mutex
	static  []*v1.Pod
	nodeUID types.UID
}

// NewMirrors returns the mirror pod keeper of a node; Run starts it.
func NewMirrors(cfg MirrorConfig) (*Mirrors, error) {
	if cfg.Client == nil || cfg.NodeName == "" || cfg.Mirrored == nil {
		return nil, fmt.Errorf("mirror pods: Client, NodeName and Mirrored are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Mirrors{cfg: cfg, trigger: make(chan struct{}, 1)}, nil
}

// Set replaces the static pods to mirror and syncs soon.
func (m *Mirrors) Set(pods []*v1.Pod) {
	m.mu.Lock()
	m.static = copyPods(pods)
	m.mu.Unlock()
	m.Resync()
}

// Resync asks for a sync of the mirror pods soon; it never blocks.
func (m *Mirrors) Resync() {
	select {
	case m.trigger <- struct{}{}:
	default:
	}
}

// Run syncs the mirror pods on every Set or Resync, and every
// mirrorResync, until ctx ends.
func (m *Mirrors) Run(ctx context.Context) {
	t := m.cfg.Clock.NewTicker(mirrorResync)
	defer t.Stop()
	for {
		if err := m.sync(ctx); err != nil && ctx.Err() == nil {
			log.G(ctx).WithError(err).Warn("Cannot sync mirror pods; retrying")
		}
		select {
		case <-ctx.Done():
			return
		case <-m.trigger:
		case <-t.C():
		}
	}
}

func (m *Mirrors) sync(ctx context.Context) error {
	m.mu.Lock()
	static := m.static
	m.mu.Unlock()
	nodeUID, err := m.node(ctx)
	if err != nil {
		return err
	}
	list, err := m.cfg.Client.Pods(v1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", m.cfg.NodeName).String(),
	})
	if err != nil {
		return fmt.Errorf("list pods of node %s: %w", m.cfg.NodeName, err)
	}
	existing := map[string]*v1.Pod{}
	for i := range list.Items {
		p := &list.Items[i]
		existing[p.Namespace+"/"+p.Name] = p
	}
	wanted := map[string]bool{}
	for _, pod := range static {
		key := pod.Namespace + "/" + pod.Name
		wanted[key] = true
		if err := m.ensure(ctx, pod, existing[key], nodeUID); err != nil {
			log.G(ctx).WithError(err).WithField("pod", key).Warn("Cannot create mirror pod")
		}
	}
	for key, p := range existing {
		if IsMirror(p) && !wanted[key] {
			if err := m.delete(ctx, p); err != nil {
				log.G(ctx).WithError(err).WithField("pod", key).Warn("Cannot delete mirror pod of a removed static pod")
			}
		}
	}
	return nil
}

// ensure makes the static pod's mirror current: kept when it mirrors this
// content and is not being deleted, else replaced.
func (m *Mirrors) ensure(ctx context.Context, pod, have *v1.Pod, nodeUID types.UID) error {
	hash := pod.Annotations[AnnotationHash]
	if have != nil {
		if !IsMirror(have) {
			return fmt.Errorf("pod %s/%s in the API is not a mirror pod; not replacing it", have.Namespace, have.Name)
		}
		if have.Annotations[AnnotationMirror] == hash && have.DeletionTimestamp == nil {
			m.cfg.Mirrored(pod.UID, have)
			return nil
		}
		if err := m.delete(ctx, have); err != nil {
			return err
		}
	}
	mirror := mirrorOf(pod, m.cfg.NodeName, nodeUID)
	created, err := m.cfg.Client.Pods(pod.Namespace).Create(ctx, mirror, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil // a deletion still in progress; the next sync creates it
	}
	if err != nil {
		return fmt.Errorf("create mirror pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	log.G(ctx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name}).Info("Created mirror pod")
	m.cfg.Mirrored(pod.UID, created)
	return nil
}

// delete removes a mirror pod at once (grace 0), only the object seen.
func (m *Mirrors) delete(ctx context.Context, p *v1.Pod) error {
	opts := metav1.NewDeleteOptions(0)
	opts.Preconditions = metav1.NewUIDPreconditions(string(p.UID))
	err := m.cfg.Client.Pods(p.Namespace).Delete(ctx, p.Name, *opts)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete mirror pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// node returns the Node's UID, the owner of every mirror pod.
func (m *Mirrors) node(ctx context.Context) (types.UID, error) {
	m.mu.Lock()
	uid := m.nodeUID
	m.mu.Unlock()
	if uid != "" {
		return uid, nil
	}
	n, err := m.cfg.Client.Nodes().Get(ctx, m.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("get node %s: %w", m.cfg.NodeName, err)
	}
	m.mu.Lock()
	m.nodeUID = n.UID
	m.mu.Unlock()
	return n.UID, nil
}

// mirrorOf is the mirror pod of a static pod: its metadata and spec, the
// mirror annotation holding its hash, the Node as controlling owner.
func mirrorOf(pod *v1.Pod, nodeName string, nodeUID types.UID) *v1.Pod {
	mirror := &v1.Pod{
		ObjectMeta: *pod.ObjectMeta.DeepCopy(),
		Spec:       *pod.Spec.DeepCopy(),
	}
	mirror.UID, mirror.ResourceVersion = "", ""
	mirror.Annotations[AnnotationMirror] = pod.Annotations[AnnotationHash]
	controller := true
	mirror.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "Node", Name: nodeName, UID: nodeUID, Controller: &controller,
	}}
	return mirror
}
