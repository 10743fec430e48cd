// Package dockerfake is an in-memory Docker engine behind dockerhost.Client,
// for the tests of the packages that drive the engine (as client-go's fake
// packages are for its clientsets). Only tests import it, so it is never part
// of the vk-docker binary.
package dockerfake

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/vk-docker/vk-docker/dockerhost"
	"k8s.io/utils/clock"
)

// Client is an in-memory dockerhost.Client for tests, in the spirit of
// cri-dockerd's FakeDockerClient. It keeps containers, images and volumes in maps and
// behaves like the engine where vk-docker depends on it:
//
//   - errors carry the engine's classification (cerrdefs.IsNotFound for a
//     missing container, image or volume; cerrdefs.IsConflict for a taken
//     name, a kill of a stopped container or the removal of a volume in use);
//   - a container created from a known image inherits its STOPSIGNAL, labels,
//     environment and default entrypoint/command; creating from a missing
//     image is NotFound, like the engine (which never pulls on create);
//   - starting a container that joins another's namespaces ("container:<id>")
//     needs that container running, and an IPC donor must be "shareable";
//   - a sandbox on the "bridge" network gets an address 172.17.0.N when it
//     starts, reported in NetworkSettings.Networks["bridge"];
//   - signals end containers as a process with default handlers would:
//     SIGKILL always (exit code 137), other terminating signals with
//     128+signo unless the test said the container ignores them
//     (IgnoreSignal) or installed its own policy (SetSignalHandler);
//   - create, start, kill, oom, die and destroy events are published to
//     Events subscribers with the container's labels as Actor.Attributes;
//   - a container's log (AppendLog) comes back multiplexed by stdcopy unless
//     the container has a TTY, filtered by stream and cut by Tail as the
//     engine does; its files (SetFile, SetSymlink) outlive its exit and come
//     back from CopyFromContainer as the engine's tar stream.
//
// Nothing ever runs: a container stays running until a signal, a removal or
// SetExited ends it. Every method is safe for concurrent use. Tests inspect
// what happened with Calls, Signals and the ordinary read methods, and steer
// it with InjectError, SetHook, SetExited, AddImage, SetInfo, SetLogs,
// AppendLog, SetFile and SetSymlink.
type Client struct {
	mu         sync.Mutex
	clock      clock.PassiveClock
	containers map[string]*fakeContainer // by ID
	names      map[string]string         // container name (no "/") → ID
	images     map[string]*Image         // by normalised reference and by ID
	volumes    map[string]*volume.Volume
	execs      map[string]*fakeExec
	logs       map[string][]byte              // container ID → raw log stream (SetLogs)
	logLines   map[string][]fakeLogLine       // container ID → log lines (AppendLog)
	files      map[string]map[string]fakeFile // container ID → clean absolute path → file
	errs       map[string]error               // operation → injected error
	hook       func(op string, args []string) error
	calls      []string
	ignored    map[string]map[string]bool // container ID or name → ignored signals
	onSignal   func(id, name, signal string) (exits bool, exitCode int)
	subs       map[*fakeSub]bool
	history    []fakeEvent
	nextIP     int
	nextPid    int
	created    int // creation counter: orders ContainerList newest first
	info       system.Info
	remote     map[string]fakeRemote // pullable images by normalised reference (fake_images.go)
	pulls      []Pull
	stats      map[string]container.StatsResponse // container ID → sample (SetStats)
}

var _ dockerhost.Client = (*Client)(nil)

// Gateway is the gateway of the fake's "bridge" network.
const Gateway = "172.17.0.1"

// Image is an image the fake holds.
type Image struct {
	ID         string
	Ref        string
	StopSignal string
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	Labels     map[string]string
	// Changes are the Dockerfile-style changes ImageImport was given, and
	// RootFSSize the size of the tarball it read (imported images only).
	Changes    []string
	RootFSSize int
	// Size is what ImageInspect reports (pulled images: the remote's size).
	Size int64
}

type fakeContainer struct {
	id, name   string
	seq        int
	createdAt  time.Time
	config     container.Config
	hostConfig container.HostConfig
	imageID    string
	state      container.State
	ip         string
	signals    []string
}

