package main

import (
	"context"
	"sync"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/provider"
	"github.com/vk-docker/vk-docker/staticpods"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// staticPods wires --pod-manifest-path into a node that has an API server:
// the manifests' pods run through the provider, their mirror pods are kept
// in the API. A nil *staticPods (no --pod-manifest-path) does nothing.
type staticPods struct {
	source  *staticpods.Source
	mirrors *staticpods.Mirrors
	p       *provider.Provider // set by start
	wg      sync.WaitGroup
}

func newStaticPods(ctx context.Context, o *options, recorder record.EventRecorder, client kubernetes.Interface) (*staticPods, error) {
	if o.manifestPath == "" {
		return nil, nil
	}
	s := &staticPods{}
	var err error
	s.mirrors, err = staticpods.NewMirrors(staticpods.MirrorConfig{
		Client:   client.CoreV1(),
		NodeName: o.nodeName,
		Mirrored: func(uid types.UID, mirror *v1.Pod) { s.p.MirrorSeen(uid, mirror) },
	})
	if err != nil {
		return nil, err
	}
	s.source, err = staticpods.New(staticpods.Config{
		Dir:      o.manifestPath,
		NodeName: o.nodeName,
		Changed: func(pods []*v1.Pod) {
			s.p.SetStaticPods(pods)
			s.mirrors.Set(pods)
		},
		Refused: refuseStaticPod(ctx, recorder, o.nodeName),
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// refuseStaticPod reports a manifest pod that cannot run: a log line and,
// with a recorder, a Warning event on the Node.
func refuseStaticPod(ctx context.Context, recorder record.EventRecorder, nodeName string) func(*v1.Pod, string) {
	return func(pod *v1.Pod, why string) {
		log.G(ctx).WithFields(log.Fields{"namespace": pod.Namespace, "pod": pod.Name, "reason": why}).Error("Refusing static pod")
		if recorder != nil {
			node := &v1.ObjectReference{Kind: "Node", Name: nodeName, UID: types.UID(nodeName)}
			recorder.Eventf(node, v1.EventTypeWarning, eventStaticPodRefused, "Static pod %s/%s refused: %s", pod.Namespace, pod.Name, why)
		}
	}
}

// eventStaticPodRefused is the reason of the Node event of a refused manifest.
const eventStaticPodRefused = "FailedCreateStaticPod"

// resyncMirrors is provider.Config.ResyncMirrors.
func (s *staticPods) resyncMirrors() {
	if s != nil {
		s.mirrors.Resync()
	}
}

// start reads the manifests once, before the provider recovers its pods
// (so running static pods are adopted), then follows the directory.
func (s *staticPods) start(ctx context.Context, p *provider.Provider) {
	if s == nil {
		return
	}
	s.p = p
	s.source.Scan(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.source.Run(ctx); err != nil {
			log.G(ctx).WithError(err).Error("Static pod manifests are no longer followed")
		}
	}()
}

// startMirrors keeps the mirror pods once the Node exists (their owner).
func (s *staticPods) startMirrors(ctx context.Context) {
	if s == nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.mirrors.Run(ctx)
	}()
}

// wait blocks until the goroutines of start and startMirrors have ended
// (their context is done).
func (s *staticPods) wait() {
	if s != nil {
		s.wg.Wait()
	}
}
