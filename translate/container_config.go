package translate

import (
	"encoding/json"
	"hash/fnv"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
)

// ContainerHash fingerprints the parts of a container spec that, when changed,
// need a new container (the kubelet's io.kubernetes.container.hash).
func ContainerHash(c *v1.Container) string {
	h := fnv.New32a()
	b, _ := json.Marshal(struct {
		Name, Image     string
		Command, Args   []string
		WorkingDir      string
		Ports           []v1.ContainerPort
		Env             []v1.EnvVar
		VolumeMounts    []v1.VolumeMount
		Stdin, TTY      bool
		SecurityContext *v1.SecurityContext
	}{c.Name, c.Image, c.Command, c.Args, c.WorkingDir, c.Ports, c.Env, c.VolumeMounts, c.Stdin, c.TTY, c.SecurityContext})
	_, _ = h.Write(b)
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

// Slot says where a container sits in its pod.
type Slot struct {
	// Index is its position in containers, initContainers or
	// ephemeralContainers.
	Index int
	// Init marks an init container (sidecar or not).
	Init bool
	// Ephemeral marks an ephemeral container (kubectl debug).
	Ephemeral bool
	// PIDTarget is, for an ephemeral container with a targetContainerName,
	// the engine ID of that container: the ephemeral one joins its PID
	// namespace, as the kubelet's NamespaceMode TARGET does.
	PIDTarget string
}

// Kind is the container's LabelContainerKind value.
func (s Slot) Kind() string {
	switch {
	case s.Ephemeral:
		return dockerhost.KindEphemeral
	case s.Init:
		return dockerhost.KindInit
	}
	return dockerhost.KindApp
}

// EphemeralContainer is an ephemeral container as a container: the fields
// the API refuses on one (ports, resources, lifecycle, probes) are left out
// whatever the object holds, so none of them reaches the engine.
func EphemeralContainer(ec *v1.EphemeralContainer) *v1.Container {
	c := v1.Container(*ec.EphemeralContainerCommon.DeepCopy())
	c.Ports, c.Resources, c.ResizePolicy, c.Lifecycle = nil, v1.ResourceRequirements{}, nil, nil
	c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = nil, nil, nil
	c.RestartPolicy, c.RestartPolicyRules = nil, nil
	return &c
}

// ContainerConfig translates container c of pod, at slot s, into Docker
// terms, joined to the sandbox's namespaces. Attempt n of a container is its
// n-th restart.
func (n *Node) ContainerConfig(pod *v1.Pod, c *v1.Container, s Slot, attempt int, sandboxID string) (*container.Config, *container.HostConfig) {
	labels := n.podLabels(pod)
	labels[dockerhost.LabelContainerName] = c.Name
	labels[dockerhost.LabelDockerType] = dockerhost.DockerTypeContainer
	labels[dockerhost.LabelContainerKind] = s.Kind()
	labels[dockerhost.LabelContainerIndex] = strconv.Itoa(s.Index)
	labels[dockerhost.LabelRestartCount] = strconv.Itoa(attempt)
	labels[dockerhost.LabelContainerHash] = ContainerHash(c)
	labels[dockerhost.LabelContainerImage] = c.Image
	if c.TerminationMessagePath != "" {
		labels[dockerhost.LabelTerminationMessagePath] = c.TerminationMessagePath
	}
	if len(c.Ports) > 0 {
		// Ports cannot be exposed on a container that joins another's network
		// namespace; they are recorded as the kubelet's dockershim did.
		if b, err := json.Marshal(c.Ports); err == nil {
			labels[dockerhost.LabelContainerPorts] = string(b)
		}
	}
	cfg := &container.Config{
		Image:      c.Image,
		Entrypoint: c.Command,
		Cmd:        c.Args,
		WorkingDir: c.WorkingDir,
		Labels:     labels,
		Tty:        c.TTY,
		OpenStdin:  c.Stdin,
		StdinOnce:  c.StdinOnce,
	}
	if c.Stdin {
		cfg.AttachStdin = true
	}
	ns := container.NetworkMode("container:" + sandboxID)
	host := &container.HostConfig{
		NetworkMode: ns,
		IpcMode:     container.IpcMode("container:" + sandboxID),
		Mounts:      VolumeMounts(pod, c),
	}
	switch {
	case pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace:
		host.PidMode = container.PidMode("container:" + sandboxID)
	case s.PIDTarget != "":
		// Only where the container would have a PID namespace of its own,
		// as in the kubelet: a shared or host PID namespace wins.
		host.PidMode = container.PidMode("container:" + s.PIDTarget)
	}
	applyHostNamespaces(pod, host)
	applyResources(c, host)
	return cfg, host
}
