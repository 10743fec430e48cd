// Package lifecycle drives one pod on a Docker host the way the kubelet's pod
// workers do: one goroutine per pod makes the engine match the pod spec
// (sandbox, volumes, containers), reports status whenever what it observes
// changes, and terminates the pod with its grace period when it is deleted.
package lifecycle

import (
	"fmt"
	"net"
	"strconv"

	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Runtime holds what every pod worker of one node shares.
type Runtime struct {
	// Docker is the engine the node's pods run on.
	Docker dockerhost.Client
	// NodeName labels every container and volume; only those are touched.
	NodeName string
	// HostIP is reported as the pods' status.hostIP.
	HostIP string
	// PauseImage is the sandbox image; it must exist before pods start.
	PauseImage string
	// Network is the Docker network sandboxes join ("bridge" by default).
	Network string
	// PodAPIHost and PodAPIPort, when set, replace the KUBERNETES_SERVICE_* and
	// KUBERNETES_PORT* variables in every container, so that in-pod clients
	// reach the API server at an address that works from a container instead
	// of the Service ClusterIP.
	PodAPIHost string
	PodAPIPort int
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
	// DNS is the node's cluster DNS and resolver configuration.
	DNS DNSSettings
	// HostNamespaces are the host namespaces pods may use.
	HostNamespaces HostNamespaces
	// Security is what the node lets pods ask for in their securityContext
	// (privileged containers, sysctls, seccomp profiles).
	Security SecurityPolicy
	// Secrets and ConfigMaps read the objects pods refer to (image pull
	// secrets, volume sources) from the node's informer caches; nil in tests
	// that do not need them.
	Secrets    corev1listers.SecretLister
	ConfigMaps corev1listers.ConfigMapLister
	// Services lists the Services whose variables containers get (the
	// kubelet's service links).
	Services corev1listers.ServiceLister
	// Allocatable is the node's allocatable resources: the value of a
	// resourceFieldRef to a limit the container does not set.
	Allocatable v1.ResourceList
	// Kube is the API client for what the caches cannot answer (TokenRequest).
	Kube kubernetes.Interface
	// HostPaths are the host path prefixes (--allowed-host-paths) hostPath volumes may use;
	// a pod with any other hostPath stays Pending.
	HostPaths []string
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

	// ImagePullRecords is the file that keeps, across restarts, with which
	// credentials each image was pulled; empty keeps them in memory only.
	ImagePullRecords string

	// pulls joins concurrent pulls of one image (see imagePulls); created on
	// first use.
	pulls *imagePulls
}

// Validate rejects a Runtime missing a required field.
func (rt *Runtime) Validate() error {
	switch {
	case rt.Docker == nil:
		return fmt.Errorf("lifecycle runtime: Docker is required")
	case rt.NodeName == "":
		return fmt.Errorf("lifecycle runtime: NodeName is required")
	case rt.PauseImage == "":
		return fmt.Errorf("lifecycle runtime: PauseImage is required")
	case rt.Recorder == nil:
		return fmt.Errorf("lifecycle runtime: Recorder is required")
	case rt.Clock == nil:
		return fmt.Errorf("lifecycle runtime: Clock is required")
	case rt.Notify == nil || rt.Removed == nil:
		return fmt.Errorf("lifecycle runtime: Notify and Removed are required")
	case rt.PodAPIHost != "" && net.ParseIP(rt.PodAPIHost) == nil:
		return fmt.Errorf("lifecycle runtime: PodAPIHost %q is not an IP address", rt.PodAPIHost)
	case rt.PodAPIHost != "" && (rt.PodAPIPort <= 0 || rt.PodAPIPort > 65535):
		return fmt.Errorf("lifecycle runtime: PodAPIPort %s is not a port", strconv.Itoa(rt.PodAPIPort))
	}
	return nil
}

func (rt *Runtime) network() string {
	if rt.Network == "" {
		return "bridge"
	}
	return rt.Network
}
