package dockerhost

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
)

// The engine calls about the engine itself and its host.

func (e *engine) Info(ctx context.Context) (system.Info, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.Info(ctx)
}

func (e *engine) Ping(ctx context.Context) error {
	ctx, cancel := short(ctx)
	defer cancel()
	_, err := e.c.Ping(ctx)
	return err
}

func (e *engine) NetworkGateway(ctx context.Context, name string) (string, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	n, err := e.c.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		return "", err
	}
	for _, cfg := range n.IPAM.Config {
		if cfg.Gateway != "" {
			return cfg.Gateway, nil
		}
	}
	return "", fmt.Errorf("network %s has no gateway", name)
}
