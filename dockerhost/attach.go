package dockerhost

import (
	"context"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
)

// The engine calls behind kubectl attach: the container's standard streams
// and its TTY size.

func (e *engine) ContainerAttach(ctx context.Context, id string, stdin bool) (types.HijackedResponse, error) {
	return e.c.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdin: stdin, Stdout: true, Stderr: true})
}

func (e *engine) ContainerResize(ctx context.Context, id string, height, width uint) error {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ContainerResize(ctx, id, container.ResizeOptions{Height: height, Width: width})
}
