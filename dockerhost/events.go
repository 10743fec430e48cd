package dockerhost

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/events"
)

func (e *engine) Events(ctx context.Context, since time.Time, labels ...string) (<-chan events.Message, <-chan error) {
	f := labelFilter(labels)
	f.Add("type", string(events.ContainerEventType))
	opts := events.ListOptions{Filters: f}
	if !since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	return e.c.Events(ctx, opts)
}
