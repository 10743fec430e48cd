package dockerfake

// Images: the local store (inspect, import, remove, list) and pulls from
// the fake's registries.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/vk-docker/vk-docker/dockerhost"
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

func (f *Client) ImageInspect(ctx context.Context, ref string) (image.InspectResponse, error) {
	if err := f.call("ImageInspect", ref); err != nil {
		return image.InspectResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img := f.imageLocked(ref)
	if img == nil {
		return image.InspectResponse{}, notFound("image", ref)
	}
	resp := image.InspectResponse{ID: img.ID, RepoTags: []string{normalizeRef(img.Ref)}, Size: img.Size}
	// The config's type lives in a module vk-docker does not import directly.
	resp.Config = newOf(resp.Config)
	resp.Config.StopSignal = img.StopSignal
	resp.Config.Entrypoint = slices.Clone(img.Entrypoint)
	resp.Config.Cmd = slices.Clone(img.Cmd)
	resp.Config.Env = slices.Clone(img.Env)
	resp.Config.WorkingDir = img.WorkingDir
	resp.Config.User = img.User
	resp.Config.Labels = maps.Clone(img.Labels)
	return resp, nil
}

func newOf[T any](*T) *T { return new(T) }

func (f *Client) ImagePull(ctx context.Context, ref string, options image.PullOptions) error {
	if err := f.call("ImagePull", ref); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pullLocked(ref, options)
}

func (f *Client) ImageImport(ctx context.Context, rootfs io.Reader, ref string, changes []string) error {
	if err := f.call("ImageImport", ref); err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, rootfs)
	if err != nil {
		return fmt.Errorf("read rootfs: %w", err)
	}
	img := &Image{Ref: ref, Changes: slices.Clone(changes), RootFSSize: int(n)}
	for _, ch := range changes {
		instr, arg, _ := strings.Cut(strings.TrimSpace(ch), " ")
		arg = strings.TrimSpace(arg)
		switch strings.ToUpper(instr) {
		case "ENTRYPOINT":
			img.Entrypoint = execForm(arg)
		case "CMD":
			img.Cmd = execForm(arg)
		case "STOPSIGNAL":
			img.StopSignal = arg
		case "WORKDIR":
			img.WorkingDir = arg
		case "USER":
			img.User = arg
		case "ENV":
			k, v, _ := strings.Cut(arg, "=")
			img.Env = mergeEnv(img.Env, []string{k + "=" + v})
		case "LABEL":
			if img.Labels == nil {
				img.Labels = map[string]string{}
			}
			k, v, _ := strings.Cut(arg, "=")
			img.Labels[k] = strings.Trim(v, `"`)
		default:
			return fmt.Errorf("dockerfile change %q is not supported on import: %w", ch, cerrdefs.ErrInvalidArgument)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if old := f.images[normalizeRef(ref)]; old != nil {
		old.Ref = "" // the old image loses its tag and stays, dangling
	}
	f.addImageLocked(img)
	return nil
}

func (f *Client) ImageRemove(ctx context.Context, id string) error {
	if err := f.call("ImageRemove", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img := f.images[id]
	if img == nil {
		return notFound("image", id)
	}
	for _, c := range f.containers {
		if c.imageID == img.ID {
			return fmt.Errorf("image %s is used by container %s: %w", id, c.id, cerrdefs.ErrConflict)
		}
	}
	for k, v := range f.images {
		if v == img {
			delete(f.images, k)
		}
	}
	return nil
}

func execForm(arg string) []string {
	var out []string
	if json.Unmarshal([]byte(arg), &out) == nil {
		return out
	}
	return []string{"/bin/sh", "-c", arg}
}

func (f *Client) addImageLocked(img *Image) {
	if img.ID == "" {
		img.ID = "sha256:" + randomHex(32)
	}
	if !strings.HasPrefix(img.ID, "sha256:") {
		img.ID = "sha256:" + img.ID
	}
	f.images[normalizeRef(img.Ref)] = img
	f.images[img.ID] = img
}

func (f *Client) imageLocked(ref string) *Image {
	if ref == "" {
		return nil
	}
	if img := f.images[normalizeRef(ref)]; img != nil {
		return img
	}
	if img := f.images[ref]; img != nil {
		return img
	}
	return f.images["sha256:"+ref]
}

// normalizeRef adds the implied ":latest" to a reference without tag or digest.
func normalizeRef(ref string) string {
	if ref == "" || strings.HasPrefix(ref, "sha256:") || strings.Contains(ref, "@") || dockerhost.ImageRepo(ref) != ref {
		return ref
	}
	return ref + ":latest"
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
