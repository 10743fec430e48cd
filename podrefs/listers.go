package podrefs

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// errNoList: a node reads its pods' objects one by one, never a whole
// namespace or cluster.
func errNoList(resource string) error {
	return fmt.Errorf("%s are read one by one, as the node's pods refer to them: listing is not supported", resource)
}

// Secrets is a SecretLister backed by the manager's per-object watches.
func (m *Manager) Secrets() corev1listers.SecretLister { return secretLister{m} }

// ConfigMaps is a ConfigMapLister backed by the manager's per-object watches.
func (m *Manager) ConfigMaps() corev1listers.ConfigMapLister { return configMapLister{m} }

type secretLister struct{ m *Manager }

func (secretLister) List(labels.Selector) ([]*v1.Secret, error) { return nil, errNoList("secrets") }

func (l secretLister) Secrets(ns string) corev1listers.SecretNamespaceLister {
	return secretNamespaceLister{m: l.m, ns: ns}
}

type secretNamespaceLister struct {
	m  *Manager
	ns string
}

func (secretNamespaceLister) List(labels.Selector) ([]*v1.Secret, error) {
	return nil, errNoList("secrets")
}

func (l secretNamespaceLister) Get(name string) (*v1.Secret, error) {
	obj, err := l.m.secrets.get(l.ns, name)
	if err != nil {
		return nil, err
	}
	return obj.(*v1.Secret), nil
}

type configMapLister struct{ m *Manager }

func (configMapLister) List(labels.Selector) ([]*v1.ConfigMap, error) {
	return nil, errNoList("configmaps")
}

func (l configMapLister) ConfigMaps(ns string) corev1listers.ConfigMapNamespaceLister {
	return configMapNamespaceLister{m: l.m, ns: ns}
}

type configMapNamespaceLister struct {
	m  *Manager
	ns string
}

func (configMapNamespaceLister) List(labels.Selector) ([]*v1.ConfigMap, error) {
	return nil, errNoList("configmaps")
}

func (l configMapNamespaceLister) Get(name string) (*v1.ConfigMap, error) {
	obj, err := l.m.configMaps.get(l.ns, name)
	if err != nil {
		return nil, err
	}
	return obj.(*v1.ConfigMap), nil
}
