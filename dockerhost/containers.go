package dockerhost

import (
	"context"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// The engine calls of a container's life: create, start, stop, kill,
// remove, inspect, list, and reading its log and files. Their contracts are
// on Client.

func (e *engine) ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, name string) (container.CreateResponse, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ContainerCreate(ctx, config, hostConfig, networkingConfig, nil, name)
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
