package main

import (
	"context"
	"errors"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	corev1informers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// nodeutilClient is the client virtual-kubelet's nodeutil gets. nodeutil
// always starts cluster-wide Secret and ConfigMap informers for its pod
// controller, and a node may not list those: the Node authorizer lets it
// read only the objects of its own pods, one by one. Through this client
// those two informers see an empty cluster and ask the API server nothing;
// vk-docker reads Secrets and ConfigMaps with podrefs instead. Everything
// else goes to the API server as it is.
type nodeutilClient struct{ kubernetes.Interface }

func (c nodeutilClient) CoreV1() corev1client.CoreV1Interface {
	return nodeutilCoreV1{c.Interface.CoreV1()}
}

type nodeutilCoreV1 struct{ corev1client.CoreV1Interface }

func (c nodeutilCoreV1) Secrets(ns string) corev1client.SecretInterface {
	return noListSecrets{c.CoreV1Interface.Secrets(ns)}
}

func (c nodeutilCoreV1) ConfigMaps(ns string) corev1client.ConfigMapInterface {
	return noListConfigMaps{c.CoreV1Interface.ConfigMaps(ns)}
}

type noListSecrets struct{ corev1client.SecretInterface }

func (noListSecrets) List(context.Context, metav1.ListOptions) (*v1.SecretList, error) {
	return &v1.SecretList{}, nil
}

func (noListSecrets) Watch(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return idleWatch(o)
}

type noListConfigMaps struct {
	corev1client.ConfigMapInterface
}

func (noListConfigMaps) List(context.Context, metav1.ListOptions) (*v1.ConfigMapList, error) {
	return &v1.ConfigMapList{}, nil
}

func (noListConfigMaps) Watch(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return idleWatch(o)
}

// idleWatch is a watch on which nothing ever happens. A streamed initial
// list is declined, so that the informer lists (nothing) instead.
func idleWatch(o metav1.ListOptions) (watch.Interface, error) {
	if o.SendInitialEvents != nil && *o.SendInitialEvents {
		return nil, errors.New("not served: a node does not watch every object of this kind")
	}
	return watch.NewFake(), nil
}

// podControllerSecrets and podControllerConfigMaps hand virtual-kubelet's
// pod controller the per-object listers in place of its idle informers'.
type podControllerSecrets struct {
	corev1informers.SecretInformer
	lister corev1listers.SecretLister
}

func (s podControllerSecrets) Lister() corev1listers.SecretLister { return s.lister }

type podControllerConfigMaps struct {
	corev1informers.ConfigMapInformer
	lister corev1listers.ConfigMapLister
}

func (s podControllerConfigMaps) Lister() corev1listers.ConfigMapLister { return s.lister }
