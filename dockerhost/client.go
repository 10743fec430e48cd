// Package dockerhost is the only place that talks to a Docker engine. It exposes
// one narrow interface (Client) with exactly the calls vk-docker makes, the
// naming and labelling scheme of pod containers, and the project's pause image.
//
// Files: client.go declares Client and connects to the engine; the engine
// calls are grouped by what they act on (containers.go, exec.go, attach.go,
// stats.go, images.go, volumes.go, events.go, system.go); names.go and
// labels.go say how vk-docker marks what it owns. The pause_*.go files are
// the pause program: its image (pause_image.go) and the helpers that run it
// inside a sandbox with `docker exec` (pause_exec.go for volumes and subPaths,
// pause_dial.go for connections from the pod's network). An in-memory fake of
// Client for tests is in dockerhost/dockerfake.
package dockerhost

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// Client is the subset of the Docker Engine API vk-docker uses. Every method
// takes a context; errors keep the engine's classification so that callers
// can use github.com/containerd/errdefs (IsNotFound, IsConflict, ...).
type Client interface {
	// ContainerCreate creates (but does not start) a container named name.
	// A name already in use is reported as a Conflict error.
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, name string) (container.CreateResponse, error)
	// ContainerStart starts a created or exited container.
	ContainerStart(ctx context.Context, id string) error
	// ContainerStop sends signal (the image's STOPSIGNAL when empty) and
	// SIGKILL after timeout. It returns when the container has stopped.
	ContainerStop(ctx context.Context, id string, signal string, timeout time.Duration) error
	// ContainerKill sends signal to the container's main process.
	ContainerKill(ctx context.Context, id, signal string) error
	// ContainerRemove removes a container and its anonymous volumes, killing
	// it first if it still runs. Removing a missing container is NotFound.
	ContainerRemove(ctx context.Context, id string) error
	// ContainerInspect returns the engine's full view of one container.
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	// ContainerList lists containers, stopped ones included, matching all labels
	// given as "key" or "key=value".
	ContainerList(ctx context.Context, labels ...string) ([]container.Summary, error)
	// ContainerLogs streams a container's log in Docker's multiplexed format
	// (raw when the container has a TTY). The stream has no timeout.
	ContainerLogs(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error)
	// CopyFromContainer returns a tar stream of the file or directory at path
	// inside the container, created, running or exited: its first entry is
	// path itself, named by its base name (a symlink at path is not followed).
	// A missing container or path is NotFound. The stream has no timeout.
	CopyFromContainer(ctx context.Context, id, path string) (io.ReadCloser, error)

	// ExecCreate prepares a command in a running container.
	ExecCreate(ctx context.Context, id string, options container.ExecOptions) (string, error)
	// ExecAttach starts a prepared exec and returns its hijacked stream. The
	// stream has no timeout.
	ExecAttach(ctx context.Context, execID string, tty bool) (types.HijackedResponse, error)
	// ExecInspect reports whether an exec still runs and its exit code.
	ExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	// ExecResize resizes the TTY of an exec.
	ExecResize(ctx context.Context, execID string, height, width uint) error

	// ContainerAttach attaches to a running container's standard streams
	// (stdin too when asked); the stream is multiplexed unless the container
	// has a TTY, and has no timeout.
	ContainerAttach(ctx context.Context, id string, stdin bool) (types.HijackedResponse, error)
	// ContainerResize resizes a container's TTY.
	ContainerResize(ctx context.Context, id string, height, width uint) error
	// ContainerStats returns one sample of a container's resource usage
	// without waiting for a second one (CPU is a cumulative counter).
	ContainerStats(ctx context.Context, id string) (container.StatsResponse, error)
	// ImageList lists the engine's images.
	ImageList(ctx context.Context) ([]image.Summary, error)

	// ImageInspect returns an image by reference or ID; NotFound when absent.
	ImageInspect(ctx context.Context, ref string) (image.InspectResponse, error)
	// ImagePull pulls ref and waits for the pull to end.
	ImagePull(ctx context.Context, ref string, options image.PullOptions) error
	// ImageImport creates the image ref from a root filesystem tarball, with
	// Dockerfile-style changes ("ENTRYPOINT [...]", "LABEL k=v").
	ImageImport(ctx context.Context, rootfs io.Reader, ref string, changes []string) error
	// ImageRemove removes an image by ID; NotFound when absent, Conflict
	// while a container uses it.
	ImageRemove(ctx context.Context, id string) error

	// VolumeCreate creates a named local volume with labels.
	VolumeCreate(ctx context.Context, name string, labels map[string]string) error
	// VolumeCreateOptions creates a named local volume with labels and the
	// local driver's options (type=tmpfs,device=tmpfs,o=size=...).
	VolumeCreateOptions(ctx context.Context, name string, labels, driverOpts map[string]string) error
	// VolumeRemove removes a named volume; NotFound when absent.
	VolumeRemove(ctx context.Context, name string) error
	// VolumeList lists volumes matching all labels ("key" or "key=value").
	VolumeList(ctx context.Context, labels ...string) ([]*volume.Volume, error)

	// Events streams engine events matching all labels until ctx ends. The
	// stream has no timeout.
	Events(ctx context.Context, since time.Time, labels ...string) (<-chan events.Message, <-chan error)
	// Info describes the engine and its host (CPUs, memory, versions).
	Info(ctx context.Context) (system.Info, error)
	// Ping checks that the engine answers.
	Ping(ctx context.Context) error
	// NetworkGateway returns the IPv4 gateway of a Docker network ("bridge").
	NetworkGateway(ctx context.Context, network string) (string, error)

	// Close releases the client's connections.
	Close() error
}

// callTimeout bounds short API calls; streams (logs, copies, exec, events) and calls
// that legitimately wait (stop, pull, import) are not bounded by it.
const callTimeout = 30 * time.Second

// engine implements Client on top of the official Docker client.
type engine struct {
	c *client.Client
}

var _ Client = (*engine)(nil)

// New connects to the engine at host ("unix:///var/run/docker.sock",
// "tcp://..."), with the docker CLI's environment for what host does not
// say (an empty host: DOCKER_HOST or the local socket).
func New(host string) (Client, error) {
	return connect(host, "", true)
}

// Connect connects to the engine at host; an empty host means DOCKER_HOST, DOCKER_TLS_VERIFY and
// DOCKER_CERT_PATH as the docker CLI reads them, or the local socket. With
// certDir, the engine is reached over TLS with the Docker layout of that
// directory: ca.pem verifies the engine, cert.pem and key.pem are the
// client's certificate. The API version is negotiated so older engines work.
func Connect(host, certDir string) (Client, error) {
	return connect(host, certDir, host == "")
}

func connect(host, certDir string, fromEnv bool) (Client, error) {
	opts := []client.Opt{client.WithAPIVersionNegotiation()}
	if fromEnv {
		opts = append(opts, client.FromEnv)
	}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	if certDir != "" {
		opts = append(opts, client.WithTLSClientConfig(
			filepath.Join(certDir, "ca.pem"), filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")))
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %q: %w", host, err)
	}
	return &engine{c: c}, nil
}

func short(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout)
}

func (e *engine) Close() error { return e.c.Close() }
