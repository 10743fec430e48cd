package dockerfake

import (
	"context"
	"maps"
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
