package dockerhost

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
)

// The engine calls behind kubectl attach, stats and the node's image list.
// They are part of Client; see its contract there.

func (e *engine) ContainerAttach(ctx context.Context, id string, stdin bool) (types.HijackedResponse, error) {
	return e.c.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdin: stdin, Stdout: true, Stderr: true})
}

func (e *engine) ContainerResize(ctx context.Context, id string, height, width uint) error {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ContainerResize(ctx, id, container.ResizeOptions{Height: height, Width: width})
}

func (e *engine) ContainerStats(ctx context.Context, id string) (container.StatsResponse, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	// One-shot: the engine answers from its last sample instead of waiting a
	// second to prime CPU deltas, which keeps a stats pass over many pods cheap.
	r, err := e.c.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return container.StatsResponse{}, err
	}
	defer r.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
		return container.StatsResponse{}, fmt.Errorf("decode stats of %.12s: %w", id, err)
	}
	return s, nil
}

func (e *engine) ImageList(ctx context.Context) ([]image.Summary, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ImageList(ctx, image.ListOptions{})
}
