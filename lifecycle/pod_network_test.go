package lifecycle

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// What the sandbox owns for the pod reaches the engine: host namespaces when
// allowed, hostname, hostAliases and resolv.conf; containers follow the
// sandbox into host PID and IPC namespaces.
func TestPodNetworkingReachesTheEngine(t *testing.T) {
	h := newHarness(t)
	h.rt.HostNamespaces = translate.HostNamespaces{Network: true, PID: true, IPC: true}
	h.rt.DNS = translate.DNSSettings{ClusterDNS: []string{"172.17.0.53"}, ClusterDomain: "cluster.local"}
	pod := newPod(appContainer())
	pod.Spec.HostAliases = []v1.HostAlias{{IP: "127.0.0.2", Hostnames: []string{"foo.local", "bar.local"}}}
	pod.Spec.DNSPolicy = v1.DNSClusterFirstWithHostNet
	pod.Spec.HostNetwork, pod.Spec.HostPID, pod.Spec.HostIPC = true, true, true
	w := NewWorker(h.rt, pod, true)
	h.sync(w)
	h.sync(w)
	var sandbox, app *container.HostConfig
	for _, c := range h.podContainers(pod.UID) {
		in := h.inspect(c.ID)
		if c.Labels["io.kubernetes.container.name"] == "POD" {
			sandbox = in.HostConfig
		} else {
			app = in.HostConfig
		}
	}
	if sandbox == nil || app == nil {
		t.Fatalf("sandbox %v app %v: want both created", sandbox != nil, app != nil)
	}
	if sandbox.NetworkMode != "host" || sandbox.PidMode != "host" || sandbox.IpcMode != "host" {
		t.Errorf("sandbox modes net=%s pid=%s ipc=%s, want host for all", sandbox.NetworkMode, sandbox.PidMode, sandbox.IpcMode)
	}
	if app.PidMode != "host" || app.IpcMode != "host" || !strings.HasPrefix(string(app.NetworkMode), "container:") {
		t.Errorf("app modes net=%s pid=%s ipc=%s, want the sandbox's network and the host's pid/ipc", app.NetworkMode, app.PidMode, app.IpcMode)
	}
	if len(sandbox.ExtraHosts) != 0 {
		t.Errorf("extra hosts %q, want none: hostAliases go into the kubelet's /etc/hosts, a line per IP", sandbox.ExtraHosts)
	}
	if !reflect.DeepEqual(sandbox.DNS, []string{"172.17.0.53"}) || !reflect.DeepEqual(sandbox.DNSOptions, []string{"ndots:5"}) {
		t.Errorf("dns %q options %q", sandbox.DNS, sandbox.DNSOptions)
	}
	if s := h.status(); s.PodIP != h.rt.HostIP || s.PodIP == "" {
		t.Errorf("podIP = %q, want the node's IP %q with hostNetwork", s.PodIP, h.rt.HostIP)
	}
}

// The pod's /etc/hosts is written in the sandbox once it runs (the pod IP is
// known then) and before any container starts, for a pod on the pod network
// and one on the host's alike.
func TestTheHostsFileIsWrittenBeforeAnyContainerStarts(t *testing.T) {
	for _, hostNetwork := range []bool{false, true} {
		t.Run(fmt.Sprintf("hostNetwork=%v", hostNetwork), func(t *testing.T) {
			h := newHarness(t)
			h.rt.HostNamespaces = translate.HostNamespaces{Network: true}
			pod := newPod(appContainer())
			pod.Spec.HostNetwork = hostNetwork
			pod.Spec.HostAliases = []v1.HostAlias{{IP: "127.0.0.2", Hostnames: []string{"foo.local", "bar.local"}}}
			w := NewWorker(h.rt, pod, true)
			h.sync(w)
			sandbox := h.inspect(dockerName(pod, "POD", 0)).ID
			got := h.calls("ContainerCreate", "ContainerStart", "ExecCreate")
			want := []string{
				"ContainerCreate " + dockerName(pod, "POD", 0),
				"ContainerStart " + sandbox,
				"ExecCreate " + sandbox + " /pause setup --hosts",
				"ContainerCreate " + dockerName(pod, "app", 0),
				"ContainerStart " + h.inspect(dockerName(pod, "app", 0)).ID,
			}
			if !slices.Equal(got, want) {
				t.Errorf("engine calls\n%q\nwant\n%q", got, want)
			}
		})
	}
}
