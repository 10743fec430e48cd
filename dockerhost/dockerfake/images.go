package dockerfake

import (
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
)

// fakeRemote is an image a registry of the fake serves.
type fakeRemote struct {
	user, password string // required credentials; none when empty
	size           int64
}

// Pull is one pull the fake's registry answered.
type Pull struct {
	Ref      string
	Username string // from the pull's RegistryAuth; empty when anonymous
	Err      error
}

// SetRemoteImage makes ref pullable from the fake's registries, only with
// the credentials user/password when user is not empty, giving an image of
// size bytes. Once any remote image is set, pulls of other references fail
// as a registry's "manifest unknown" does (NotFound); before that, every pull
// succeeds.
func (f *Client) SetRemoteImage(ref, user, password string, size int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.remote == nil {
		f.remote = map[string]fakeRemote{}
	}
	f.remote[normalizeRef(ref)] = fakeRemote{user: user, password: password, size: size}
}

// Pulls returns the pulls the fake's registries answered, in order.
func (f *Client) Pulls() []Pull {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Pull(nil), f.pulls...)
}

// pullLocked answers a pull like a registry and stores the image.
func (f *Client) pullLocked(ref string, options image.PullOptions) error {
	var auth registry.AuthConfig
	if options.RegistryAuth != "" {
		a, err := registry.DecodeAuthConfig(options.RegistryAuth)
		if err != nil {
			return fmt.Errorf("decode X-Registry-Auth: %w", err)
		}
		auth = *a
	}
	img := &Image{Ref: ref}
	var err error
	if f.remote != nil {
		r, ok := f.remote[normalizeRef(ref)]
		switch {
		case !ok:
			err = fmt.Errorf("manifest for %s not found: manifest unknown: manifest unknown: %w", ref, cerrdefs.ErrNotFound)
		case r.user != "" && (auth.Username != r.user || auth.Password != r.password):
			err = fmt.Errorf("Head \"https://fake/v2/manifests\": no basic auth credentials: %w", cerrdefs.ErrUnauthenticated)
		}
		img.Size = r.size
	}
	f.pulls = append(f.pulls, Pull{Ref: ref, Username: auth.Username, Err: err})
	if err != nil {
		return err
	}
	if old := f.imageLocked(ref); old != nil {
		old.Size = img.Size
		return nil
	}
	f.addImageLocked(img)
	return nil
}
