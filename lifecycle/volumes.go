package lifecycle

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// ensureVolumes creates the pod's Docker volumes and checks its hostPaths;
// creating an existing named volume is a no-op on the engine.
func (w *Worker) ensureVolumes(ctx context.Context, pod *v1.Pod, plan translate.VolumePlan) error {
	for name, hp := range plan.HostPaths {
		if err := checkHostPath(hp); err != nil {
			return &mountError{volume: name, err: err}
		}
	}
	if w.mem.volumesCreated {
		return nil
	}
	ctx, cancel := toCompletion(ctx)
	defer cancel()
	for _, dv := range plan.Docker {
		labels := map[string]string{
			dockerhost.LabelNode:         w.rt.NodeName,
			dockerhost.LabelPodUID:       string(pod.UID),
			dockerhost.LabelPodName:      pod.Name,
			dockerhost.LabelPodNamespace: pod.Namespace,
			dockerhost.LabelVolumeName:   dv.Name,
		}
		name := dockerhost.VolumeName(string(pod.UID), dv.Name)
		var err error
		if dv.DriverOpts != nil {
			err = w.docker.VolumeCreateOptions(ctx, name, labels, dv.DriverOpts)
		} else {
			err = w.docker.VolumeCreate(ctx, name, labels)
		}
		if err != nil {
			return &mountError{volume: dv.Name, err: fmt.Errorf("create volume: %w", err)}
		}
	}
	w.mem.volumesCreated = true
	return nil
}

// mountError is a volume that cannot be set up (yet), reported as the
// kubelet's FailedMount event.
type mountError struct {
	volume string
	err    error
}

func (e *mountError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.volume, e.err)
}

func (e *mountError) Unwrap() error { return e.err }

// removeVolumes deletes every Docker volume of the pod.
func (w *Worker) removeVolumes(ctx context.Context) error {
	w.vol.forget(w)
	vols, err := w.docker.VolumeList(ctx, dockerhost.NodeSelector(w.rt.NodeName), dockerhost.PodSelector(string(w.uid)))
	if err != nil {
		return fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vols {
		if err := w.docker.VolumeRemove(ctx, v.Name); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove volume %s: %w", v.Name, err)
		}
	}
	return nil
}
