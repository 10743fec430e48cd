package dockerfake

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
)

// Containers: create, start, stop, kill, remove, inspect, list, logs and
// files, with the engine's errors and events.

func (f *Client) ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, name string) (container.CreateResponse, error) {
	if err := f.call("ContainerCreate", name); err != nil {
		return container.CreateResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if config == nil {
		config = &container.Config{}
	}
	hc := container.HostConfig{}
	if hostConfig != nil {
		hc = cloneHostConfig(*hostConfig)
	}
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		name = "fake_" + randomHex(6)
	} else if !validContainerName.MatchString(name) {
		return container.CreateResponse{}, fmt.Errorf("invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed: %w", name, cerrdefs.ErrInvalidArgument)
	}
	if id, taken := f.names[name]; taken {
		return container.CreateResponse{}, fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name: %w", name, id, cerrdefs.ErrConflict)
	}
	img := f.imageLocked(config.Image)
	if img == nil {
		return container.CreateResponse{}, notFound("image", config.Image)
	}
	nm := string(hc.NetworkMode)
	switch {
	case nm == "" || nm == "default":
		hc.NetworkMode = "bridge"
	case nm == "bridge" || nm == "host" || nm == "none" || strings.HasPrefix(nm, "container:"):
	default:
		return container.CreateResponse{}, fmt.Errorf("network %s not found: %w", nm, cerrdefs.ErrNotFound)
	}

	c := &fakeContainer{
		id:         randomHex(32),
		name:       name,
		createdAt:  f.clock.Now(),
		config:     cloneConfig(*config),
		hostConfig: hc,
		imageID:    img.ID,
		state:      container.State{Status: container.StateCreated, StartedAt: zeroTime, FinishedAt: zeroTime},
	}
	f.created++
	c.seq = f.created
	// The engine merges the image's configuration into the container's.
	if c.config.StopSignal == "" {
		c.config.StopSignal = img.StopSignal
	}
	if len(c.config.Entrypoint) == 0 {
		c.config.Entrypoint = slices.Clone(img.Entrypoint)
		if len(c.config.Cmd) == 0 {
			c.config.Cmd = slices.Clone(img.Cmd)
		}
	}
	if c.config.WorkingDir == "" {
		c.config.WorkingDir = img.WorkingDir
	}
	if c.config.User == "" {
		c.config.User = img.User
	}
	c.config.Env = mergeEnv(img.Env, c.config.Env)
	if len(img.Labels) > 0 {
		labels := maps.Clone(img.Labels)
		maps.Copy(labels, c.config.Labels)
		c.config.Labels = labels
	}
	// Named volumes a mount refers to are created on the fly, unlabelled.
	for _, m := range c.hostConfig.Mounts {
		if m.Type == mount.TypeVolume && m.Source != "" && f.volumes[m.Source] == nil {
			f.volumes[m.Source] = f.newVolumeLocked(m.Source, nil)
		}
	}
	f.containers[c.id] = c
	f.names[name] = c.id
	f.publishLocked(c, events.ActionCreate, nil)
	return container.CreateResponse{ID: c.id}, nil
}

var validContainerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

