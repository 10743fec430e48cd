// Package volumes computes the files of a pod's API-data volumes (secret,
// configMap, downwardAPI, projected) exactly as the kubelet's volume plugins
// do: which keys become which paths with which modes, what an optional or
// missing source means, and the kubelet's error messages. Writing the files
// is left to the caller (see volumes/atomicdir).
package volumes

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/vk-docker/vk-docker/volumes/atomicdir"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// Sources is where volume content comes from.
type Sources struct {
	// Secrets and ConfigMaps read the referenced objects (informer caches).
	Secrets    corev1listers.SecretLister
	ConfigMaps corev1listers.ConfigMapLister
	// Tokens issues service account tokens for projected volumes.
	Tokens *TokenCache
	// Allocatable is the node's allocatable resources, the value of a
	// resourceFieldRef limit the container does not set; nil for none.
	Allocatable func() v1.ResourceList
}

// IsAPIData reports whether vol is one of the kinds Render fills.
func IsAPIData(vol *v1.Volume) bool {
	return vol.Secret != nil || vol.ConfigMap != nil || vol.DownwardAPI != nil || vol.Projected != nil
}

// Render returns the files of one API-data volume of pod.
func (s *Sources) Render(ctx context.Context, pod *v1.Pod, vol *v1.Volume) (atomicdir.Payload, error) {
	var files map[string]atomicdir.File
	var err error
	switch {
	case vol.Secret != nil:
		files, err = s.secretFiles(pod.Namespace, vol.Secret.SecretName, vol.Secret.Items, modeOr(vol.Secret.DefaultMode, v1.SecretVolumeSourceDefaultMode), vol.Secret.Optional)
	case vol.ConfigMap != nil:
		files, err = s.configMapFiles(pod.Namespace, vol.ConfigMap.Name, vol.ConfigMap.Items, modeOr(vol.ConfigMap.DefaultMode, v1.ConfigMapVolumeSourceDefaultMode), vol.ConfigMap.Optional)
	case vol.DownwardAPI != nil:
		files, err = s.downwardAPIFiles(ctx, pod, vol.DownwardAPI.Items, modeOr(vol.DownwardAPI.DefaultMode, v1.DownwardAPIVolumeSourceDefaultMode))
	case vol.Projected != nil:
		files, err = s.projectedFiles(ctx, pod, vol.Projected)
	default:
		return atomicdir.Payload{}, fmt.Errorf("volume %q has no API-data source", vol.Name)
	}
	if err != nil {
		return atomicdir.Payload{}, err
	}
	p := atomicdir.Payload{Files: files}
	if err := p.Validate(); err != nil {
		return atomicdir.Payload{}, err
	}
	return p, nil
}

func modeOr(m *int32, def int32) int32 {
	if m != nil {
		return *m
	}
	return def
}

func (s *Sources) getSecret(ns, name string, optional *bool) (*v1.Secret, error) {
	if s.Secrets == nil {
		return nil, errors.New("no secret source configured")
	}
	sec, err := s.Secrets.Secrets(ns).Get(name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional != nil && *optional {
			return &v1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, nil
		}
		return nil, err
	}
	return sec, nil
}

func (s *Sources) getConfigMap(ns, name string, optional *bool) (*v1.ConfigMap, error) {
	if s.ConfigMaps == nil {
		return nil, errors.New("no configmap source configured")
	}
	cm, err := s.ConfigMaps.ConfigMaps(ns).Get(name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional != nil && *optional {
			return &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, nil
		}
		return nil, err
	}
	return cm, nil
}

// secretFiles is the kubelet's secret.MakePayload.
func (s *Sources) secretFiles(ns, name string, items []v1.KeyToPath, defaultMode int32, optional *bool) (map[string]atomicdir.File, error) {
	sec, err := s.getSecret(ns, name, optional)
	if err != nil {
		return nil, err
	}
	return keyFiles(sec.Data, nil, items, defaultMode, optional, "references non-existent secret key: %s")
}

