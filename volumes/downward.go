package volumes

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/vk-docker/vk-docker/volumes/atomicdir"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// downwardAPIFiles is the kubelet's downwardapi.CollectData.
func (s *Sources) downwardAPIFiles(ctx context.Context, pod *v1.Pod, items []v1.DownwardAPIVolumeFile, defaultMode int32) (map[string]atomicdir.File, error) {
	out := map[string]atomicdir.File{}
	var errs []error
	for _, it := range items {
		f := atomicdir.File{Mode: modeOr(it.Mode, defaultMode)}
		switch {
		case it.FieldRef != nil:
			v, err := podField(pod, it.FieldRef.FieldPath)
			if err != nil {
				errs = append(errs, err)
			}
			f.Data = []byte(v)
		case it.ResourceFieldRef != nil:
			v, err := s.resourceField(ctx, pod, it.ResourceFieldRef)
			if err != nil {
				errs = append(errs, err)
			}
			f.Data = []byte(v)
		}
		out[cleanItemPath(it.Path)] = f
	}
	return out, utilerrors.NewAggregate(errs)
}

// podField is the kubelet's fieldpath.ExtractFieldPathAsString for the
// fields a downwardAPI volume may show.
func podField(pod *v1.Pod, fieldPath string) (string, error) {
	if p, key, ok := splitSubscript(fieldPath); ok {
		switch p {
		case "metadata.annotations":
			return pod.Annotations[key], nil
		case "metadata.labels":
			return pod.Labels[key], nil
		}
		return "", fmt.Errorf("fieldPath %q does not support subscript", fieldPath)
	}
	switch fieldPath {
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", fieldPath)
}

// splitSubscript splits "metadata.labels['key']" into its path and key.
func splitSubscript(fieldPath string) (string, string, bool) {
	if !strings.HasSuffix(fieldPath, "']") {
		return fieldPath, "", false
	}
	p, key, ok := strings.Cut(strings.TrimSuffix(fieldPath, "']"), "['")
	if !ok || p == "" {
		return fieldPath, "", false
	}
	return p, key, true
}

// formatMap renders labels or annotations as the kubelet does: sorted
// `key="value"` lines, values Go-quoted, no trailing newline.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		if len(b) > 0 {
			b = append(b, '\n')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, m[k])
	}
	return string(b)
}

// resourceField is the kubelet's ExtractResourceValueByContainerName: a
// container's limit or request divided by the divisor, rounded up; a limit
// the container does not set is the node's allocatable amount.
func (s *Sources) resourceField(ctx context.Context, pod *v1.Pod, ref *v1.ResourceFieldSelector) (string, error) {
	var c *v1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == ref.ContainerName {
			c = &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == ref.ContainerName {
			c = &pod.Spec.InitContainers[i]
		}
	}
	if c == nil {
		return "", fmt.Errorf("container %s not found", ref.ContainerName)
	}
	limits := c.Resources.Limits.DeepCopy()
	if limits == nil {
		limits = v1.ResourceList{}
	}
	if strings.HasPrefix(ref.Resource, "limits.") {
		name := v1.ResourceName(strings.TrimPrefix(ref.Resource, "limits."))
		if _, set := limits[name]; !set && s.Allocatable != nil {
			alloc, err := s.Allocatable(ctx)
			if err != nil {
				return "", fmt.Errorf("node allocatable: %w", err)
			}
			if q, ok := alloc[name]; ok {
				limits[name] = q
			}
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	var q resource.Quantity
	switch ref.Resource {
	case "limits.cpu", "limits.memory", "limits.ephemeral-storage":
		q = limits[v1.ResourceName(strings.TrimPrefix(ref.Resource, "limits."))]
	case "requests.cpu", "requests.memory", "requests.ephemeral-storage":
		q = c.Resources.Requests[v1.ResourceName(strings.TrimPrefix(ref.Resource, "requests."))]
	default:
		if n, ok := strings.CutPrefix(ref.Resource, "limits."); ok && strings.HasPrefix(n, v1.ResourceHugePagesPrefix) {
			q = limits[v1.ResourceName(n)]
		} else if n, ok := strings.CutPrefix(ref.Resource, "requests."); ok && strings.HasPrefix(n, v1.ResourceHugePagesPrefix) {
			q = c.Resources.Requests[v1.ResourceName(n)]
		} else {
			return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
		}
	}
	if strings.HasSuffix(ref.Resource, ".cpu") {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}