// fakeLogLine is one entry of a container's log: a line with its "\n", or a
// last line without one.
type fakeLogLine struct {
	stderr bool
	text   string
}

// fakeFile is a regular file, or a symlink when link is set.
type fakeFile struct {
	content []byte
	link    string
	modTime time.Time
}

type fakeExec struct {
	id, containerID string
	options         container.ExecOptions
	running         bool
}

type fakeEvent struct {
	msg    events.Message
	labels map[string]string
}

// New returns an empty fake engine: no containers, volumes or images, a
// host with 4 CPUs and 8 GiB of memory, and the real clock for timestamps.
func New() *Client {
	return &Client{
		clock:      clock.RealClock{},
		containers: map[string]*fakeContainer{},
		names:      map[string]string{},
		images:     map[string]*Image{},
		volumes:    map[string]*volume.Volume{},
		execs:      map[string]*fakeExec{},
		logs:       map[string][]byte{},
		logLines:   map[string][]fakeLogLine{},
		files:      map[string]map[string]fakeFile{},
		errs:       map[string]error{},
		ignored:    map[string]map[string]bool{},
		subs:       map[*fakeSub]bool{},
		nextIP:     2,
		nextPid:    1000,
		info: system.Info{
			ID: "FAKE", Name: "fake-docker", ServerVersion: "fake", OSType: "linux",
			OperatingSystem: "Fake Linux", Architecture: "x86_64", KernelVersion: "6.0.0-fake",
			NCPU: 4, MemTotal: 8 << 30, Driver: "overlay2", CgroupDriver: "systemd", CgroupVersion: "2",
		},
	}
}

// ---------------------------------------------------------------------------
// Test controls.

// SetClock sets the time source of timestamps (StartedAt, FinishedAt, event
// times); tests pass the fake clock their code under test uses.
func (f *Client) SetClock(c clock.PassiveClock) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = c
}

// SetInfo sets the CPUs and memory Info reports.
func (f *Client) SetInfo(ncpu int, memTotal int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.info.NCPU, f.info.MemTotal = ncpu, memTotal
}

// InjectError makes every later call of op (a Client method name such as
// "ContainerStart") fail with err, until InjectError(op, nil). The failed
// calls still appear in Calls.
func (f *Client) InjectError(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.errs, op)
		return
	}
	f.errs[op] = err
}

// SetHook installs a function called at the start of every call with the
// operation and its arguments, as logged by Calls. A non-nil error is returned
// as the call's result. The hook runs without the fake's lock held, so it may
// call the fake (those calls reach the hook too); nil removes it.
func (f *Client) SetHook(hook func(op string, args []string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = hook
}

// Calls returns every call made so far, in order, as "<Method> <args...>":
// "ContainerCreate <name>", "ContainerStart <id>", "ContainerKill <id> <signal>",
// "ContainerRemove <id>", "VolumeCreate <name>", "ImagePull <ref>", ...
func (f *Client) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// ResetCalls forgets the calls made so far.
func (f *Client) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// AddImage makes image ref present with the given ID (generated when empty)
// and STOPSIGNAL (none when empty).
func (f *Client) AddImage(ref, id, stopSignal string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addImageLocked(&Image{Ref: ref, ID: id, StopSignal: stopSignal})
}

// Image returns the image ref (a reference or an ID) as the fake holds it.
func (f *Client) Image(ref string) (Image, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img := f.imageLocked(ref)
	if img == nil {
		return Image{}, false
	}
	out := *img
	out.Labels = maps.Clone(img.Labels)
	out.Changes = slices.Clone(img.Changes)
	return out, true
}

// IgnoreSignal makes the container ref (an ID, or a name that may not exist
// yet) survive signal. SIGKILL cannot be ignored. It panics on a signal name
// it does not know: that is a mistake in the test.
func (f *Client) IgnoreSignal(ref, signal string) {
	sig, _, err := parseSignal(signal)
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ref = strings.TrimPrefix(ref, "/")
	if f.ignored[ref] == nil {
		f.ignored[ref] = map[string]bool{}
	}
	f.ignored[ref][sig] = true
}

// SetSignalHandler replaces the default reaction to every signal but SIGKILL:
// handler says whether the container exits, and with which code. nil restores
// the default (see Client).
func (f *Client) SetSignalHandler(handler func(id, name, signal string) (exits bool, exitCode int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onSignal = handler
}

// Signals returns the signals the container ref (ID or name) received, in
// order, by name ("SIGTERM"). Stops and forced removals count.
func (f *Client) Signals(ref string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return nil
	}
	return slices.Clone(c.signals)
}

// SetExited ends a running container as a crash would: exit code exitCode,
// OOMKilled when oom, with oom (if so) and die events.
func (f *Client) SetExited(ref string, exitCode int, oom bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return notFound("container", ref)
	}
	if !c.state.Running {
		return fmt.Errorf("container %s is not running: %w", ref, cerrdefs.ErrConflict)
	}
	f.exitLocked(c, exitCode, oom)
	return nil
}

