package translate

import (
	"testing"

	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// An ephemeral container (kubectl debug) is translated as a regular one,
// joined to the sandbox's network and IPC namespaces; with a target it
// shares that container's PID namespace, unless the pod shares one already
// (the kubelet's NamespaceMode TARGET applies only over CONTAINER).
func TestEphemeralContainerNamespaces(t *testing.T) {
	const sandboxID, targetID = "sandbox-id", "target-id"
	cases := []struct {
		name     string
		pod      func(*v1.Pod)
		target   string
		wantPID  string
		wantKind string
	}{
		{"a target: its PID namespace", nil, targetID, "container:" + targetID, dockerhost.KindEphemeral},
		{"no target: a PID namespace of its own", nil, "", "", dockerhost.KindEphemeral},
		{"shareProcessNamespace: the pod's", func(p *v1.Pod) { p.Spec.ShareProcessNamespace = ptr.To(true) }, targetID, "container:" + sandboxID, dockerhost.KindEphemeral},
		{"hostPID: the host's", func(p *v1.Pod) { p.Spec.HostPID = true }, targetID, "host", dockerhost.KindEphemeral},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &v1.Pod{}
			pod.Name, pod.Namespace, pod.UID = "web", "default", "uid-1"
			if tc.pod != nil {
				tc.pod(pod)
			}
			n := &Node{NodeName: "vk-test"}
			ec := &v1.EphemeralContainer{EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "debugger", Image: "busybox", Stdin: true, TTY: true}}
			cfg, host := n.ContainerConfig(pod, EphemeralContainer(ec), Slot{Index: 2, Ephemeral: true, PIDTarget: tc.target}, 0, sandboxID)
			if string(host.PidMode) != tc.wantPID {
				t.Errorf("PidMode = %q, want %q", host.PidMode, tc.wantPID)
			}
			if string(host.NetworkMode) != "container:"+sandboxID || string(host.IpcMode) != "container:"+sandboxID {
				t.Errorf("network %q IPC %q, want the sandbox's", host.NetworkMode, host.IpcMode)
			}
			if got := cfg.Labels[dockerhost.LabelContainerKind]; got != tc.wantKind || cfg.Labels[dockerhost.LabelContainerIndex] != "2" {
				t.Errorf("kind %q index %q, want %q and 2", got, cfg.Labels[dockerhost.LabelContainerIndex], tc.wantKind)
			}
			if !cfg.Tty || !cfg.OpenStdin {
				t.Errorf("tty %v stdin %v, want both (kubectl debug -it)", cfg.Tty, cfg.OpenStdin)
			}
		})
	}
}

// The fields the API refuses on an ephemeral container never reach the
// engine, whatever the object holds.
func TestEphemeralContainerDropsWhatTheAPIRefuses(t *testing.T) {
	ec := &v1.EphemeralContainer{EphemeralContainerCommon: v1.EphemeralContainerCommon{
		Name: "debugger", Image: "busybox", Command: []string{"sh"},
		Ports:         []v1.ContainerPort{{ContainerPort: 80}},
		Resources:     v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceMemory: resource.MustParse("1Mi")}},
		Lifecycle:     &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 1}}},
		LivenessProbe: &v1.Probe{}, ReadinessProbe: &v1.Probe{}, StartupProbe: &v1.Probe{},
	}}
	c := EphemeralContainer(ec)
	if c.Name != "debugger" || c.Image != "busybox" || len(c.Command) != 1 {
		t.Errorf("container = %+v, want its name, image and command kept", c)
	}
	if c.Ports != nil || c.Resources.Limits != nil || c.Lifecycle != nil || c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil {
		t.Errorf("container = %+v, want no ports, resources, lifecycle or probes", c)
	}
	if ec.Ports == nil || ec.Lifecycle == nil {
		t.Error("the pod's object was changed")
	}
}
