package lifecycle

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/mount"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/volumes"
	v1 "k8s.io/api/core/v1"
)

// sandboxVolumeDir is where the sandbox mounts each of the pod's Docker
// volumes: the pause program fills API-data volumes and resolves subPaths
// there, from inside the pod, so a remote engine works the same.
const sandboxVolumeDir = "/vk-docker/volumes/"

// dockerVolume is one pod volume backed by a Docker named volume.
type dockerVolume struct {
	name string
	// driverOpts are the local driver's options (tmpfs); nil for disk.
	driverOpts map[string]string
	// apiData marks secret, configMap, downwardAPI and projected volumes,
	// whose files the provider writes and which containers see read-only.
	apiData bool
}

// volumePlan is what the pod's volumes need from the engine.
type volumePlan struct {
	// docker are the volumes backed by a Docker volume of the pod.
	docker []dockerVolume
	// hostPaths are the hostPath volumes, by name.
	hostPaths map[string]*v1.HostPathVolumeSource
	// unsupported maps a volume to why vk-docker cannot provide it; the pod
	// stays Pending while any is present.
	unsupported map[string]string
}

// planVolumes sorts the pod's volumes into what can be provided.
func (rt *Runtime) planVolumes(pod *v1.Pod) volumePlan {
	p := volumePlan{hostPaths: map[string]*v1.HostPathVolumeSource{}, unsupported: map[string]string{}}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		switch {
		case v.EmptyDir != nil && v.EmptyDir.Medium == v1.StorageMediumDefault:
			p.docker = append(p.docker, dockerVolume{name: v.Name})
		case v.EmptyDir != nil && v.EmptyDir.Medium == v1.StorageMediumMemory:
			var size int64
			if v.EmptyDir.SizeLimit != nil {
				size = v.EmptyDir.SizeLimit.Value()
			}
			p.docker = append(p.docker, dockerVolume{name: v.Name, driverOpts: dockerhost.TmpfsOptions(size)})
		case v.EmptyDir != nil:
			p.unsupported[v.Name] = fmt.Sprintf("emptyDir medium %q is not supported by vk-docker", v.EmptyDir.Medium)
		case v.Projected != nil && volumes.UnsupportedProjection(v.Projected) != "":
			p.unsupported[v.Name] = fmt.Sprintf("projected source %s is not supported by vk-docker", volumes.UnsupportedProjection(v.Projected))
		case volumes.IsAPIData(v):
			// Secrets live only in memory, as on a kubelet.
			p.docker = append(p.docker, dockerVolume{name: v.Name, driverOpts: dockerhost.TmpfsOptions(0), apiData: true})
		case v.HostPath != nil:
			if why := rt.hostPathRefused(v.HostPath.Path); why != "" {
				p.unsupported[v.Name] = why
				continue
			}
			p.hostPaths[v.Name] = v.HostPath
		default:
			p.unsupported[v.Name] = fmt.Sprintf("volume type %s is not supported by vk-docker", volumeType(*v))
		}
	}
	return p
}

func volumeType(v v1.Volume) string {
	switch {
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
	case v.ISCSI != nil:
		return "iscsi"
	case v.GitRepo != nil:
		return "gitRepo"
	case v.FC != nil:
		return "fc"
	}
	return "(unknown)"
}

// ensureVolumes creates the pod's Docker volumes and checks its hostPaths;
// creating an existing named volume is a no-op on the engine.
func (w *Worker) ensureVolumes(ctx context.Context, pod *v1.Pod, plan volumePlan) error {
	for name, hp := range plan.hostPaths {
		if err := checkHostPath(hp); err != nil {
			return &mountError{volume: name, err: err}
		}
	}
	if w.mem.volumesCreated {
		return nil
	}
	for _, dv := range plan.docker {
		labels := map[string]string{
			dockerhost.LabelNode:         w.rt.NodeName,
			dockerhost.LabelPodUID:       string(pod.UID),
			dockerhost.LabelPodName:      pod.Name,
			dockerhost.LabelPodNamespace: pod.Namespace,
			dockerhost.LabelVolumeName:   dv.name,
		}
		name := dockerhost.VolumeName(string(pod.UID), dv.name)
		var err error
		if dv.driverOpts != nil {
			err = w.docker.VolumeCreateOptions(ctx, name, labels, dv.driverOpts)
		} else {
			err = w.docker.VolumeCreate(ctx, name, labels)
		}
		if err != nil {
			return &mountError{volume: dv.name, err: fmt.Errorf("create volume: %w", err)}
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

// sandboxVolumeMounts mounts every Docker volume of the pod in its sandbox:
// the sandbox lives as long as the pod, so tmpfs volumes stay mounted (and
// their content with them) while app containers come and go.
func (rt *Runtime) sandboxVolumeMounts(pod *v1.Pod) []mount.Mount {
	var out []mount.Mount
	for _, dv := range rt.planVolumes(pod).docker {
		out = append(out, mount.Mount{
			Type:   mount.TypeVolume,
			Source: dockerhost.VolumeName(string(pod.UID), dv.name),
			Target: sandboxVolumeDir + dv.name,
		})
	}
	return out
}

// volumeMounts binds the container's volumeMounts without a subPath to the
// pod's volumes (see subPathMounts for the others). API-data volumes are
// read-only, as on a kubelet.
func volumeMounts(pod *v1.Pod, c *v1.Container) []mount.Mount {
	var mounts []mount.Mount
	for _, vm := range c.VolumeMounts {
		if vm.SubPath != "" || vm.SubPathExpr != "" {
			continue
		}
		v := podVolume(pod, vm.Name)
		switch {
		case v == nil:
		case v.HostPath != nil:
			mounts = append(mounts, mount.Mount{
				Type:        mount.TypeBind,
				Source:      v.HostPath.Path,
				Target:      vm.MountPath,
				ReadOnly:    vm.ReadOnly,
				BindOptions: bindOptions(vm.MountPropagation),
			})
		case v.EmptyDir != nil || volumes.IsAPIData(v):
			mounts = append(mounts, mount.Mount{
				Type:     mount.TypeVolume,
				Source:   dockerhost.VolumeName(string(pod.UID), vm.Name),
				Target:   vm.MountPath,
				ReadOnly: vm.ReadOnly || volumes.IsAPIData(v),
			})
		}
	}
	return mounts
}

func podVolume(pod *v1.Pod, name string) *v1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// bindOptions maps mountPropagation to Docker's bind propagation; Docker
// volumes (emptyDir) have none, so it applies to hostPath only.
func bindOptions(p *v1.MountPropagationMode) *mount.BindOptions {
	if p == nil {
		return nil
	}
	switch *p {
	case v1.MountPropagationHostToContainer:
		return &mount.BindOptions{Propagation: mount.PropagationRSlave}
	case v1.MountPropagationBidirectional:
		return &mount.BindOptions{Propagation: mount.PropagationRShared}
	}
	return nil
}
