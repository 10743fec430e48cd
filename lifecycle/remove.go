package lifecycle

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
)

// removeAll removes every container of the pod, then its volumes.
func (w *Worker) removeAll(ctx context.Context, obs *observation) error {
	for _, inst := range obs.all {
		if err := w.docker.ContainerRemove(ctx, inst.id()); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove container %s: %w", inst.name, err)
		}
	}
	if err := w.removeVolumes(ctx); err != nil {
		return err
	}
	return w.rt.removeMessageFiles(string(w.uid))
}

// signal sends sig to a container. A container that is gone, or no longer
// runs, has nothing left to stop: that is not an error.
func (w *Worker) signal(ctx context.Context, id, sig string) error {
	err := w.docker.ContainerKill(ctx, id, sig)
	if cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) {
		return nil
	}
	return err
}
