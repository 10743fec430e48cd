package lifecycle

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// runSandbox carries out a sandbox step: it starts a sandbox created
// earlier, or creates and starts a new one, and returns it running.
func (w *Worker) runSandbox(ctx context.Context, pod *v1.Pod, step sandboxStep) (*instance, error) {
	// Rendering may wait on the API (a token, a Secret the Node authorizer
	// does not let the node read yet): not while holding a start slot.
	vols := w.renderVolumes(ctx, pod)
	release, err := w.startSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if sb := step.start; sb != nil {
		return w.startSandbox(ctx, pod, sb.id(), sb.name, vols)
	}
	if step.replaces {
		w.rt.Recorder.Event(pod, v1.EventTypeNormal, EventSandboxChanged, "Pod sandbox changed, it will be killed and re-created.")
	}
	name := dockerhost.ContainerName{Container: dockerhost.SandboxContainerName, Pod: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID), Attempt: step.attempt}
	cfg, host := w.rt.SandboxConfig(pod)
	warnings, err := w.rt.ApplyPodNetworking(pod, cfg, host)
	if err != nil {
		return nil, fmt.Errorf("create sandbox %s: %w", name, err)
	}
	for _, e := range warnings {
		w.rt.Recorder.Event(pod, e.Type, e.Reason, e.Message)
	}
	host.Mounts = append(host.Mounts, w.rt.SandboxVolumeMounts(pod)...)
	id, err := w.createContainer(ctx, name, cfg, host)
	if err != nil {
		return nil, fmt.Errorf("create sandbox %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err // interrupted after the create: the next pass removes it
	}
	return w.startSandbox(ctx, pod, id, name, vols)
}

// startSandbox starts the sandbox and sets up, from inside it, what the
// pod's containers will share: the kubelet's /etc/hosts, which needs the
// pod IP, the roots of the pod's emptyDirs mounted there, with the
// kubelet's mode and fsGroup ownership, and the first files of its API-data
// volumes (vols). A sandbox whose /etc/hosts or emptyDirs could not be set
// up is removed: the next sync makes another.
func (w *Worker) startSandbox(ctx context.Context, pod *v1.Pod, id string, name dockerhost.ContainerName, vols renderedVolumes) (*instance, error) {
	if err := w.rt.Docker.ContainerStart(ctx, id); err != nil {
		return nil, fmt.Errorf("start sandbox %s: %w", name, err)
	}
	sb, err := w.reinspect(ctx, &instance{name: name, inspect: container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: id}}})
	if err == nil {
		if err = w.setUpSandbox(ctx, pod, sb, vols); err == nil {
			return sb, nil
		}
	}
	if rerr := w.rt.Docker.ContainerRemove(ctx, id); rerr != nil && !cerrdefs.IsNotFound(rerr) {
		err = errors.Join(err, fmt.Errorf("remove sandbox: %w", rerr))
	}
	return nil, err
}

// setUpSandbox sets up, with one exec in the running sandbox sb, the pod's
// /etc/hosts, the roots of its emptyDirs and the first content of its
// API-data volumes. A volume that could not be rendered or written here is
// left to syncVolumeContent, which tries again and reports it as a failed
// mount.
func (w *Worker) setUpSandbox(ctx context.Context, pod *v1.Pod, sb *instance, vols renderedVolumes) error {
	var ips []string
	if ip := w.rt.sandboxIP(sb); ip != "" {
		ips = []string{ip}
	}
	var s dockerhost.SandboxSetup
	if hosts, ok := w.rt.HostsFile(pod, ips); ok {
		s.Hosts = &hosts
	}
	for _, dv := range w.rt.PlanVolumes(pod).Docker {
		if !dv.APIData {
			s.EmptyDirs = append(s.EmptyDirs, translate.SandboxVolumeDir+dv.Name)
		}
	}
	s.FSGroup = podFSGroup(pod)
	mounted := sandboxMounts(sb)
	var sent []string
	for _, name := range vols.names {
		if p, ok := vols.payloads[name]; ok && mounted.Has(dockerhost.VolumeName(string(pod.UID), name)) {
			s.Volumes = append(s.Volumes, dockerhost.VolumeFiles{Dir: translate.SandboxVolumeDir + name, Payload: p})
			sent = append(sent, name)
		}
	}
	failed, err := dockerhost.SetUpSandbox(ctx, w.rt.Docker, sb.id(), s)
	if err != nil {
		if s.Hosts != nil || len(s.EmptyDirs) > 0 || ctx.Err() != nil {
			return fmt.Errorf("set up sandbox %s: %w", sb.name, err)
		}
		// Only volumes: their failure is theirs (FailedMount), not the
		// sandbox's.
		failed = map[string]error{}
		for _, v := range s.Volumes {
			failed[v.Dir] = err
		}
	}
	for dir, err := range failed {
		log.G(ctx).WithField("volume", dir).WithError(err).Debug("Volume not written by the sandbox's set-up")
	}
	w.vol.sandboxWritten(w.rt.Clock.Now(), pod, sb.id(), vols, sent, failed)
	// This worker set the sandbox up: what the previous run of the provider
	// wrote into an adopted one no longer stands in for it.
	w.mem.adoptedSandbox = ""
	return nil
}

// podFSGroup is the pod's fsGroup, nil when it has none.
func podFSGroup(pod *v1.Pod) *int64 {
	if pod.Spec.SecurityContext == nil {
		return nil
	}
	return pod.Spec.SecurityContext.FSGroup
}

func (w *Worker) reinspect(ctx context.Context, inst *instance) (*instance, error) {
	in, err := w.rt.Docker.ContainerInspect(ctx, inst.id())
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", inst.name, err)
	}
	return &instance{name: inst.name, inspect: in}, nil
}

// sandboxIP is the pod IP: the sandbox's address on its network, or the
// node's with hostNetwork, as on a kubelet.
func (rt *Runtime) sandboxIP(sb *instance) string {
	return rt.statusNode().podIP(sb)
}

// podIP is the address of a sandbox: on the node's network, or the node's
// own with hostNetwork.
func (n statusNode) podIP(sb *instance) string {
	if sb != nil && sb.inspect.HostConfig != nil && sb.inspect.HostConfig.NetworkMode.IsHost() {
		return n.hostIP
	}
	if sb == nil || sb.inspect.NetworkSettings == nil {
		return ""
	}
	if nw, ok := sb.inspect.NetworkSettings.Networks[n.network]; ok && nw != nil && nw.IPAddress != "" {
		return nw.IPAddress
	}
	for _, nw := range sb.inspect.NetworkSettings.Networks {
		if nw != nil && nw.IPAddress != "" {
			return nw.IPAddress
		}
	}
	return ""
}
