package dockerfake

// Named volumes.

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
)

func (f *Client) VolumeCreateOptions(ctx context.Context, name string, labels, driverOpts map[string]string) error {
	if err := f.call("VolumeCreateOptions", name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.volumes[name] == nil { // creating an existing named volume is a no-op
		v := f.newVolumeLocked(name, labels)
		v.Options = maps.Clone(driverOpts)
		f.volumes[name] = v
	}
	return nil
}

func (f *Client) VolumeCreate(ctx context.Context, name string, labels map[string]string) error {
	if err := f.call("VolumeCreate", name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "" {
		name = randomHex(32)
	}
	if f.volumes[name] == nil { // creating an existing named volume is a no-op
		f.volumes[name] = f.newVolumeLocked(name, labels)
	}
	return nil
}

func (f *Client) newVolumeLocked(name string, labels map[string]string) *volume.Volume {
	return &volume.Volume{
		Name:       name,
		Driver:     "local",
		Scope:      "local",
		Labels:     maps.Clone(labels),
		Mountpoint: "/var/lib/docker/volumes/" + name + "/_data",
		CreatedAt:  f.clock.Now().UTC().Format(time.RFC3339),
		Options:    map[string]string{},
	}
}

func (f *Client) VolumeRemove(ctx context.Context, name string) error {
	if err := f.call("VolumeRemove", name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.volumes[name] == nil {
		return notFound("volume", name)
	}
	var users []string
	for _, c := range f.containers {
		for _, m := range c.hostConfig.Mounts {
			if m.Type == mount.TypeVolume && m.Source == name {
				users = append(users, c.id)
			}
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return fmt.Errorf("remove %s: volume is in use - [%s]: %w", name, strings.Join(users, ", "), cerrdefs.ErrConflict)
	}
	delete(f.volumes, name)
	return nil
}

func (f *Client) VolumeList(ctx context.Context, labels ...string) ([]*volume.Volume, error) {
	if err := f.call("VolumeList", labels...); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*volume.Volume
	for _, v := range f.volumes {
		if matchLabels(v.Labels, labels) {
			c := *v
			c.Labels = maps.Clone(v.Labels)
			c.Options = maps.Clone(v.Options)
			out = append(out, &c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
