package dockerhost

// The engine calls on named volumes (emptyDir and projected volumes).

import (
	"context"
	"strconv"

	"github.com/docker/docker/api/types/volume"
)

func (e *engine) VolumeCreate(ctx context.Context, name string, labels map[string]string) error {
	ctx, cancel := short(ctx)
	defer cancel()
	_, err := e.c.VolumeCreate(ctx, volume.CreateOptions{Name: name, Driver: "local", Labels: labels})
	return err
}

func (e *engine) VolumeCreateOptions(ctx context.Context, name string, labels, driverOpts map[string]string) error {
	ctx, cancel := short(ctx)
	defer cancel()
	_, err := e.c.VolumeCreate(ctx, volume.CreateOptions{Name: name, Driver: "local", Labels: labels, DriverOpts: driverOpts})
	return err
}

func (e *engine) VolumeRemove(ctx context.Context, name string) error {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.VolumeRemove(ctx, name, false)
}

func (e *engine) VolumeList(ctx context.Context, labels ...string) ([]*volume.Volume, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	resp, err := e.c.VolumeList(ctx, volume.ListOptions{Filters: labelFilter(labels)})
	return resp.Volumes, err
}

// TmpfsOptions are the local driver's options for a tmpfs volume of at most
// sizeBytes (no limit when 0). The engine mounts it when the first container
// using it starts and unmounts it when the last one stops: every container
// of a pod sees the same tmpfs while the sandbox keeps it mounted.
func TmpfsOptions(sizeBytes int64) map[string]string {
	opts := map[string]string{"type": "tmpfs", "device": "tmpfs"}
	if sizeBytes > 0 {
		opts["o"] = "size=" + strconv.FormatInt(sizeBytes, 10)
	}
	return opts
}
