package translate

import (
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	v1 "k8s.io/api/core/v1"
)

// applyHostPorts publishes the pod's hostPorts on the Docker host. They
// belong on the sandbox: it owns the pod's network namespace, and the engine
// cannot publish ports of a container that joins another's. As under the
// kubelet, a port without hostPort is only recorded (a container label), and
// with hostNetwork there is nothing to publish: the pod uses the host's ports.
func applyHostPorts(pod *v1.Pod, cfg *container.Config, host *container.HostConfig) {
	if pod.Spec.HostNetwork {
		return
	}
	for _, c := range append(append([]v1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto := strings.ToLower(string(p.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			port := nat.Port(strconv.Itoa(int(p.ContainerPort)) + "/" + proto)
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = nat.PortSet{}
				host.PortBindings = nat.PortMap{}
			}
			cfg.ExposedPorts[port] = struct{}{}
			host.PortBindings[port] = append(host.PortBindings[port], nat.PortBinding{
				HostIP:   p.HostIP,
				HostPort: strconv.Itoa(int(p.HostPort)),
			})
		}
	}
}
