package dockerhost

import "github.com/docker/docker/api/types/filters"

// Label keys on every container and volume vk-docker creates. The
// io.kubernetes.* keys are the ones dockershim and cri-dockerd use, so that
// `docker ps` reads the same as on a Docker-based kubelet; io.vk-docker.* are
// the project's own. Together they are enough to rebuild every pod after a
// provider restart.
const (
	LabelPodName                = "io.kubernetes.pod.name"
	LabelPodNamespace           = "io.kubernetes.pod.namespace"
	LabelPodUID                 = "io.kubernetes.pod.uid"
	LabelContainerName          = "io.kubernetes.container.name"
	LabelDockerType             = "io.kubernetes.docker.type"
	LabelRestartCount           = "io.kubernetes.container.restartCount"
	LabelContainerHash          = "io.kubernetes.container.hash"
	LabelTerminationGracePeriod = "io.kubernetes.pod.terminationGracePeriod"
	LabelTerminationMessagePath = "io.kubernetes.container.terminationMessagePath"
	LabelNode                   = "io.vk-docker.node"
	LabelContainerKind          = "io.vk-docker.container.kind"
	LabelContainerIndex         = "io.vk-docker.container.index"
	LabelVolumeName             = "io.vk-docker.volume.name"
	LabelPauseSHA256            = "io.vk-docker.pause.sha256"
	// LabelDockerHost names, on a node with several Docker hosts, the
	// host (its --docker-host URL) the pod was placed on.
	LabelDockerHost = "io.vk-docker.host"
)

// Label values.
const (
	// DockerTypeSandbox and DockerTypeContainer are the values of
	// LabelDockerType.
	DockerTypeSandbox   = "podsandbox"
	DockerTypeContainer = "container"
	// SandboxContainerName is the container name of sandboxes, in
	// LabelContainerName and in container names.
	SandboxContainerName = "POD"
	// KindInit, KindApp and KindEphemeral are the values of
	// LabelContainerKind: a recovered pod's containers go back to the part
	// of its spec they came from (ephemeral ones are never restarted).
	KindInit      = "init"
	KindApp       = "app"
	KindEphemeral = "ephemeral"
)

// IsManaged reports whether a container or volume with these labels belongs
// to the node called node. A node never touches anything else, so several
// nodes can share one engine with other users of it.
func IsManaged(labels map[string]string, node string) bool {
	return node != "" && labels[LabelNode] == node && labels[LabelPodUID] != ""
}

// NodeSelector is the label filter that lists what node owns.
func NodeSelector(node string) string {
	return LabelNode + "=" + node
}

// PodSelector is the label filter that lists one pod's containers or volumes.
func PodSelector(uid string) string {
	return LabelPodUID + "=" + uid
}

// Labels that record spec fields a container cannot carry itself.
const (
	// LabelContainerImage is the image as the pod spec names it (the engine
	// reports the resolved image ID).
	LabelContainerImage = "io.vk-docker.container.image"
	// LabelContainerPorts holds the container's ports as JSON: a container that
	// joins the sandbox's network namespace cannot expose them.
	LabelContainerPorts = "io.kubernetes.container.ports"
	// LabelPodRequests, on a sandbox, holds its pod's resource requests
	// ("cpu=250m,memory=64Mi"): other nodes sharing the engine subtract them
	// from their allocatable without asking the API server.
	LabelPodRequests = "io.vk-docker.pod.requests"
)

func labelFilter(labels []string) filters.Args {
	f := filters.NewArgs()
	for _, l := range labels {
		f.Add("label", l)
	}
	return f
}
