package main

import (
	"context"
	"fmt"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	"k8s.io/client-go/kubernetes"
)

// serve runs the provider, the node status, the static pods (when
// --pod-manifest-path is set), the serving certificate's renewal (when asked
// for) and the node until ctx ends or one of them fails, and returns once
// all have stopped. A shutdown on ctx is not an error.
func serve(ctx context.Context, o *options, client kubernetes.Interface, n *nodeutil.Node, parts *nodeParts, api kubeletAPI, static *staticPods, health *healthServer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopIdentity := runIdentity(ctx, parts.objects, parts.rotateClientCert)
	defer stopIdentity()
	// The manifests are read before the provider recovers its pods, so that
	// running static pods are adopted.
	static.start(ctx, parts.provider)
	defer func() {
		cancel()
		static.wait()
	}()
	providerDone := make(chan error, 1)
	go func() { providerDone <- parts.provider.Run(ctx) }()
	if api.selfSigned && o.servingCSRWait > 0 {
		csrDone := make(chan struct{})
		go func() {
			defer close(csrDone)
			if requestServingCert(ctx, client, api.serving, o.nodeName, o.nodeIP, o.servingCSRWait) {
				if err := rotateServingCert(ctx, client, api.serving, o.nodeName, o.nodeIP, o.servingCSRWait); err != nil {
					log.G(ctx).WithError(err).Warn("The serving certificate will not be renewed")
				}
			}
		}()
		defer func() {
			cancel()
			<-csrDone
		}()
	}
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		parts.status.Run(ctx)
	}()
	defer func() {
		cancel()
		<-statusDone
	}()
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- n.Run(ctx) }()

	if err := n.WaitReady(ctx, 2*time.Minute); err != nil {
		cancel()
		<-providerDone
		return fmt.Errorf("node %s did not become ready: %w", o.nodeName, err)
	}
	log.G(ctx).WithField("listen", o.listenAddress).Info("Node ready")
	health.setReady()
	static.startMirrors(ctx) // their owner, the Node, exists now

	var err error
	select {
	case err = <-nodeDone:
		cancel()
		<-providerDone
	case err = <-providerDone:
		cancel()
		<-nodeDone
	}
	if ctx.Err() != nil && err != nil {
		err = nil // shut down on a signal
	}
	return err
}
