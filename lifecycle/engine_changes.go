package lifecycle

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/vk-docker/vk-docker/dockerhost"
)

// changeNotingClient is the engine as one worker sees it: it notes whether a
// sync changed anything, so that a sync that only looked does not look again.
// Only its Run goroutine uses it.
type changeNotingClient struct {
	dockerhost.Client
	changed bool
}

func (c *changeNotingClient) ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, name string) (container.CreateResponse, error) {
	c.changed = true
	return c.Client.ContainerCreate(ctx, config, hostConfig, networkingConfig, name)
}

func (c *changeNotingClient) ContainerStart(ctx context.Context, id string) error {
	c.changed = true
	return c.Client.ContainerStart(ctx, id)
}

func (c *changeNotingClient) ContainerStop(ctx context.Context, id string, signal string, timeout time.Duration) error {
	c.changed = true
	return c.Client.ContainerStop(ctx, id, signal, timeout)
}

func (c *changeNotingClient) ContainerKill(ctx context.Context, id, signal string) error {
	c.changed = true
	return c.Client.ContainerKill(ctx, id, signal)
}

func (c *changeNotingClient) ContainerRemove(ctx context.Context, id string) error {
	c.changed = true
	return c.Client.ContainerRemove(ctx, id)
}