// SetLogs sets what ContainerLogs returns for the container ref (as is:
// multiplexed or raw, as the test needs), whatever the options. It overrides
// the lines AppendLog wrote.
func (f *Client) SetLogs(ref string, log []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return notFound("container", ref)
	}
	f.logs[c.id] = slices.Clone(log)
	return nil
}

// AppendLog adds text to the log of the container ref, on stderr or stdout,
// as the engine's log driver records it: one entry per line, a last line
// without "\n" making an entry of its own. ContainerLogs then returns the
// entries (those of the streams asked for, the last Tail of them) multiplexed
// in stdcopy frames, or raw when the container has a TTY.
func (f *Client) AppendLog(ref string, stderr bool, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return notFound("container", ref)
	}
	for text != "" {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line = text[:i+1]
		}
		text = text[len(line):]
		f.logLines[c.id] = append(f.logLines[c.id], fakeLogLine{stderr: stderr, text: line})
	}
	return nil
}

// SetFile puts a regular file with content at the absolute path p inside the
// container ref (replacing what was there), for CopyFromContainer. Files
// survive the container's exit, as its writable layer does, and go with it.
func (f *Client) SetFile(ref, p string, content []byte) error {
	return f.setFile(ref, p, fakeFile{content: slices.Clone(content)})
}

// SetSymlink puts a symbolic link to target at the absolute path p inside the
// container ref; CopyFromContainer returns the link itself, as the engine does.
func (f *Client) SetSymlink(ref, p, target string) error {
	return f.setFile(ref, p, fakeFile{link: target})
}

func (f *Client) setFile(ref, p string, file fakeFile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return notFound("container", ref)
	}
	if f.files[c.id] == nil {
		f.files[c.id] = map[string]fakeFile{}
	}
	file.modTime = f.clock.Now()
	f.files[c.id][containerPath(p)] = file
	return nil
}

// FailEvents ends every open event stream with err, as when the engine
// connection breaks.
func (f *Client) FailEvents(err error) {
	f.mu.Lock()
	subs := slices.Collect(maps.Keys(f.subs))
	clear(f.subs)
	f.mu.Unlock()
	for _, s := range subs {
		s.fail(err)
	}
}

// ---------------------------------------------------------------------------
// Containers.

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

