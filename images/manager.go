// Package images is the node's image manager, as the kubelet's
// pkg/kubelet/images: pull policy and reference parsing, registry
// credentials from pull secrets, pulls joined across pods, pull records
// that keep an image pulled with credentials for the pods holding them,
// and the per-pod pull back-off with its events.
package images

import (
	"context"

	"github.com/docker/docker/api/types/image"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Image waiting reasons and events, with the kubelet's names
// (pkg/kubelet/images/types.go, pkg/kubelet/events).
const (
	ReasonErrImagePull       = "ErrImagePull"
	ReasonErrImageNeverPull  = "ErrImageNeverPull"
	ReasonImagePullBackOff   = "ImagePullBackOff"
	ReasonInvalidImageName   = "InvalidImageName"
	ReasonImageInspectError  = "ImageInspectError"
	EventPulling             = "Pulling"
	EventPulled              = "Pulled"
	EventFailed              = "Failed"
	EventFailedPull          = "Failed"
	EventErrImageNeverPull   = "ErrImageNeverPull"
	EventInspectFailed       = "InspectFailed"
	EventBackOffPullingImage = "BackOff"
	// EventFailedToRetrieveImagePullSecret warns that a pull secret of the
	// pod cannot be read.
	EventFailedToRetrieveImagePullSecret = "FailedToRetrieveImagePullSecret"
)

// Engine is what the image manager asks of the Docker engine.
type Engine interface {
	// ImageInspect describes a present image; a missing one is a NotFound
	// error (containerd errdefs).
	ImageInspect(ctx context.Context, ref string) (image.InspectResponse, error)
	// ImagePull pulls ref and returns once it is present.
	ImagePull(ctx context.Context, ref string, options image.PullOptions) error
}

// Config is what a Manager works with.
type Config struct {
	// Docker is the engine images are pulled on.
	Docker Engine
	// Secrets reads pods' imagePullSecrets from the node's cache; Kube, when
	// set, reads those the cache does not hold yet. Both may be nil.
	Secrets corev1listers.SecretLister
	Kube    kubernetes.Interface
	// Recorder writes the kubelet's image events (Pulling, Pulled, ...).
	Recorder record.EventRecorder
	// Clock times pulls and back-offs.
	Clock clock.Clock
	// RecordsFile keeps, across restarts, with which credentials each image
	// was pulled; empty keeps them in memory only.
	RecordsFile string
}

// Manager is the image manager one node's pod workers share: it joins
// concurrent pulls of one image and keeps the pull records.
type Manager struct {
	cfg   Config
	pulls imagePulls
}

// NewManager returns the image manager of cfg. Loading the records needs
// only RecordsFile; EnsureImage needs Docker, Recorder and Clock.
func NewManager(cfg Config) *Manager {
	return &Manager{cfg: cfg, pulls: imagePulls{file: cfg.RecordsFile}}
}
