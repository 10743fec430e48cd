package lifecycle

import (
	"slices"
	"testing"

	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// A pod's sysctls are admitted by the kubelet's allowlist: the safe set plus
// what --allowed-unsafe-sysctls adds. An admitted pod gets them on its
// sandbox; a rejected one fails at once with SysctlForbidden and the
// kubelet's message, and nothing is created.
func TestSysctlAdmission(t *testing.T) {
	cases := []struct {
		name    string
		unsafe  []string
		sysctls []v1.Sysctl
		mutate  func(*v1.PodSpec)
		reject  string // the rejection message; "" when admitted
	}{
		{name: "safe sysctls run", sysctls: []v1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "1024 65000"}, {Name: "kernel.shm_rmid_forced", Value: "1"}}},
		{name: "slash form is normalised", sysctls: []v1.Sysctl{{Name: "net/ipv4/tcp_syncookies", Value: "1"}}},
		{name: "an unsafe sysctl is forbidden", sysctls: []v1.Sysctl{{Name: "kernel.msgmax", Value: "65536"}},
			reject: `forbidden sysctl: "kernel.msgmax" not allowlisted`},
		{name: "an allowed unsafe prefix runs", unsafe: []string{"kernel.msg*"}, sysctls: []v1.Sysctl{{Name: "kernel.msgmax", Value: "65536"}}},
		{name: "an allowed unsafe name runs", unsafe: []string{"net.core.somaxconn"}, sysctls: []v1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}},
		{name: "a net sysctl with hostNetwork is forbidden", sysctls: []v1.Sysctl{{Name: "net.ipv4.tcp_syncookies", Value: "1"}},
			mutate: func(s *v1.PodSpec) { s.HostNetwork = true },
			reject: `forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host Net enabled`},
		{name: "an IPC sysctl with hostIPC is forbidden", sysctls: []v1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "1"}},
			mutate: func(s *v1.PodSpec) { s.HostIPC = true },
			reject: `forbidden sysctl: "kernel.shm_rmid_forced" not allowed with host IPC enabled`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			allow, err := translate.NewSysctlAllowlist(c.unsafe)
			if err != nil {
				t.Fatal(err)
			}
			h.rt.Security.Sysctls = allow
			pod := newPod(appContainer())
			pod.Spec.SecurityContext = &v1.PodSecurityContext{Sysctls: c.sysctls}
			if c.mutate != nil {
				c.mutate(&pod.Spec)
			}
			w := NewWorker(h.rt, pod, true)
			h.sync(w)
			h.sync(w)
			s := h.status()
			if c.reject != "" {
				if s.Phase != v1.PodFailed || s.Reason != ReasonSysctlForbidden || s.Message != "Pod was rejected: "+c.reject {
					t.Errorf("status = %s %q %q, want Failed %s %q", s.Phase, s.Reason, s.Message, ReasonSysctlForbidden, "Pod was rejected: "+c.reject)
				}
				if len(s.ContainerStatuses) != 0 {
					t.Errorf("container statuses %+v, want none: `kubectl get pod` must show SysctlForbidden", s.ContainerStatuses)
				}
				if got := h.events(); !slices.Contains(got, "Warning SysctlForbidden "+c.reject) {
					t.Errorf("events = %q, want the rejection", got)
				}
				if got := h.calls(mutations...); len(got) != 0 {
					t.Errorf("the engine was changed: %q", got)
				}
				return
			}
			if s.Phase != v1.PodRunning {
				t.Fatalf("phase = %s (%s: %s), want Running", s.Phase, s.Reason, s.Message)
			}
			got := h.inspect(dockerName(pod, "POD", 0)).HostConfig.Sysctls
			for _, sc := range c.sysctls {
				if got[translate.NormalizeSysctl(sc.Name)] != sc.Value {
					t.Errorf("sandbox sysctls = %v, want %s=%s", got, sc.Name, sc.Value)
				}
			}
			if app := h.inspect(dockerName(pod, "app", 0)).HostConfig.Sysctls; len(app) != 0 {
				t.Errorf("app container sysctls = %v, want none (they live in the sandbox's namespaces)", app)
			}
		})
	}
}
