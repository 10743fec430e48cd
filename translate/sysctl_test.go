package translate

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// --allowed-unsafe-sysctls refuses what the kubelet refuses.
func TestSysctlAllowlistFlagValidation(t *testing.T) {
	for _, bad := range []string{"kernel.panic", "vm.*", "Net.Core", "net..x"} {
		if _, err := NewSysctlAllowlist([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"net.*", "kernel.shm*", "fs.mqueue.msg_max", "net/core/somaxconn"} {
		if _, err := NewSysctlAllowlist([]string{good}); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
	if msg := defaultSysctlAllowlist.ForbiddenSysctl(&v1.Pod{Spec: v1.PodSpec{HostUsers: ptr.To(false),
		SecurityContext: &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "user.max_user_namespaces", Value: "1"}}}}}); msg == "" {
		t.Error("an unsafe user.* sysctl was admitted by the safe set")
	}
}
