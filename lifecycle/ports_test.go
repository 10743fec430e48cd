package lifecycle

import (
	"reflect"
	"testing"

	"github.com/docker/go-connections/nat"
	v1 "k8s.io/api/core/v1"
)

// hostPorts are published by the sandbox, which owns the pod's network
// namespace, for TCP, UDP and SCTP, on the hostIP asked for; ports without
// a hostPort are not published, and app containers publish nothing.
func TestHostPortsArePublishedByTheSandbox(t *testing.T) {
	cases := []struct {
		name  string
		ports []v1.ContainerPort
		want  nat.PortMap
	}{
		{"no hostPort", []v1.ContainerPort{{ContainerPort: 8080, Protocol: v1.ProtocolTCP}}, nil},
		{"tcp and udp on the same port", []v1.ContainerPort{
			{ContainerPort: 53, HostPort: 5353, Protocol: v1.ProtocolTCP},
			{ContainerPort: 53, HostPort: 5353, Protocol: v1.ProtocolUDP},
		}, nat.PortMap{
			"53/tcp": {{HostPort: "5353"}},
			"53/udp": {{HostPort: "5353"}},
		}},
		{"hostIP and a defaulted protocol", []v1.ContainerPort{{ContainerPort: 80, HostPort: 8080, HostIP: "127.0.0.1"}},
			nat.PortMap{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}}}},
		{"sctp", []v1.ContainerPort{{ContainerPort: 9, HostPort: 9999, Protocol: v1.ProtocolSCTP}},
			nat.PortMap{"9/sctp": {{HostPort: "9999"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			app := appContainer()
			app.Ports = c.ports
			pod := newPod(app)
			h.running(pod)
			sb := h.inspect(dockerName(pod, "POD", 0))
			if got := sb.HostConfig.PortBindings; !reflect.DeepEqual(got, c.want) && (len(got) != 0 || len(c.want) != 0) {
				t.Errorf("sandbox port bindings = %v, want %v", got, c.want)
			}
			for p := range c.want {
				if _, ok := sb.Config.ExposedPorts[p]; !ok {
					t.Errorf("sandbox does not expose %s: %v", p, sb.Config.ExposedPorts)
				}
			}
			if got := h.inspect(dockerName(pod, "app", 0)).HostConfig.PortBindings; len(got) != 0 {
				t.Errorf("app container publishes %v", got)
			}
		})
	}
}

// An init container's hostPort is the pod's too.
func TestInitContainerHostPortIsPublished(t *testing.T) {
	pod := newPod(appContainer())
	pod.Spec.InitContainers = []v1.Container{{Name: "init", Image: sidecarImage,
		Ports: []v1.ContainerPort{{ContainerPort: 7000, HostPort: 17000, Protocol: v1.ProtocolUDP}}}}
	cfg, host := newHarness(t).rt.SandboxConfig(pod)
	if _, ok := cfg.ExposedPorts["7000/udp"]; !ok || len(host.PortBindings["7000/udp"]) != 1 {
		t.Errorf("exposed %v, bindings %v; want 7000/udp on 17000", cfg.ExposedPorts, host.PortBindings)
	}
}