// configMapFiles is the kubelet's configmap.MakePayload: data and binaryData.
func (s *Sources) configMapFiles(ns, name string, items []v1.KeyToPath, defaultMode int32, optional *bool) (map[string]atomicdir.File, error) {
	cm, err := s.getConfigMap(ns, name, optional)
	if err != nil {
		return nil, err
	}
	return keyFiles(cm.BinaryData, cm.Data, items, defaultMode, optional, "configmap references non-existent config key: %s")
}

// keyFiles maps keys to files: every key with defaultMode without items,
// else each item's key to its path with its own mode. A missing key is an
// error unless the source is optional.
func keyFiles(bin map[string][]byte, str map[string]string, items []v1.KeyToPath, defaultMode int32, optional *bool, missing string) (map[string]atomicdir.File, error) {
	lookup := func(k string) ([]byte, bool) {
		if b, ok := bin[k]; ok {
			return b, true
		}
		s, ok := str[k]
		return []byte(s), ok
	}
	out := map[string]atomicdir.File{}
	if len(items) == 0 {
		for k, b := range bin {
			out[k] = atomicdir.File{Data: b, Mode: defaultMode}
		}
		for k, v := range str {
			out[k] = atomicdir.File{Data: []byte(v), Mode: defaultMode}
		}
		return out, nil
	}
	for _, it := range items {
		b, ok := lookup(it.Key)
		if !ok {
			if optional != nil && *optional {
				continue
			}
			return nil, fmt.Errorf(missing, it.Key)
		}
		out[it.Path] = atomicdir.File{Data: b, Mode: modeOr(it.Mode, defaultMode)}
	}
	return out, nil
}

// projectedFiles is the kubelet's projected volume: every source's files in
// one directory, the volume's defaultMode for those without their own.
func (s *Sources) projectedFiles(ctx context.Context, pod *v1.Pod, p *v1.ProjectedVolumeSource) (map[string]atomicdir.File, error) {
	defaultMode := modeOr(p.DefaultMode, v1.ProjectedVolumeSourceDefaultMode)
	out := map[string]atomicdir.File{}
	var errs []error
	add := func(files map[string]atomicdir.File, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		for k, f := range files {
			out[k] = f
		}
	}
	for _, src := range p.Sources {
		switch {
		case src.Secret != nil:
			add(s.secretFiles(pod.Namespace, src.Secret.Name, src.Secret.Items, defaultMode, src.Secret.Optional))
		case src.ConfigMap != nil:
			add(s.configMapFiles(pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, defaultMode, src.ConfigMap.Optional))
		case src.DownwardAPI != nil:
			add(s.downwardAPIFiles(ctx, pod, src.DownwardAPI.Items, defaultMode))
		case src.ServiceAccountToken != nil:
			tp := src.ServiceAccountToken
			if s.Tokens == nil {
				errs = append(errs, errors.New("no token source configured"))
				continue
			}
			tok, err := s.Tokens.Token(ctx, pod, tp.Audience, tp.ExpirationSeconds)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out[tp.Path] = atomicdir.File{Data: []byte(tok), Mode: defaultMode}
		case src.ClusterTrustBundle != nil:
			errs = append(errs, fmt.Errorf("clusterTrustBundle projection at %q is not supported by vk-docker", src.ClusterTrustBundle.Path))
		case src.PodCertificate != nil:
			errs = append(errs, errors.New("podCertificate projection is not supported by vk-docker"))
		}
	}
	return out, utilerrors.NewAggregate(errs)
}

// UnsupportedProjection names a projected source vk-docker cannot provide
// ("" when it can provide every source): such a pod stays Pending.
func UnsupportedProjection(p *v1.ProjectedVolumeSource) string {
	for _, src := range p.Sources {
		switch {
		case src.ClusterTrustBundle != nil:
			return "clusterTrustBundle"
		case src.PodCertificate != nil:
			return "podCertificate"
		}
	}
	return ""
}

// cleanItemPath is the path of a downwardAPI item as the kubelet stores it.
func cleanItemPath(p string) string { return path.Clean(p) }
