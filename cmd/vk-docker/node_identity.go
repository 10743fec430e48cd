package main

import (
	"context"
	"fmt"
	"time"

	"github.com/vk-docker/vk-docker/nodecert"
	"github.com/vk-docker/vk-docker/podrefs"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"
)

// csrWait bounds each wait for the cluster to approve and sign the node's
// client certificate.
const csrWait = 15 * time.Minute

// nodeClient is how the node talks to the API server: the kubeconfig as
// given, or, with --bootstrap-kubeconfig, the node's own credentials
// obtained through TLS bootstrap. rotate, when not nil, renews those
// credentials until its context ends.
func nodeClient(ctx context.Context, o *options) (cfg *rest.Config, client kubernetes.Interface, rotate func(context.Context) error, err error) {
	var boot *nodecert.Bootstrap
	if o.bootstrapKubeconfig != "" {
		if o.kubeconfig == "" {
			return nil, nil, nil, fmt.Errorf("--bootstrap-kubeconfig needs --kubeconfig: where to write the node's own kubeconfig")
		}
		boot = &nodecert.Bootstrap{
			Kubeconfig:          o.kubeconfig,
			BootstrapKubeconfig: o.bootstrapKubeconfig,
			CertDir:             o.clientCertDir(),
			NodeName:            o.nodeName,
			Wait:                csrWait,
		}
		if err := boot.Ensure(ctx); err != nil {
			return nil, nil, nil, err
		}
	}
	cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load kubeconfig %q: %w", o.kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	if boot == nil {
		return cfg, c, nil, nil
	}
	// client-go reads the renewed certificate from the file the kubeconfig
	// names (within minutes; the old one stays valid meanwhile).
	r, err := boot.ClientRotator(c, clock.RealClock{})
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, c, r.Run, nil
}

// runIdentity runs the per-object watches of the node's Secrets and
// ConfigMaps and, when set, the client certificate's renewal; the returned
// func stops them and waits.
func runIdentity(ctx context.Context, objects *podrefs.Manager, rotate func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	n := 1
	go func() { _ = objects.Run(ctx); done <- struct{}{} }()
	if rotate != nil {
		n++
		go func() { _ = rotate(ctx); done <- struct{}{} }()
	}
	return func() {
		cancel()
		for range n {
			<-done
		}
	}
}
