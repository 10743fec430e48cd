package translate

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/volumes"
	v1 "k8s.io/api/core/v1"
)

// SandboxVolumeDir is where the sandbox mounts each of the pod's Docker
// volumes: the pause program fills API-data volumes and resolves subPaths
// there, from inside the pod, so a remote engine works the same.
const SandboxVolumeDir = "/vk-docker/volumes/"

// DockerVolume is one pod volume backed by a Docker named volume.
type DockerVolume struct {
	// Name is the pod volume's name.
	Name string
	// DriverOpts are the local driver's options (tmpfs); nil for disk.
	DriverOpts map[string]string
	// APIData marks secret, configMap, downwardAPI and projected volumes,
	// whose files the provider writes and which containers see read-only.
	APIData bool
}

// VolumePlan is what the pod's volumes need from the engine.
type VolumePlan struct {
	// Docker are the volumes backed by a Docker volume of the pod.
	Docker []DockerVolume
	// HostPaths are the hostPath volumes, by name.
	HostPaths map[string]*v1.HostPathVolumeSource
	// Unsupported maps a volume to why vk-docker cannot provide it; the pod
	// stays Pending while any is present.
	Unsupported map[string]string
}

// PlanVolumes sorts the pod's volumes into what can be provided.
func (n *Node) PlanVolumes(pod *v1.Pod) VolumePlan {
	p := VolumePlan{HostPaths: map[string]*v1.HostPathVolumeSource{}, Unsupported: map[string]string{}}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		switch {
		case v.EmptyDir != nil && v.EmptyDir.Medium == v1.StorageMediumDefault:
			p.Docker = append(p.Docker, DockerVolume{Name: v.Name})
		case v.EmptyDir != nil && v.EmptyDir.Medium == v1.StorageMediumMemory:
			var size int64
			if v.EmptyDir.SizeLimit != nil {
				size = v.EmptyDir.SizeLimit.Value()
			}
			p.Docker = append(p.Docker, DockerVolume{Name: v.Name, DriverOpts: dockerhost.TmpfsOptions(size)})
		case v.EmptyDir != nil:
			p.Unsupported[v.Name] = fmt.Sprintf("emptyDir medium %q is not supported by vk-docker", v.EmptyDir.Medium)
		case v.Projected != nil && volumes.UnsupportedProjection(v.Projected) != "":
			p.Unsupported[v.Name] = fmt.Sprintf("projected source %s is not supported by vk-docker", volumes.UnsupportedProjection(v.Projected))
		case volumes.IsAPIData(v):
			// Secrets live only in memory, as on a kubelet.
			p.Docker = append(p.Docker, DockerVolume{Name: v.Name, DriverOpts: dockerhost.TmpfsOptions(0), APIData: true})
		case v.HostPath != nil:
			if why := n.hostPathRefused(v.HostPath.Path); why != "" {
				p.Unsupported[v.Name] = why
				continue
			}
			p.HostPaths[v.Name] = v.HostPath
		default:
			p.Unsupported[v.Name] = fmt.Sprintf("volume type %s is not supported by vk-docker", volumeType(*v))
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

// hostPathRefused says why a hostPath may not be mounted ("" when it may):
// only paths under one of the node's --allowed-host-paths are, since a
// hostPath gives the pod the Docker host's files.
func (n *Node) hostPathRefused(p string) string {
	clean := filepath.Clean(p)
	for _, allowed := range n.HostPaths {
		a := filepath.Clean(allowed)
		if clean == a || strings.HasPrefix(clean, strings.TrimSuffix(a, "/")+"/") {
			return ""
		}
	}
	if len(n.HostPaths) == 0 {
		return fmt.Sprintf("hostPath %q is not allowed on this node: it allows no host paths (--allowed-host-paths)", p)
	}
	return fmt.Sprintf("hostPath %q is not under a path this node allows (--allowed-host-paths %s)", p, strings.Join(n.HostPaths, ","))
}
