package dockerfake

import (
	"bufio"
	"context"
	"net"
	"slices"
	"sort"
	"strconv"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
)

// SetStats sets the sample ContainerStats returns for a container; without
// one a running container reports zero usage.
func (f *Client) SetStats(ref string, s container.StatsResponse) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return notFound("container", ref)
	}
	if f.stats == nil {
		f.stats = map[string]container.StatsResponse{}
	}
	f.stats[c.id] = s
	return nil
}

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

func (f *Client) ContainerStats(ctx context.Context, id string) (container.StatsResponse, error) {
	if err := f.call("ContainerStats", id); err != nil {
		return container.StatsResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(id)
	if c == nil {
		return container.StatsResponse{}, notFound("container", id)
	}
	s, ok := f.stats[c.id]
	if !ok {
		s = container.StatsResponse{ID: c.id, Name: "/" + c.name}
	}
	if s.Read.IsZero() {
		s.Read = f.clock.Now()
	}
	return s, nil
}

func (f *Client) ImageList(ctx context.Context) ([]image.Summary, error) {
	if err := f.call("ImageList"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	byID := map[string]*image.Summary{}
	for _, img := range f.images {
		s := byID[img.ID]
		if s == nil {
			s = &image.Summary{ID: img.ID, Size: int64(img.RootFSSize), Labels: map[string]string{}}
			byID[img.ID] = s
		}
		if ref := normalizeRef(img.Ref); ref != "" && !slices.Contains(s.RepoTags, ref) {
			s.RepoTags = append(s.RepoTags, ref)
		}
	}
	out := make([]image.Summary, 0, len(byID))
	for _, s := range byID {
		sort.Strings(s.RepoTags)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
