package volumes

import (
	"context"

	"github.com/vk-docker/vk-docker/downwardapi"
	"github.com/vk-docker/vk-docker/volumes/atomicdir"
	v1 "k8s.io/api/core/v1"
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
			v, err := downwardapi.PodField(pod, it.FieldRef.FieldPath, downwardapi.Status{})
			if err != nil {
				errs = append(errs, err)
			}
			f.Data = []byte(v)
		case it.ResourceFieldRef != nil:
			var alloc v1.ResourceList
			if s.Allocatable != nil {
				alloc = s.Allocatable()
			}
			v, err := downwardapi.ContainerResource(pod, "", it.ResourceFieldRef, alloc)
			if err != nil {
				errs = append(errs, err)
			}
			f.Data = []byte(v)
		}
		out[cleanItemPath(it.Path)] = f
	}
	return out, utilerrors.NewAggregate(errs)
}
