// Package dockerfake is an in-memory Docker engine behind dockerhost.Client,
// for the tests of the packages that drive the engine (as client-go's fake
// packages are for its clientsets). Only tests import it, so it is never part
// of the vk-docker binary.
package dockerfake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
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

func notFound(kind, ref string) error {
	return fmt.Errorf("No such %s: %s: %w", kind, ref, cerrdefs.ErrNotFound)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
