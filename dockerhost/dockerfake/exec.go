package dockerfake

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
)

// Exec: a fake exec runs nothing; its stream ends at once and it exits 0.

func (f *Client) ExecCreate(ctx context.Context, id string, options container.ExecOptions) (string, error) {
	if err := f.call("ExecCreate", append([]string{id}, options.Cmd...)...); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(id)
	if c == nil {
		return "", notFound("container", id)
	}
	if !c.state.Running {
		return "", fmt.Errorf("container %s is not running: %w", c.id, cerrdefs.ErrConflict)
	}
	e := &fakeExec{id: randomHex(32), containerID: c.id, options: options}
	f.execs[e.id] = e
	return e.id, nil
}

func (f *Client) ExecAttach(ctx context.Context, execID string, tty bool) (types.HijackedResponse, error) {
	if err := f.call("ExecAttach", execID); err != nil {
		return types.HijackedResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.execs[execID] == nil {
		return types.HijackedResponse{}, notFound("exec instance", execID)
	}
	client, server := net.Pipe()
	_ = server.Close()
	return types.HijackedResponse{Conn: client, Reader: bufio.NewReader(client)}, nil
}

func (f *Client) ExecInspect(ctx context.Context, execID string) (container.ExecInspect, error) {
	if err := f.call("ExecInspect", execID); err != nil {
		return container.ExecInspect{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.execs[execID]
	if e == nil {
		return container.ExecInspect{}, notFound("exec instance", execID)
	}
	return container.ExecInspect{ExecID: e.id, ContainerID: e.containerID, Running: e.running}, nil
}

func (f *Client) ExecResize(ctx context.Context, execID string, height, width uint) error {
	if err := f.call("ExecResize", execID, strconv.FormatUint(uint64(height), 10), strconv.FormatUint(uint64(width), 10)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.execs[execID] == nil {
		return notFound("exec instance", execID)
	}
	return nil
}
