package dockerfake

import (
	"bufio"
	"context"
	"net"
	"strconv"

	"github.com/docker/docker/api/types"
)

// Attach and resize (kubectl attach).

// ContainerAttach attaches to nothing: like a fake exec, the stream ends at
// once.
func (f *Client) ContainerAttach(ctx context.Context, id string, stdin bool) (types.HijackedResponse, error) {
	if err := f.call("ContainerAttach", id, strconv.FormatBool(stdin)); err != nil {
		return types.HijackedResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lookupLocked(id) == nil {
		return types.HijackedResponse{}, notFound("container", id)
	}
	client, server := net.Pipe()
	_ = server.Close()
	return types.HijackedResponse{Conn: client, Reader: bufio.NewReader(client)}, nil
}

func (f *Client) ContainerResize(ctx context.Context, id string, height, width uint) error {
	if err := f.call("ContainerResize", id, strconv.FormatUint(uint64(height), 10), strconv.FormatUint(uint64(width), 10)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lookupLocked(id) == nil {
		return notFound("container", id)
	}
	return nil
}
