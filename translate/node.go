// Package translate turns a Pod into Docker terms as the kubelet's runtime
// does: the sandbox's and each container's configuration (labels, command,
// environment, mounts, security, resources, ports, DNS and hosts). It decides
// nothing about when a pod runs and reads the engine only through the small
// interface its callers give it.
package translate

import (
	"fmt"
	"net"
	"strconv"

	v1 "k8s.io/api/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// Node is what the translation of one node's pods depends on.
type Node struct {
	// NodeName labels every container and volume; only those are touched.
	NodeName string
	// DockerHost, when set, names the Docker host the pods run on (one of
	// several behind the node) in every container's labels.
	DockerHost string
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
	// DNS is the node's cluster DNS and resolver configuration.
	DNS DNSSettings
	// HostNamespaces are the host namespaces pods may use.
	HostNamespaces HostNamespaces
	// Security is what the node lets pods ask for in their securityContext
	// (privileged containers, sysctls, seccomp profiles).
	Security SecurityPolicy
	// HostPaths are the host path prefixes (--allowed-host-paths) hostPath volumes may use;
	// a pod with any other hostPath stays Pending.
	HostPaths []string
	// Secrets and ConfigMaps read the objects pods refer to (image pull
	// secrets, volume sources) from the node's informer caches; nil in tests
	// that do not need them.
	Secrets    corev1listers.SecretLister
	ConfigMaps corev1listers.ConfigMapLister
	// Services lists the Services whose variables containers get (the
	// kubelet's service links).
	Services corev1listers.ServiceLister
	// Allocatable is the node's allocatable resources as it reports them:
	// the value of a resourceFieldRef to a limit the container does not
	// set, as on the kubelet. Nil leaves such a limit at zero.
	Allocatable func() v1.ResourceList
}

// Validate rejects a Node missing a required field.
func (n *Node) Validate() error {
	switch {
	case n.NodeName == "":
		return fmt.Errorf("NodeName is required")
	case n.PauseImage == "":
		return fmt.Errorf("PauseImage is required")
	case n.PodAPIHost != "" && net.ParseIP(n.PodAPIHost) == nil:
		return fmt.Errorf("PodAPIHost %q is not an IP address", n.PodAPIHost)
	case n.PodAPIHost != "" && (n.PodAPIPort <= 0 || n.PodAPIPort > 65535):
		return fmt.Errorf("PodAPIPort %s is not a port", strconv.Itoa(n.PodAPIPort))
	}
	return nil
}

// DockerNetwork is the Docker network sandboxes join.
func (n *Node) DockerNetwork() string {
	if n.Network == "" {
		return "bridge"
	}
	return n.Network
}
