package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/provider"
	"github.com/vk-docker/vk-docker/staticpods"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// standalone reports whether no API server is configured: no --kubeconfig,
// no KUBECONFIG and not running in a cluster's pod.
func (o *options) standalone() bool {
	return o.kubeconfig == "" && os.Getenv("KUBERNETES_SERVICE_HOST") == ""
}

// runStandalone runs the manifests of --pod-manifest-path on the engine
// with no API server: the same pod workers as a node, the state changes
// printed on stdout, events logged. Stopping leaves the containers running;
// the next run adopts them.
func runStandalone(ctx context.Context, o *options) error {
	if o.manifestPath == "" {
		return errors.New("no API server (--kubeconfig, KUBECONFIG) and no --pod-manifest-path: nothing to run")
	}
	ctx = log.WithLogger(ctx, log.G(ctx).WithField("node", o.nodeName))
	flags, err := parseEngineFlags(o)
	if err != nil {
		return err
	}
	pool, _, err := connectHosts(ctx, o, flags.hosts)
	if err != nil {
		return err
	}
	defer pool.Close()
	// No node status checks the hosts here: a loop of our own does.
	checksDone := make(chan struct{})
	checkCtx, stopChecks := context.WithCancel(ctx)
	go func() {
		defer close(checksDone)
		t := time.NewTicker(o.nodeStatusInterval)
		defer t.Stop()
		for {
			select {
			case <-checkCtx.Done():
				return
			case <-t.C:
				pool.Check(checkCtx)
			}
		}
	}()
	defer func() {
		stopChecks()
		<-checksDone
	}()
	cfg := engineProviderConfig(o, flags, pool)
	cfg.Recorder = eventLogger{ctx: ctx}
	cfg.OnlyStaticPods = true
	p, err := provider.New(cfg)
	if err != nil {
		return err
	}
	printer := newStatePrinter(os.Stdout)
	p.NotifyPods(ctx, printer.pod)
	source, err := staticpods.New(staticpods.Config{
		Dir:      o.manifestPath,
		NodeName: o.nodeName,
		Changed:  p.SetStaticPods,
		Refused:  refuseStaticPod(ctx, nil, o.nodeName),
	})
	if err != nil {
		return err
	}
	source.Scan(ctx)
	sourceDone := make(chan struct{})
	go func() {
		defer close(sourceDone)
		if err := source.Run(ctx); err != nil {
			log.G(ctx).WithError(err).Error("Static pod manifests are no longer followed")
		}
	}()
	defer func() { <-sourceDone }()
	log.G(ctx).WithField("dir", o.manifestPath).Info("Running static pods without an API server")
	return p.Run(ctx)
}

// eventLogger is the event recorder of standalone mode: with no API server
// to hold events, they go to the log.
type eventLogger struct{ ctx context.Context }

func (e eventLogger) Event(obj runtime.Object, eventtype, reason, message string) {
	entry := log.G(e.ctx).WithFields(log.Fields{"type": eventtype, "reason": reason, "object": objectName(obj)})
	if eventtype == v1.EventTypeWarning {
		entry.Warn(message)
		return
	}
	entry.Info(message)
}

func (e eventLogger) Eventf(obj runtime.Object, eventtype, reason, messageFmt string, args ...any) {
	e.Event(obj, eventtype, reason, fmt.Sprintf(messageFmt, args...))
}

func (e eventLogger) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventtype, reason, messageFmt string, args ...any) {
	e.Eventf(obj, eventtype, reason, messageFmt, args...)
}

func objectName(obj runtime.Object) string {
	switch o := obj.(type) {
	case *v1.Pod:
		return o.Namespace + "/" + o.Name
	case *v1.ObjectReference:
		return o.Kind + "/" + o.Name
	}
	return fmt.Sprintf("%T", obj)
}