func (f *Client) ContainerLogs(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error) {
	if err := f.call("ContainerLogs", id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !options.ShowStdout && !options.ShowStderr {
		return nil, fmt.Errorf("you must choose at least one stream: %w", cerrdefs.ErrInvalidArgument)
	}
	c := f.lookupLocked(id)
	if c == nil {
		return nil, notFound("container", id)
	}
	if raw, ok := f.logs[c.id]; ok {
		return io.NopCloser(bytes.NewReader(slices.Clone(raw))), nil
	}
	var lines []fakeLogLine
	for _, l := range f.logLines[c.id] {
		if (l.stderr && options.ShowStderr) || (!l.stderr && options.ShowStdout) {
			lines = append(lines, l)
		}
	}
	// The engine reads "all", "" and anything not a number as all lines.
	if n, err := strconv.Atoi(options.Tail); err == nil && n >= 0 && n < len(lines) {
		lines = lines[len(lines)-n:]
	}
	var buf bytes.Buffer
	stdout, stderr := io.Writer(&buf), io.Writer(&buf)
	if !c.config.Tty {
		stdout, stderr = stdcopy.NewStdWriter(&buf, stdcopy.Stdout), stdcopy.NewStdWriter(&buf, stdcopy.Stderr)
	}
	for _, l := range lines {
		w := stdout
		if l.stderr {
			w = stderr
		}
		_, _ = io.WriteString(w, l.text)
	}
	return io.NopCloser(&buf), nil
}

// CopyFromContainer returns the file, symlink or directory (the files below
// it) at path in a tar stream, as the engine does: the first entry is named
// by path's base name. A missing container or path is NotFound.
func (f *Client) CopyFromContainer(ctx context.Context, id, p string) (io.ReadCloser, error) {
	if err := f.call("CopyFromContainer", id, p); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(id)
	if c == nil {
		return nil, notFound("container", id)
	}
	clean := containerPath(p)
	base := path.Base(clean)
	if clean == "/" {
		base = "."
	}
	files := f.files[c.id]
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if file, ok := files[clean]; ok {
		if err := writeTarEntry(tw, base, file); err != nil {
			return nil, err
		}
	} else {
		prefix := strings.TrimSuffix(clean, "/") + "/"
		var below []string
		for fp := range files {
			if strings.HasPrefix(fp, prefix) {
				below = append(below, fp)
			}
		}
		if len(below) == 0 {
			return nil, fmt.Errorf("Could not find the file %s in container %s: %w", p, id, cerrdefs.ErrNotFound)
		}
		sort.Strings(below)
		dirs := map[string]bool{}
		for _, fp := range below {
			rel := base + "/" + strings.TrimPrefix(fp, prefix)
			// The directory itself, then each directory on the way down.
			for i := range len(rel) {
				if rel[i] == '/' && !dirs[rel[:i+1]] {
					dirs[rel[:i+1]] = true
					hdr := &tar.Header{Typeflag: tar.TypeDir, Name: rel[:i+1], Mode: 0o755, ModTime: files[fp].modTime}
					if err := tw.WriteHeader(hdr); err != nil {
						return nil, err
					}
				}
			}
			if err := writeTarEntry(tw, rel, files[fp]); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return io.NopCloser(&buf), nil
}

func writeTarEntry(tw *tar.Writer, name string, file fakeFile) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(file.content)), ModTime: file.modTime}
	if file.link != "" {
		hdr = &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: file.link, Mode: 0o777, ModTime: file.modTime}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(file.content)
	return err
}

// containerPath makes p absolute and clean: the engine reads paths inside a
// container from its root.
func containerPath(p string) string { return path.Clean("/" + p) }

// ---------------------------------------------------------------------------
// Exec: a fake exec runs nothing; its stream ends at once and it exits 0.

func (f *Client) ExecCreate(ctx context.Context, id string, options container.ExecOptions) (string, error) {
	if err := f.call("ExecCreate", append([]string{id}, options.Cmd...)...); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(id)
	if c == nil {
		return "", notFound("container", id)
	}
	if !c.state.Running {
		return "", fmt.Errorf("container %s is not running: %w", c.id, cerrdefs.ErrConflict)
	}
	e := &fakeExec{id: randomHex(32), containerID: c.id, options: options}
	f.execs[e.id] = e
	return e.id, nil
}

