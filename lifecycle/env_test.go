package lifecycle

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestContainerEnvReplacesKubernetesServiceVariables(t *testing.T) {
	// What virtual-kubelet's env resolution hands over: the user's variables
	// plus the `kubernetes` Service's, pointing at its ClusterIP.
	resolved := []v1.EnvVar{
		{Name: "TZ", Value: "Asia/Shanghai"},
		{Name: "KUBERNETES_SERVICE_HOST", Value: "10.0.0.1"},
		{Name: "KUBERNETES_SERVICE_PORT", Value: "443"},
		{Name: "KUBERNETES_SERVICE_PORT_HTTPS", Value: "443"},
		{Name: "KUBERNETES_PORT", Value: "tcp://10.0.0.1:443"},
		{Name: "KUBERNETES_PORT_443_TCP", Value: "tcp://10.0.0.1:443"},
		{Name: "KUBERNETES_PORT_443_TCP_PROTO", Value: "tcp"},
		{Name: "KUBERNETES_PORT_443_TCP_PORT", Value: "443"},
		{Name: "KUBERNETES_PORT_443_TCP_ADDR", Value: "10.0.0.1"},
		{Name: "KUBERNETESX", Value: "kept"},
	}
	cases := []struct {
		name string
		rt   Runtime
		want []string
	}{
		{
			name: "no pod API address keeps the resolved variables",
			rt:   Runtime{},
			want: []string{
				"TZ=Asia/Shanghai", "KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443",
				"KUBERNETES_SERVICE_PORT_HTTPS=443", "KUBERNETES_PORT=tcp://10.0.0.1:443",
				"KUBERNETES_PORT_443_TCP=tcp://10.0.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO=tcp",
				"KUBERNETES_PORT_443_TCP_PORT=443", "KUBERNETES_PORT_443_TCP_ADDR=10.0.0.1", "KUBERNETESX=kept",
			},
		},
		{
			name: "pod API address replaces every ClusterIP variable",
			rt:   Runtime{PodAPIHost: "172.17.0.1", PodAPIPort: 6443},
			want: []string{
				"TZ=Asia/Shanghai", "KUBERNETESX=kept",
				"KUBERNETES_SERVICE_HOST=172.17.0.1", "KUBERNETES_SERVICE_PORT=6443",
				"KUBERNETES_SERVICE_PORT_HTTPS=6443", "KUBERNETES_PORT=tcp://172.17.0.1:6443",
				"KUBERNETES_PORT_6443_TCP=tcp://172.17.0.1:6443", "KUBERNETES_PORT_6443_TCP_PROTO=tcp",
				"KUBERNETES_PORT_6443_TCP_PORT=6443", "KUBERNETES_PORT_6443_TCP_ADDR=172.17.0.1",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.rt.containerEnv(resolved); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("containerEnv =\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}
