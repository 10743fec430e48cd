package dockerhost

import (
	"context"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
)

// The engine calls behind exec probes, exec hooks, kubectl exec and the
// pause-program calls (pause_exec.go, pause_dial.go).

func (e *engine) ExecCreate(ctx context.Context, id string, options container.ExecOptions) (string, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	resp, err := e.c.ContainerExecCreate(ctx, id, options)
	return resp.ID, err
}

func (e *engine) ExecAttach(ctx context.Context, execID string, tty bool) (types.HijackedResponse, error) {
	return e.c.ContainerExecAttach(ctx, execID, container.ExecAttachOptions{Tty: tty})
}

func (e *engine) ExecInspect(ctx context.Context, execID string) (container.ExecInspect, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ContainerExecInspect(ctx, execID)
}

func (e *engine) ExecResize(ctx context.Context, execID string, height, width uint) error {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ContainerExecResize(ctx, execID, container.ResizeOptions{Height: height, Width: width})
}
