package dockerfake

import (
	"context"

	"github.com/docker/docker/api/types/container"
)

// Stats samples (kubectl top, the stats summary).

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
