package staticpods

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
)

// APIReference says why a static pod cannot have a mirror pod: its spec
// refers to another API object (a ServiceAccount, Secret, ConfigMap,
// PersistentVolumeClaim), which the API server refuses in a mirror pod.
// It returns "" when the pod refers to none. The wording follows the API
// server's admission errors.
func APIReference(pod *v1.Pod) string {
	if pod.Spec.ServiceAccountName != "" {
		return fmt.Sprintf("a mirror pod may not reference service accounts (serviceAccountName %q)", pod.Spec.ServiceAccountName)
	}
	for _, s := range pod.Spec.ImagePullSecrets {
		return fmt.Sprintf("a mirror pod may not reference secrets (imagePullSecret %q)", s.Name)
	}
	for _, v := range pod.Spec.Volumes {
		if why := volumeReference(v); why != "" {
			return why
		}
	}
	for _, c := range allContainers(pod) {
		if why := envReference(c); why != "" {
			return why
		}
	}
	return ""
}

func volumeReference(v v1.Volume) string {
	switch {
	case v.Secret != nil:
		return fmt.Sprintf("a mirror pod may not reference secrets (secret %q in volume %q)", v.Secret.SecretName, v.Name)
	case v.ConfigMap != nil:
		return fmt.Sprintf("a mirror pod may not reference configmaps (configMap %q in volume %q)", v.ConfigMap.Name, v.Name)
	case v.PersistentVolumeClaim != nil:
		return fmt.Sprintf("a mirror pod may not reference persistentvolumeclaims (claim %q in volume %q)", v.PersistentVolumeClaim.ClaimName, v.Name)
	case v.Projected != nil:
		for _, s := range v.Projected.Sources {
			switch {
			case s.ServiceAccountToken != nil:
				return fmt.Sprintf("a mirror pod may not use ServiceAccountToken volume projections (volume %q)", v.Name)
			case s.Secret != nil:
				return fmt.Sprintf("a mirror pod may not reference secrets (secret %q in volume %q)", s.Secret.Name, v.Name)
			case s.ConfigMap != nil:
				return fmt.Sprintf("a mirror pod may not reference configmaps (configMap %q in volume %q)", s.ConfigMap.Name, v.Name)
			}
		}
	}
	return ""
}

func envReference(c v1.Container) string {
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil {
			return fmt.Sprintf("a mirror pod may not reference secrets (secret %q in envFrom of container %q)", e.SecretRef.Name, c.Name)
		}
		if e.ConfigMapRef != nil {
			return fmt.Sprintf("a mirror pod may not reference configmaps (configMap %q in envFrom of container %q)", e.ConfigMapRef.Name, c.Name)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			return fmt.Sprintf("a mirror pod may not reference secrets (secret %q in env %s of container %q)", r.Name, e.Name, c.Name)
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			return fmt.Sprintf("a mirror pod may not reference configmaps (configMap %q in env %s of container %q)", r.Name, e.Name, c.Name)
		}
	}
	return ""
}

func allContainers(pod *v1.Pod) []v1.Container {
	return append(append([]v1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
}
