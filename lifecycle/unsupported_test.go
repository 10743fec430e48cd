package lifecycle

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// A pod asking for a host namespace the node does not allow waits, with a
// Warning naming the flag that allows it, and nothing is created: running it
// in its own namespaces would be a lie.
func TestForbiddenHostNamespacesKeepThePodWaiting(t *testing.T) {
	cases := []struct {
		name string
		set  func(*v1.PodSpec)
		want string
	}{
		{"hostNetwork", func(s *v1.PodSpec) { s.HostNetwork = true }, "Warning Unsupported hostNetwork is not allowed on this node (start vk-docker with --allow-host-network to allow it)"},
		{"hostPID", func(s *v1.PodSpec) { s.HostPID = true }, "Warning Unsupported hostPID is not allowed on this node (start vk-docker with --allow-host-pid to allow it)"},
		{"hostIPC", func(s *v1.PodSpec) { s.HostIPC = true }, "Warning Unsupported hostIPC is not allowed on this node (start vk-docker with --allow-host-ipc to allow it)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			pod := newPod(appContainer())
			c.set(&pod.Spec)
			w := NewWorker(h.rt, pod, true)
			h.sync(w)
			h.sync(w)
			if got := h.calls(mutations...); len(got) != 0 {
				t.Errorf("the engine was changed: %q", got)
			}
			if got := h.events(); !slices.Equal(got, []string{c.want}) {
				t.Errorf("events = %q, want %q once", got, c.want)
			}
			if s := h.status(); s.Phase != v1.PodPending {
				t.Errorf("phase = %s, want Pending", s.Phase)
			}
		})
	}
}
