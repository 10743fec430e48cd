package staticpods

import (
	v1 "k8s.io/api/core/v1"
)

// APIReference says which other API objects a static pod refers to, in the
// kubelet's words ("secrets (via secret volumes)"), or "" when it refers to
// none. The kubelet refuses such manifests ("static pods may not reference
// ..."), as the API server refuses mirror pods that reference them.
func APIReference(pod *v1.Pod) string {
	s := &pod.Spec
	switch {
	case s.ServiceAccountName != "":
		return "serviceaccounts"
	case referencesSecrets(pod):
		return "secrets"
	case referencesConfigMaps(pod):
		return "configmaps"
	case len(s.ResourceClaims) > 0:
		return "resourceclaims"
	}
	for _, v := range s.Volumes {
		if why := volumeReference(v); why != "" {
			return why
		}
	}
	return ""
}

// volumeReference is what a volume refers to in the API; the volume kinds
// the kubelet lets static pods use (emptyDir, hostPath, downwardAPI, ...)
// refer to nothing.
func volumeReference(v v1.Volume) string {
	switch {
	case v.ConfigMap != nil:
		return "configmaps (via configmap volumes)"
	case v.Secret != nil:
		return "secrets (via secret volumes)"
	case v.CSI != nil:
		return "csidrivers (via CSI volumes)"
	case v.Glusterfs != nil:
		return "endpoints (via glusterFS volumes)"
	case v.PersistentVolumeClaim != nil:
		return "persistentvolumeclaims"
	case v.Ephemeral != nil:
		return "persistentvolumeclaims (via ephemeral volumes)"
	case v.AzureFile != nil:
		return "secrets (via azureFile volumes)"
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			switch {
			case src.ConfigMap != nil:
				return "configmaps (via projected volumes)"
			case src.Secret != nil:
				return "secrets (via projected volumes)"
			case src.ServiceAccountToken != nil:
				return "serviceaccounts (via projected volumes)"
			case src.ClusterTrustBundle != nil:
				return "clustertrustbundles"
			case src.PodCertificate != nil:
				return "podcertificates"
			}
		}
	}
	return ""
}

// referencesSecrets finds a Secret named by the pod: pull secrets, the
// secret references of volume plugins, containers' env and envFrom.
func referencesSecrets(pod *v1.Pod) bool {
	if len(pod.Spec.ImagePullSecrets) > 0 {
		return true
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.CephFS != nil && v.CephFS.SecretRef != nil,
			v.Cinder != nil && v.Cinder.SecretRef != nil,
			v.FlexVolume != nil && v.FlexVolume.SecretRef != nil,
			v.RBD != nil && v.RBD.SecretRef != nil,
			v.ScaleIO != nil && v.ScaleIO.SecretRef != nil,
			v.ISCSI != nil && v.ISCSI.SecretRef != nil,
			v.StorageOS != nil && v.StorageOS.SecretRef != nil,
			v.CSI != nil && v.CSI.NodePublishSecretRef != nil,
			v.AzureFile != nil, v.Secret != nil:
			return true
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					return true
				}
			}
		}
	}
	return anyContainerEnv(pod, func(e v1.EnvFromSource) bool { return e.SecretRef != nil },
		func(e v1.EnvVarSource) bool { return e.SecretKeyRef != nil })
}

// referencesConfigMaps finds a ConfigMap named by the pod.
func referencesConfigMaps(pod *v1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil {
			return true
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					return true
				}
			}
		}
	}
	return anyContainerEnv(pod, func(e v1.EnvFromSource) bool { return e.ConfigMapRef != nil },
		func(e v1.EnvVarSource) bool { return e.ConfigMapKeyRef != nil })
}

// anyContainerEnv reports whether an envFrom or env valueFrom of any
// container (init, app, ephemeral) matches.
func anyContainerEnv(pod *v1.Pod, from func(v1.EnvFromSource) bool, value func(v1.EnvVarSource) bool) bool {
	var all []v1.Container
	all = append(all, pod.Spec.InitContainers...)
	all = append(all, pod.Spec.Containers...)
	for _, e := range pod.Spec.EphemeralContainers {
		all = append(all, v1.Container(e.EphemeralContainerCommon))
	}
	for _, c := range all {
		for _, e := range c.EnvFrom {
			if from(e) {
				return true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && value(*e.ValueFrom) {
				return true
			}
		}
	}
	return false
}
