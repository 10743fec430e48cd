// Package lifecycle drives one pod on a Docker host the way the kubelet's pod
// workers do: one goroutine per pod makes the engine match the pod spec
// (sandbox, volumes, containers), reports status whenever what it observes
// changes, and terminates the pod with its grace period when it is deleted.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/images"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Runtime holds what every pod worker of one node shares.
type Runtime struct {
	// Node is how the node's pods translate into Docker terms, with the
	// node's name, network and policies that translation depends on.
	translate.Node
	// Docker is the engine the node's pods run on.
	Docker dockerhost.Client
	// HostIP is reported as the pods' status.hostIP.
	HostIP string
	// MessageDir, when set, is a directory on the Docker host's own disk (the
	// engine runs on this machine) where each container gets a file that is
	// bind-mounted at its terminationMessagePath, as the kubelet does: the
	// engine's /dev is a tmpfs that vanishes when the container exits, so
	// without it only messages written outside /dev survive.
	MessageDir string
	// ProbeViaSandbox makes tcpSocket, httpGet and grpc probes and httpGet
	// hooks connect from inside the pod's network namespace (through the
	// pause program in the sandbox) instead of from the provider's network:
	// needed when the engine is on another host and pod IPs are not routable
	// from here.
	ProbeViaSandbox bool
	// ExecProbesPlain runs every exec probe with its own docker exec, as the
	// kubelet does, instead of through one long-lived shell per container
	// and probe (probes.ExecSession), which costs the engine far less.
	ExecProbesPlain bool
	// HostAnswering, when set, says whether the Docker host answers its
	// health checks; while it does not, probes are not run (a silent engine
	// cannot reach the pod, which says nothing about the container) and
	// count for nothing, as the kubelet throws away a broken probe's result.
	HostAnswering func() bool
	// Kube is the API client for what the caches cannot answer (TokenRequest).
	Kube kubernetes.Interface
	// Recorder writes the kubelet's events (Pulling, Created, Started, ...).
	Recorder record.EventRecorder
	// Clock is the time source of every timer and timestamp.
	Clock clock.Clock
	// Notify is called with a copy of the pod whenever its status changes.
	// It may block briefly; it must not call back into the worker.
	Notify func(*v1.Pod)
	// Removed is called once a pod's containers and volumes are all gone and
	// its worker has stopped.
	Removed func(types.UID)

	// Starts bounds the sandbox and container starts running on the engine
	// at once (nil: no bound).
	Starts *StartLimiter

	// ImagePullRecords is the file that keeps, across restarts, with which
	// credentials each image was pulled; empty keeps them in memory only.
	ImagePullRecords string

	// images is the node's image manager; created on first use from the
	// fields above, so that a Runtime stays a plain struct its users fill in.
	images *images.Manager
}

// imagesInit guards the lazy creation of Runtime.images.
var imagesInit sync.Mutex

// Validate rejects a Runtime missing a required field.
func (rt *Runtime) Validate() error {
	switch {
	case rt.Docker == nil:
		return fmt.Errorf("lifecycle runtime: Docker is required")
	case rt.Recorder == nil:
		return fmt.Errorf("lifecycle runtime: Recorder is required")
	case rt.Clock == nil:
		return fmt.Errorf("lifecycle runtime: Clock is required")
	case rt.Notify == nil || rt.Removed == nil:
		return fmt.Errorf("lifecycle runtime: Notify and Removed are required")
	}
	if err := rt.Node.Validate(); err != nil {
		return fmt.Errorf("lifecycle runtime: %w", err)
	}
	return nil
}

// imageManager is the node's image manager, shared by its pod workers.
func (rt *Runtime) imageManager() *images.Manager {
	imagesInit.Lock()
	defer imagesInit.Unlock()
	if rt.images == nil {
		rt.images = images.NewManager(images.Config{
			Docker:      rt.Docker,
			Secrets:     rt.Secrets,
			Kube:        rt.Kube,
			Recorder:    rt.Recorder,
			Clock:       rt.Clock,
			RecordsFile: rt.ImagePullRecords,
		})
	}
	return rt.images
}

// LoadImagePullRecords reads the pull records earlier runs kept in
// ImagePullRecords (images.Manager.LoadRecords).
func (rt *Runtime) LoadImagePullRecords() error {
	return rt.imageManager().LoadRecords()
}

// errHostSilent is a probe's error while its Docker host does not answer.
var errHostSilent = errors.New("the Docker host is not answering")

// hostSilent reports whether the Docker host is known not to answer.
func (rt *Runtime) hostSilent() bool {
	return rt.HostAnswering != nil && !rt.HostAnswering()
}

// engineSilentTimeout bounds the ping that tells a failed probe from a
// silent engine.
const engineSilentTimeout = time.Second

// engineSilent reports, on a node with several hosts (HostAnswering set),
// whether the engine is silent now: known so, or not answering a ping.
func (rt *Runtime) engineSilent(ctx context.Context) bool {
	if rt.HostAnswering == nil {
		return false
	}
	if !rt.HostAnswering() {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, engineSilentTimeout)
	defer cancel()
	return rt.Docker.Ping(ctx) != nil && ctx.Err() != context.Canceled
}

// ForHost returns a copy of rt for the pods of another Docker host: its
// own client, and its own image manager, since pulls, pull back-off and
// pull records belong to the engine that holds the images.
func (rt *Runtime) ForHost(docker dockerhost.Client) *Runtime {
	c := *rt
	c.Docker = docker
	c.images = nil
	return &c
}