func (f *Client) ExecAttach(ctx context.Context, execID string, tty bool) (types.HijackedResponse, error) {
	if err := f.call("ExecAttach", execID); err != nil {
		return types.HijackedResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.execs[execID] == nil {
		return types.HijackedResponse{}, notFound("exec instance", execID)
	}
	client, server := net.Pipe()
	_ = server.Close()
	return types.HijackedResponse{Conn: client, Reader: bufio.NewReader(client)}, nil
}

func (f *Client) ExecInspect(ctx context.Context, execID string) (container.ExecInspect, error) {
	if err := f.call("ExecInspect", execID); err != nil {
		return container.ExecInspect{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.execs[execID]
	if e == nil {
		return container.ExecInspect{}, notFound("exec instance", execID)
	}
	return container.ExecInspect{ExecID: e.id, ContainerID: e.containerID, Running: e.running}, nil
}

func (f *Client) ExecResize(ctx context.Context, execID string, height, width uint) error {
	if err := f.call("ExecResize", execID, strconv.FormatUint(uint64(height), 10), strconv.FormatUint(uint64(width), 10)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.execs[execID] == nil {
		return notFound("exec instance", execID)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Images.

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

// ---------------------------------------------------------------------------
// Volumes.

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

// ---------------------------------------------------------------------------
// Events.

type fakeSub struct {
	labels []string
	out    chan events.Message
	errs   chan error

	mu     sync.Mutex
	queue  []events.Message
	more   chan struct{} // signalled when queue grows
	stop   chan error    // FailEvents
	closed bool
}

func (s *fakeSub) push(m events.Message) {
	s.mu.Lock()
	s.queue = append(s.queue, m)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
}

func (s *fakeSub) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.stop <- err
	}
}

// run delivers queued events in order, never dropping one, until ctx ends or
// the stream is failed; the error then goes to errs, as the real client does.
func (s *fakeSub) run(ctx context.Context, f *Client) {
	defer func() {
		f.mu.Lock()
		delete(f.subs, s)
		f.mu.Unlock()
	}()
	for {
		s.mu.Lock()
		var next *events.Message
		if len(s.queue) > 0 {
			m := s.queue[0]
			s.queue = s.queue[1:]
			next = &m
		}
		s.mu.Unlock()
		if next != nil {
			select {
			case s.out <- *next:
				continue
			case <-ctx.Done():
				s.errs <- ctx.Err()
				return
			case err := <-s.stop:
				s.errs <- err
				return
			}
		}
		select {
		case <-s.more:
		case <-ctx.Done():
			s.errs <- ctx.Err()
			return
		case err := <-s.stop:
			s.errs <- err
			return
		}
	}
}

// Events streams container events whose labels match all of labels, starting
// with the past ones at or after since (when not zero).
func (f *Client) Events(ctx context.Context, since time.Time, labels ...string) (<-chan events.Message, <-chan error) {
	errs := make(chan error, 1)
	if err := f.call("Events", labels...); err != nil {
		errs <- err
		return make(chan events.Message), errs
	}
	s := &fakeSub{
		labels: slices.Clone(labels),
		out:    make(chan events.Message),
		errs:   errs,
		more:   make(chan struct{}, 1),
		stop:   make(chan error, 1),
	}
	f.mu.Lock()
	if !since.IsZero() {
		for _, e := range f.history {
			if e.msg.TimeNano >= since.UnixNano() && matchLabels(e.labels, labels) {
				s.queue = append(s.queue, e.msg)
			}
		}
	}
	f.subs[s] = true
	f.mu.Unlock()
	go s.run(ctx, f)
	return s.out, s.errs
}

func (f *Client) publishLocked(c *fakeContainer, action events.Action, extra map[string]string) {
	now := f.clock.Now()
	attrs := maps.Clone(c.config.Labels)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["name"] = c.name
	attrs["image"] = c.config.Image
	maps.Copy(attrs, extra)
	msg := events.Message{
		Type:     events.ContainerEventType,
		Action:   action,
		Actor:    events.Actor{ID: c.id, Attributes: attrs},
		Scope:    "local",
		Time:     now.Unix(),
		TimeNano: now.UnixNano(),
	}
	labels := maps.Clone(c.config.Labels)
	f.history = append(f.history, fakeEvent{msg: msg, labels: labels})
	for s := range f.subs {
		if matchLabels(labels, s.labels) {
			s.push(msg)
		}
	}
}

// ---------------------------------------------------------------------------
// Host.

func (f *Client) Info(ctx context.Context) (system.Info, error) {
	if err := f.call("Info"); err != nil {
		return system.Info{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	info := f.info
	info.Containers = len(f.containers)
	for _, c := range f.containers {
		switch {
		case c.state.Running:
			info.ContainersRunning++
		default:
			info.ContainersStopped++
		}
	}
	return info, nil
}

func (f *Client) Ping(ctx context.Context) error { return f.call("Ping") }

func (f *Client) NetworkGateway(ctx context.Context, name string) (string, error) {
	if err := f.call("NetworkGateway", name); err != nil {
		return "", err
	}
	if name != "bridge" {
		return "", fmt.Errorf("network %s not found: %w", name, cerrdefs.ErrNotFound)
	}
	return Gateway, nil
}

func (f *Client) Close() error { return f.call("Close") }

// ---------------------------------------------------------------------------
// Internals.

// call logs a call and returns the hook's or the injected error, if any.
func (f *Client) call(op string, args ...string) error {
	f.mu.Lock()
	f.calls = append(f.calls, strings.Join(append([]string{op}, args...), " "))
	hook := f.hook
	injected := f.errs[op]
	f.mu.Unlock()
	if hook != nil {
		if err := hook(op, slices.Clone(args)); err != nil {
			return err
		}
	}
	return injected
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

// signalLocked delivers signal to a running container and ends it when the
// signal is fatal to it.
func (f *Client) signalLocked(c *fakeContainer, signal string) error {
	sig, num, err := parseSignal(signal)
	if err != nil {
		return err
	}
	c.signals = append(c.signals, sig)
	f.publishLocked(c, events.ActionKill, map[string]string{"signal": strconv.Itoa(num)})
	var exits bool
	var code int
	switch {
	case sig == "SIGKILL":
		exits, code = true, 128+9
	case f.ignored[c.id][sig] || f.ignored[c.name][sig]:
	case f.onSignal != nil:
		exits, code = f.onSignal(c.id, c.name, sig)
	default:
		exits, code = !ignoredByDefault[sig], 128+num
	}
	if exits {
		f.exitLocked(c, code, false)
	}
	return nil
}

func (f *Client) exitLocked(c *fakeContainer, code int, oom bool) {
	if oom {
		f.publishLocked(c, events.ActionOOM, nil)
	}
	c.state.Running = false
	c.state.Status = container.StateExited
	c.state.ExitCode = code
	c.state.OOMKilled = oom
	c.state.Pid = 0
	c.state.FinishedAt = f.clock.Now().UTC().Format(time.RFC3339Nano)
	c.ip = ""
	f.publishLocked(c, events.ActionDie, map[string]string{"exitCode": strconv.Itoa(code)})
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

// matchLabels applies the engine's label filters: "key" needs the label,
// "key=value" needs that value.
func matchLabels(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		k, v, withValue := strings.Cut(f, "=")
		got, ok := labels[k]
		if !ok || (withValue && got != v) {
			return false
		}
	}
	return true
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

func notFound(kind, ref string) error {
	return fmt.Errorf("No such %s: %s: %w", kind, ref, cerrdefs.ErrNotFound)
}

const zeroTime = "0001-01-01T00:00:00Z"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Linux signal numbers, and the signals whose default action is not to end
// the process.
var signalNumbers = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7,
	"SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13,
	"SIGALRM": 14, "SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19,
	"SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24, "SIGXFSZ": 25,
	"SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPWR": 30, "SIGSYS": 31,
}

var ignoredByDefault = map[string]bool{
	"SIGCHLD": true, "SIGCONT": true, "SIGURG": true, "SIGWINCH": true,
	"SIGSTOP": true, "SIGTSTP": true, "SIGTTIN": true, "SIGTTOU": true,
}

// parseSignal accepts "SIGTERM", "TERM", "term" or "15".
func parseSignal(s string) (name string, num int, err error) {
	if n, convErr := strconv.Atoi(s); convErr == nil {
		for name, num := range signalNumbers {
			if num == n {
				return name, num, nil
			}
		}
		return "", 0, fmt.Errorf("invalid signal: %s: %w", s, cerrdefs.ErrInvalidArgument)
	}
	name = strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	num, ok := signalNumbers[name]
	if !ok {
		return "", 0, fmt.Errorf("invalid signal: %s: %w", s, cerrdefs.ErrInvalidArgument)
	}
	return name, num, nil
}
