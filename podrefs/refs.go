// Package podrefs reads the Secrets and ConfigMaps a node's pods refer to
// the way the kubelet's watch-based manager does: one object at a time,
// each watched on its own (a field selector on its name) while some pod
// bound to the node refers to it. The Node authorizer lets a node read
// exactly those objects, and nothing cluster-wide.
package podrefs

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// Refs are the names of the Secrets and ConfigMaps of one pod's namespace
// that the pod refers to.
type Refs struct {
	Secrets    sets.Set[string]
	ConfigMaps sets.Set[string]
}

// PodRefs lists what pod refers to: image pull secrets, volumes (projected
// sources included), env and envFrom of every container.
func PodRefs(pod *v1.Pod) Refs {
	r := Refs{Secrets: sets.New[string](), ConfigMaps: sets.New[string]()}
	for _, s := range pod.Spec.ImagePullSecrets {
		r.addSecret(s.Name)
	}
	for i := range pod.Spec.Volumes {
		r.addVolume(&pod.Spec.Volumes[i])
	}
	for i := range pod.Spec.InitContainers {
		r.addEnv(pod.Spec.InitContainers[i].Env, pod.Spec.InitContainers[i].EnvFrom)
	}
	for i := range pod.Spec.Containers {
		r.addEnv(pod.Spec.Containers[i].Env, pod.Spec.Containers[i].EnvFrom)
	}
	for i := range pod.Spec.EphemeralContainers {
		c := &pod.Spec.EphemeralContainers[i].EphemeralContainerCommon
		r.addEnv(c.Env, c.EnvFrom)
	}
	return r
}

func (r Refs) addSecret(name string) {
	if name != "" {
		r.Secrets.Insert(name)
	}
}

func (r Refs) addConfigMap(name string) {
	if name != "" {
		r.ConfigMaps.Insert(name)
	}
}

func (r Refs) addVolume(vol *v1.Volume) {
	switch {
	case vol.Secret != nil:
		r.addSecret(vol.Secret.SecretName)
	case vol.ConfigMap != nil:
		r.addConfigMap(vol.ConfigMap.Name)
	case vol.Projected != nil:
		for _, src := range vol.Projected.Sources {
			if src.Secret != nil {
				r.addSecret(src.Secret.Name)
			}
			if src.ConfigMap != nil {
				r.addConfigMap(src.ConfigMap.Name)
			}
		}
	}
}

func (r Refs) addEnv(env []v1.EnvVar, envFrom []v1.EnvFromSource) {
	for _, from := range envFrom {
		if from.SecretRef != nil {
			r.addSecret(from.SecretRef.Name)
		}
		if from.ConfigMapRef != nil {
			r.addConfigMap(from.ConfigMapRef.Name)
		}
	}
	for _, e := range env {
		if e.ValueFrom == nil {
			continue
		}
		if e.ValueFrom.SecretKeyRef != nil {
			r.addSecret(e.ValueFrom.SecretKeyRef.Name)
		}
		if e.ValueFrom.ConfigMapKeyRef != nil {
			r.addConfigMap(e.ValueFrom.ConfigMapKeyRef.Name)
		}
	}
}
