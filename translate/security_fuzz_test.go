package translate

import (
	"encoding/json"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// Whatever a pod holds, translating its resources, ports and security
// settings into Docker terms and admitting it never panics.
func FuzzSecurityTranslation(f *testing.F) {
	f.Add([]byte(`{"spec":{"securityContext":{"runAsUser":1000,"runAsGroup":3000,"fsGroup":2000,"supplementalGroups":[4000],
		"sysctls":[{"name":"net/ipv4/tcp_syncookies","value":"1"},{"name":"kernel.msgmax","value":"1"}],
		"seccompProfile":{"type":"Localhost","localhostProfile":"../x.json"},"appArmorProfile":{"type":"RuntimeDefault"}},
		"containers":[{"name":"a","image":"i","ports":[{"containerPort":80,"hostPort":8080,"protocol":"UDP","hostIP":"127.0.0.1"}],
		"resources":{"limits":{"cpu":"200m","memory":"100Mi"},"requests":{"cpu":"1m"}},
		"securityContext":{"privileged":true,"runAsNonRoot":true,"capabilities":{"add":["ALL"],"drop":["NET_RAW"]},"procMount":"Unmasked",
		"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"seLinuxOptions":{"level":"s0"}}}]}}`))
	f.Add([]byte(`{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"1e9","memory":"-1"}}}],"initContainers":[{"name":"i","ports":[{"containerPort":-1,"hostPort":70000}]}]}}`))
	allow, err := NewSysctlAllowlist([]string{"kernel.msg*", "net.*"})
	if err != nil {
		f.Fatal(err)
	}
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		var pod v1.Pod
		if json.Unmarshal(b, &pod) != nil {
			return
		}
		rt := &Node{NodeName: "n", PauseImage: "p", Security: SecurityPolicy{Sysctls: allow, SeccompProfileRoot: root}}
		rt.SandboxConfig(&pod)
		for i := range pod.Spec.InitContainers {
			fuzzContainerSecurity(rt, &pod, &pod.Spec.InitContainers[i], Slot{Index: i, Init: true})
		}
		for i := range pod.Spec.Containers {
			fuzzContainerSecurity(rt, &pod, &pod.Spec.Containers[i], Slot{Index: i})
		}
		_ = allow.ForbiddenSysctl(&pod)
		_ = defaultSysctlAllowlist.ForbiddenSysctl(&pod)
	})
}

func fuzzContainerSecurity(rt *Node, pod *v1.Pod, c *v1.Container, s Slot) {
	rt.ContainerConfig(pod, c, s, 0, "sandbox")
	sc := EffectiveSecurity(pod, c)
	for _, user := range []string{"", "0", "1000:1000", "nobody", ":5", "99999999999999999999"} {
		_ = verifyRunAsNonRoot(pod, c, sc, user)
		_ = dockerUser(sc, user)
	}
	_, _ = rt.Security.seccompOpt(sc.SeccompProfile)
}
