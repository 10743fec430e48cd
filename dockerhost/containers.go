package dockerhost

import (
	"context"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
)

// The engine calls of a container's life: create, start, stop, kill,
// remove, inspect, list, and reading its log and files. Their contracts are
// on Client.

func (e *engine) ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, name string) (container.CreateResponse, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	if hostConfig != nil {
		hc := *hostConfig
		hc.Mounts = labelImplicitVolumes(hc.Mounts, config.Labels)
		hostConfig = &hc
	}
	return e.c.ContainerCreate(ctx, config, hostConfig, networkingConfig, nil, name)
}

// labelImplicitVolumes gives each named-volume mount the pod's labels, which
// the engine applies only if it has to create the volume itself: a volume
// removed while one of the pod's containers was being created (a deletion
// racing a start, a provider killed in between) comes back labelled, so the
// reaper finds it, instead of as an anonymous leak no label leads to.
func labelImplicitVolumes(mounts []mount.Mount, containerLabels map[string]string) []mount.Mount {
	labels := map[string]string{}
	for _, k := range []string{LabelNode, LabelPodUID, LabelPodName, LabelPodNamespace} {
		if v, ok := containerLabels[k]; ok {
			labels[k] = v
		}
	}
	if len(labels) == 0 {
		return mounts
	}
	out := make([]mount.Mount, len(mounts))
	for i, m := range mounts {
		if m.Type == mount.TypeVolume && m.Source != "" && m.VolumeOptions == nil {
			m.VolumeOptions = &mount.VolumeOptions{Labels: labels}
		}
		out[i] = m
	}
	return out
}

func (e *engine) ContainerStart(ctx context.Context, id string) error {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ContainerStart(ctx, id, container.StartOptions{})
}

func (e *engine) ContainerStop(ctx context.Context, id string, signal string, timeout time.Duration) error {
	secs := int(timeout.Round(time.Second) / time.Second)
	// The engine waits up to timeout and then kills; give the HTTP call room
	// for that plus the kill itself.
	ctx, cancel := context.WithTimeout(ctx, timeout+callTimeout)
	defer cancel()
	return e.c.ContainerStop(ctx, id, container.StopOptions{Signal: signal, Timeout: &secs})
}

func (e *engine) ContainerKill(ctx context.Context, id, signal string) error {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ContainerKill(ctx, id, signal)
}

func (e *engine) ContainerRemove(ctx context.Context, id string) error {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
}

func (e *engine) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ContainerInspect(ctx, id)
}

func (e *engine) ContainerList(ctx context.Context, labels ...string) ([]container.Summary, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ContainerList(ctx, container.ListOptions{All: true, Filters: labelFilter(labels)})
}

func (e *engine) ContainerLogs(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error) {
	return e.c.ContainerLogs(ctx, id, options)
}

func (e *engine) CopyFromContainer(ctx context.Context, id, path string) (io.ReadCloser, error) {
	rc, _, err := e.c.CopyFromContainer(ctx, id, path)
	if err != nil {
		if rc != nil { // an undecodable stat header still returns the body
			_ = rc.Close()
		}
		return nil, err
	}
	return rc, nil
}