func (f *Client) ContainerStart(ctx context.Context, id string) error {
	if err := f.call("ContainerStart", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(id)
	if c == nil {
		return notFound("container", id)
	}
	if c.state.Running {
		return nil // the engine answers 304 Not Modified
	}
	if donor, ok := strings.CutPrefix(string(c.hostConfig.NetworkMode), "container:"); ok {
		d := f.lookupLocked(donor)
		switch {
		case d == nil:
			return notFound("container", donor)
		case !d.state.Running:
			return fmt.Errorf("cannot join network namespace of a non running container: container %s is %s: %w", d.name, d.state.Status, cerrdefs.ErrConflict)
		}
	}
	if donor, ok := strings.CutPrefix(string(c.hostConfig.IpcMode), "container:"); ok {
		d := f.lookupLocked(donor)
		switch {
		case d == nil:
			return fmt.Errorf("no such container: %s: %w", donor, cerrdefs.ErrInvalidArgument)
		case !d.state.Running:
			return fmt.Errorf("container %s is not running: %w", donor, cerrdefs.ErrConflict)
		case d.hostConfig.IpcMode != container.IPCModeShareable:
			return fmt.Errorf("container %s: non-shareable IPC (hint: use IpcMode:shareable for the donor container): %w", donor, cerrdefs.ErrInvalidArgument)
		}
	}
	if donor, ok := strings.CutPrefix(string(c.hostConfig.PidMode), "container:"); ok {
		d := f.lookupLocked(donor)
		switch {
		case d == nil:
			return fmt.Errorf("no such container: %s: %w", donor, cerrdefs.ErrInvalidArgument)
		case !d.state.Running:
			return fmt.Errorf("container %s is not running: %w", donor, cerrdefs.ErrConflict)
		}
	}
	if n := string(c.hostConfig.NetworkMode); n == "bridge" {
		c.ip = fmt.Sprintf("172.17.%d.%d", f.nextIP/256, f.nextIP%256)
		f.nextIP++
	}
	f.nextPid++
	c.state = container.State{
		Status:     container.StateRunning,
		Running:    true,
		Pid:        f.nextPid,
		StartedAt:  f.clock.Now().UTC().Format(time.RFC3339Nano),
		FinishedAt: zeroTime,
	}
	f.publishLocked(c, events.ActionStart, nil)
	return nil
}

func (f *Client) ContainerStop(ctx context.Context, id string, signal string, timeout time.Duration) error {
	if err := f.call("ContainerStop", id, signal, timeout.String()); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(id)
	if c == nil {
		return notFound("container", id)
	}
	if !c.state.Running {
		return nil
	}
	if signal == "" {
		signal = c.config.StopSignal
	}
	if signal == "" {
		signal = "SIGTERM"
	}
	if err := f.signalLocked(c, signal); err != nil {
		return err
	}
	if c.state.Running { // the timeout passes at once
		return f.signalLocked(c, "SIGKILL")
	}
	return nil
}

func (f *Client) ContainerKill(ctx context.Context, id, signal string) error {
	if err := f.call("ContainerKill", id, signal); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if signal == "" {
		signal = "SIGKILL"
	}
	if _, _, err := parseSignal(signal); err != nil {
		return err
	}
	c := f.lookupLocked(id)
	if c == nil {
		return notFound("container", id)
	}
	if !c.state.Running {
		return fmt.Errorf("cannot kill container: %s: container %s is not running: %w", id, c.id, cerrdefs.ErrConflict)
	}
	return f.signalLocked(c, signal)
}

func (f *Client) ContainerRemove(ctx context.Context, id string) error {
	if err := f.call("ContainerRemove", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(id)
	if c == nil {
		return notFound("container", id)
	}
	if c.state.Running { // forced removal
		if err := f.signalLocked(c, "SIGKILL"); err != nil {
			return err
		}
	}
	delete(f.containers, c.id)
	delete(f.names, c.name)
	delete(f.logs, c.id)
	delete(f.logLines, c.id)
	delete(f.files, c.id)
	for id, e := range f.execs {
		if e.containerID == c.id {
			delete(f.execs, id)
		}
	}
	f.publishLocked(c, events.ActionDestroy, nil)
	return nil
}

func (f *Client) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	if err := f.call("ContainerInspect", id); err != nil {
		return container.InspectResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(id)
	if c == nil {
		return container.InspectResponse{}, notFound("container", id)
	}
	return c.inspect(), nil
}

func (f *Client) ContainerList(ctx context.Context, labels ...string) ([]container.Summary, error) {
	if err := f.call("ContainerList", labels...); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []*fakeContainer
	for _, c := range f.containers {
		if matchLabels(c.config.Labels, labels) {
			list = append(list, c)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].seq > list[j].seq })
	out := make([]container.Summary, 0, len(list))
	for _, c := range list {
		s := container.Summary{
			ID:      c.id,
			Names:   []string{"/" + c.name},
			Image:   c.config.Image,
			ImageID: c.imageID,
			Command: strings.Join(append(slices.Clone(c.config.Entrypoint), c.config.Cmd...), " "),
			Created: c.createdAt.Unix(),
			Labels:  maps.Clone(c.config.Labels),
			State:   c.state.Status,
			Status:  c.statusText(),
		}
		s.HostConfig.NetworkMode = string(c.hostConfig.NetworkMode)
		out = append(out, s)
	}
	return out, nil
}

// lookupLocked finds a container by ID, name (with or without "/") or
// unique ID prefix, as the engine does.
func (f *Client) lookupLocked(ref string) *fakeContainer {
	if c := f.containers[ref]; c != nil {
		return c
	}
	if id, ok := f.names[strings.TrimPrefix(ref, "/")]; ok {
		return f.containers[id]
	}
	if ref == "" {
		return nil
	}
	var found *fakeContainer
	for id, c := range f.containers {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil // ambiguous
			}
			found = c
		}
	}
	return found
}

