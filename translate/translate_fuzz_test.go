package translate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// FuzzPodTranslation feeds arbitrary pods (as JSON, seeded with the
// examples) through everything that turns a pod into Docker configuration:
// whatever the API server might hand over, the node must answer with a
// configuration or an error, never a panic.
//
//	go test ./translate -run XXX -fuzz FuzzPodTranslation -fuzztime 60s
func FuzzPodTranslation(f *testing.F) {
	manifests, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range manifests {
		b, err := os.ReadFile(m)
		if err != nil {
			f.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			f.Fatalf("%s: %v", m, err)
		}
		f.Add(j)
	}
	f.Add([]byte(`{"spec":{"hostNetwork":true,"setHostnameAsFQDN":true,"subdomain":"s","dnsPolicy":"None","dnsConfig":{"options":[{"name":"ndots"}]},
		"containers":[{"name":"a","env":[{"name":"X","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","containerName":"b"}}},
		{"name":"Y","value":"$(X)$$($("}],"command":["$(Y)"]}]}}`))
	rt := envRuntime(f)
	rt.HostNamespaces = HostNamespaces{Network: true, PID: true, IPC: true}
	rt.DNS = DNSSettings{ClusterDNS: []string{"172.17.0.53"}, ClusterDomain: "cluster.local"}
	rt.PauseImage = "pause"
	f.Fuzz(func(t *testing.T, data []byte) {
		var pod v1.Pod
		if json.Unmarshal(data, &pod) != nil {
			return
		}
		cfg, host := rt.SandboxConfig(&pod)
		if _, err := rt.ApplyPodNetworking(&pod, cfg, host); err != nil {
			return
		}
		_ = rt.HostNamespaces.Forbidden(&pod)
		for i, c := range append(append([]v1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
			_ = ContainerHash(&c)
			cfg, host := rt.ContainerConfig(&pod, &c, Slot{Index: i, Init: i < len(pod.Spec.InitContainers)}, i, "sandbox")
			if cfg == nil || host == nil {
				t.Fatalf("container %d: no configuration and no error", i)
			}
			_, _, _, _ = rt.ResolveEnv(EnvContext{Pod: &pod, Container: &c, PodIP: "172.17.0.5", HostIP: "127.0.0.1"})
		}
	})
}
