package dockerfake

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/system"
)

// The engine itself: info, ping and the bridge network's gateway.

func (f *Client) Info(ctx context.Context) (system.Info, error) {
	if err := f.call("Info"); err != nil {
		return system.Info{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	info := f.info
	info.Containers = len(f.containers)
	for _, c := range f.containers {
		switch {
		case c.state.Running:
			info.ContainersRunning++
		default:
			info.ContainersStopped++
		}
	}
	return info, nil
}

func (f *Client) Ping(ctx context.Context) error { return f.call("Ping") }

func (f *Client) NetworkGateway(ctx context.Context, name string) (string, error) {
	if err := f.call("NetworkGateway", name); err != nil {
		return "", err
	}
	if name != "bridge" {
		return "", fmt.Errorf("network %s not found: %w", name, cerrdefs.ErrNotFound)
	}
	return Gateway, nil
}

func (f *Client) Close() error { return f.call("Close") }
