package lifecycle

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/mount"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
)

// serviceAccountVolumePrefix names the projected volume the API server
// injects into every pod for its ServiceAccount token.
const serviceAccountVolumePrefix = "kube-api-access-"

// volumePlan is what the pod's volumes need from the engine.
type volumePlan struct {
	// emptyDirs are the volumes backed by a Docker volume of the pod.
	emptyDirs []string
	// skipped are volumes deliberately not mounted yet (logged once).
	skipped []string
	// unsupported maps a volume to why vk-docker cannot provide it; the pod
	// stays Pending while any is present.
	unsupported map[string]string
}

// planVolumes sorts the pod's volumes into what can be provided now.
func planVolumes(pod *v1.Pod) volumePlan {
	p := volumePlan{unsupported: map[string]string{}}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.EmptyDir != nil && v.EmptyDir.Medium == v1.StorageMediumDefault:
			p.emptyDirs = append(p.emptyDirs, v.Name)
		case v.EmptyDir != nil:
			p.unsupported[v.Name] = fmt.Sprintf("emptyDir medium %q is not supported by vk-docker yet", v.EmptyDir.Medium)
		case v.Projected != nil && strings.HasPrefix(v.Name, serviceAccountVolumePrefix):
			p.skipped = append(p.skipped, v.Name)
		default:
			p.unsupported[v.Name] = fmt.Sprintf("volume type %s is not supported by vk-docker yet", volumeType(v))
		}
	}
	return p
}

func volumeType(v v1.Volume) string {
	switch {
	case v.HostPath != nil:
		return "hostPath"
	case v.Secret != nil:
		return "secret"
	case v.ConfigMap != nil:
		return "configMap"
	case v.DownwardAPI != nil:
		return "downwardAPI"
	case v.Projected != nil:
		return "projected"
	case v.PersistentVolumeClaim != nil:
		return "persistentVolumeClaim"
	case v.CSI != nil:
		return "csi"
	case v.Ephemeral != nil:
		return "ephemeral"
	case v.Image != nil:
		return "image"
	case v.NFS != nil:
		return "nfs"
	}
	return "(unknown)"
}

// ensureVolumes creates the pod's Docker volumes; creating an existing named
// volume is a no-op on the engine.
func (w *Worker) ensureVolumes(ctx context.Context, pod *v1.Pod, plan volumePlan) error {
	if w.volumesCreated {
		return nil
	}
	for _, name := range plan.emptyDirs {
		labels := map[string]string{
			dockerhost.LabelNode:         w.rt.NodeName,
			dockerhost.LabelPodUID:       string(pod.UID),
			dockerhost.LabelPodName:      pod.Name,
			dockerhost.LabelPodNamespace: pod.Namespace,
			dockerhost.LabelVolumeName:   name,
		}
		if err := w.docker.VolumeCreate(ctx, dockerhost.VolumeName(string(pod.UID), name), labels); err != nil {
			return fmt.Errorf("create volume %s: %w", name, err)
		}
	}
	w.volumesCreated = true
	if len(plan.skipped) > 0 && !w.loggedSkippedVolumes {
		w.loggedSkippedVolumes = true
		log.G(ctx).WithField("volumes", plan.skipped).Info("Not mounting the service account volume: projected volumes are not supported yet")
	}
	return nil
}

// removeVolumes deletes every Docker volume of the pod.
func (w *Worker) removeVolumes(ctx context.Context) error {
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

// volumeMounts binds the container's volumeMounts to the pod's Docker volumes.
// Volumes vk-docker does not materialise (see podVolumes) are left out.
func volumeMounts(pod *v1.Pod, c *v1.Container) []mount.Mount {
	backed := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil {
			backed[v.Name] = true
		}
	}
	var mounts []mount.Mount
	for _, vm := range c.VolumeMounts {
		if !backed[vm.Name] {
			continue
		}
		mounts = append(mounts, mount.Mount{
			Type:     mount.TypeVolume,
			Source:   dockerhost.VolumeName(string(pod.UID), vm.Name),
			Target:   vm.MountPath,
			ReadOnly: vm.ReadOnly,
		})
	}
	return mounts
}
