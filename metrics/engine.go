package metrics

import (
	"context"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/vk-docker/vk-docker/dockerhost"
)

// engine times the calls a pod's life makes on the engine; the others
// (streams, images import, info) pass through untimed.
type engine struct {
	dockerhost.Client
}

// InstrumentEngine returns d with its per-pod calls timed in
// EngineCallDuration (and failures counted in EngineCallErrors).
func InstrumentEngine(d dockerhost.Client) dockerhost.Client {
	return engine{d}
}

// timed records one call of op that began at start and ended with err.
func timed(op string, start time.Time, err error) {
	EngineCallDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		EngineCallErrors.WithLabelValues(op).Inc()
	}
}

func (e engine) ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, name string) (r container.CreateResponse, err error) {
	defer func(t time.Time) { timed("container_create", t, err) }(time.Now())
	return e.Client.ContainerCreate(ctx, config, hostConfig, networkingConfig, name)
}

func (e engine) ContainerStart(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { timed("container_start", t, err) }(time.Now())
	return e.Client.ContainerStart(ctx, id)
}

func (e engine) ContainerStop(ctx context.Context, id string, signal string, timeout time.Duration) (err error) {
	defer func(t time.Time) { timed("container_stop", t, err) }(time.Now())
	return e.Client.ContainerStop(ctx, id, signal, timeout)
}

func (e engine) ContainerKill(ctx context.Context, id, signal string) (err error) {
	defer func(t time.Time) { timed("container_kill", t, err) }(time.Now())
	return e.Client.ContainerKill(ctx, id, signal)
}

func (e engine) ContainerRemove(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { timed("container_remove", t, err) }(time.Now())
	return e.Client.ContainerRemove(ctx, id)
}

func (e engine) ContainerInspect(ctx context.Context, id string) (r container.InspectResponse, err error) {
	defer func(t time.Time) { timed("container_inspect", t, err) }(time.Now())
	return e.Client.ContainerInspect(ctx, id)
}

func (e engine) ContainerList(ctx context.Context, labels ...string) (r []container.Summary, err error) {
	defer func(t time.Time) { timed("container_list", t, err) }(time.Now())
	return e.Client.ContainerList(ctx, labels...)
}

func (e engine) ContainerStats(ctx context.Context, id string) (r container.StatsResponse, err error) {
	defer func(t time.Time) { timed("container_stats", t, err) }(time.Now())
	return e.Client.ContainerStats(ctx, id)
}

func (e engine) ExecCreate(ctx context.Context, id string, options container.ExecOptions) (r string, err error) {
	defer func(t time.Time) { timed("exec_create", t, err) }(time.Now())
	return e.Client.ExecCreate(ctx, id, options)
}

// ExecAttach is timed until the stream is open, not until it ends.
func (e engine) ExecAttach(ctx context.Context, execID string, tty bool) (r types.HijackedResponse, err error) {
	defer func(t time.Time) { timed("exec_attach", t, err) }(time.Now())
	return e.Client.ExecAttach(ctx, execID, tty)
}

func (e engine) ExecInspect(ctx context.Context, execID string) (r container.ExecInspect, err error) {
	defer func(t time.Time) { timed("exec_inspect", t, err) }(time.Now())
	return e.Client.ExecInspect(ctx, execID)
}

func (e engine) ImageInspect(ctx context.Context, ref string) (r image.InspectResponse, err error) {
	defer func(t time.Time) { timed("image_inspect", t, err) }(time.Now())
	return e.Client.ImageInspect(ctx, ref)
}

func (e engine) ImagePull(ctx context.Context, ref string, options image.PullOptions) (err error) {
	defer func(t time.Time) { timed("image_pull", t, err) }(time.Now())
	return e.Client.ImagePull(ctx, ref, options)
}

func (e engine) VolumeCreate(ctx context.Context, name string, labels map[string]string) (err error) {
	defer func(t time.Time) { timed("volume_create", t, err) }(time.Now())
	return e.Client.VolumeCreate(ctx, name, labels)
}

func (e engine) VolumeRemove(ctx context.Context, name string) (err error) {
	defer func(t time.Time) { timed("volume_remove", t, err) }(time.Now())
	return e.Client.VolumeRemove(ctx, name)
}

func (e engine) VolumeList(ctx context.Context, labels ...string) (r []*volume.Volume, err error) {
	defer func(t time.Time) { timed("volume_list", t, err) }(time.Now())
	return e.Client.VolumeList(ctx, labels...)
}
