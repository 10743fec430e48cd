package translate

import (
	"github.com/docker/docker/api/types/mount"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/volumes"
	v1 "k8s.io/api/core/v1"
)

// SandboxVolumeMounts mounts every Docker volume of the pod in its sandbox:
// the sandbox lives as long as the pod, so tmpfs volumes stay mounted (and
// their content with them) while app containers come and go.
func (n *Node) SandboxVolumeMounts(pod *v1.Pod) []mount.Mount {
	var out []mount.Mount
	for _, dv := range n.PlanVolumes(pod).Docker {
		out = append(out, mount.Mount{
			Type:   mount.TypeVolume,
			Source: dockerhost.VolumeName(string(pod.UID), dv.Name),
			Target: SandboxVolumeDir + dv.Name,
		})
	}
	return out
}

// VolumeMounts binds the container's volumeMounts without a subPath to the
// pod's volumes (lifecycle's subPathMounts binds the others). API-data volumes are
// read-only, as on a kubelet.
func VolumeMounts(pod *v1.Pod, c *v1.Container) []mount.Mount {
	var mounts []mount.Mount
	for _, vm := range c.VolumeMounts {
		if vm.SubPath != "" || vm.SubPathExpr != "" {
			continue
		}
		v := PodVolume(pod, vm.Name)
		switch {
		case v == nil:
		case v.HostPath != nil:
			mounts = append(mounts, mount.Mount{
				Type:        mount.TypeBind,
				Source:      v.HostPath.Path,
				Target:      vm.MountPath,
				ReadOnly:    vm.ReadOnly,
				BindOptions: BindOptions(vm.MountPropagation),
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

func PodVolume(pod *v1.Pod, name string) *v1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// BindOptions maps mountPropagation to Docker's bind propagation; Docker
// volumes (emptyDir) have none, so it applies to hostPath only.
func BindOptions(p *v1.MountPropagationMode) *mount.BindOptions {
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