func (c *fakeContainer) inspect() container.InspectResponse {
	state := c.state
	hc := cloneHostConfig(c.hostConfig)
	cfg := cloneConfig(c.config)
	args := slices.Clone(cfg.Cmd)
	path := ""
	if len(cfg.Entrypoint) > 0 {
		path = cfg.Entrypoint[0]
		args = append(slices.Clone(cfg.Entrypoint[1:]), cfg.Cmd...)
	} else if len(cfg.Cmd) > 0 {
		path, args = cfg.Cmd[0], slices.Clone(cfg.Cmd[1:])
	}
	resp := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:         c.id,
			Created:    c.createdAt.UTC().Format(time.RFC3339Nano),
			Path:       path,
			Args:       args,
			State:      &state,
			Image:      c.imageID,
			Name:       "/" + c.name,
			Driver:     "overlay2",
			Platform:   "linux",
			HostConfig: &hc,
		},
		Config:          &cfg,
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{}},
	}
	if n := string(hc.NetworkMode); n != "" && !strings.HasPrefix(n, "container:") && n != "none" {
		ep := &network.EndpointSettings{NetworkID: "fake-" + n}
		if c.ip != "" {
			ep.IPAddress, ep.IPPrefixLen, ep.Gateway = c.ip, 16, Gateway
		}
		resp.NetworkSettings.Networks[n] = ep
	}
	for _, m := range hc.Mounts {
		mp := container.MountPoint{Type: m.Type, Source: m.Source, Destination: m.Target, RW: !m.ReadOnly}
		if m.Type == mount.TypeVolume {
			mp.Name = m.Source
			mp.Driver = "local"
			mp.Source = "/var/lib/docker/volumes/" + m.Source + "/_data"
		}
		resp.Mounts = append(resp.Mounts, mp)
	}
	return resp
}

func (c *fakeContainer) statusText() string {
	switch c.state.Status {
	case container.StateRunning:
		return "Up"
	case container.StateExited:
		return fmt.Sprintf("Exited (%d)", c.state.ExitCode)
	default:
		return "Created"
	}
}

// mergeEnv overlays "K=V" entries of over on base, keeping base's order.
func mergeEnv(base, over []string) []string {
	if len(base) == 0 {
		return slices.Clone(over)
	}
	out := slices.Clone(base)
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { ek, _, _ := strings.Cut(e, "="); return ek == k })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

func cloneConfig(c container.Config) container.Config {
	c.Entrypoint = slices.Clone(c.Entrypoint)
	c.Cmd = slices.Clone(c.Cmd)
	c.Env = slices.Clone(c.Env)
	c.Labels = maps.Clone(c.Labels)
	c.Volumes = maps.Clone(c.Volumes)
	c.ExposedPorts = maps.Clone(c.ExposedPorts)
	c.OnBuild = slices.Clone(c.OnBuild)
	c.Shell = slices.Clone(c.Shell)
	return c
}

func cloneHostConfig(h container.HostConfig) container.HostConfig {
	h.Binds = slices.Clone(h.Binds)
	h.Mounts = slices.Clone(h.Mounts)
	h.DNS = slices.Clone(h.DNS)
	h.DNSOptions = slices.Clone(h.DNSOptions)
	h.DNSSearch = slices.Clone(h.DNSSearch)
	h.ExtraHosts = slices.Clone(h.ExtraHosts)
	h.CapAdd = slices.Clone(h.CapAdd)
	h.CapDrop = slices.Clone(h.CapDrop)
	h.SecurityOpt = slices.Clone(h.SecurityOpt)
	h.Tmpfs = maps.Clone(h.Tmpfs)
	h.Sysctls = maps.Clone(h.Sysctls)
	h.PortBindings = maps.Clone(h.PortBindings)
	return h
}

const zeroTime = "0001-01-01T00:00:00Z"
