package dockerhost

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/container"
)

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
