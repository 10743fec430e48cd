package lifecycle

import (
	"net"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// containerEnv renders a container's resolved environment for Docker. When
// the node is configured with an API address reachable from pods, the
// variables that describe the `kubernetes` Service (which virtual-kubelet
// derives from its ClusterIP, an address nothing here routes) are replaced by
// ones that describe that address, as if the Service listened on it.
func (rt *Runtime) containerEnv(env []v1.EnvVar) []string {
	out := make([]string, 0, len(env)+8)
	for _, e := range env {
		if rt.PodAPIHost != "" && isAPIServiceVar(e.Name) {
			continue
		}
		out = append(out, e.Name+"="+e.Value)
	}
	if rt.PodAPIHost == "" {
		return out
	}
	host, port := rt.PodAPIHost, strconv.Itoa(rt.PodAPIPort)
	url := "tcp://" + net.JoinHostPort(host, port)
	prefix := "KUBERNETES_PORT_" + port + "_TCP"
	return append(out,
		"KUBERNETES_SERVICE_HOST="+host,
		"KUBERNETES_SERVICE_PORT="+port,
		"KUBERNETES_SERVICE_PORT_HTTPS="+port,
		"KUBERNETES_PORT="+url,
		prefix+"="+url,
		prefix+"_PROTO=tcp",
		prefix+"_PORT="+port,
		prefix+"_ADDR="+host,
	)
}

func isAPIServiceVar(name string) bool {
	return name == "KUBERNETES_SERVICE_HOST" || name == "KUBERNETES_SERVICE_PORT" ||
		strings.HasPrefix(name, "KUBERNETES_SERVICE_PORT_") ||
		name == "KUBERNETES_PORT" || strings.HasPrefix(name, "KUBERNETES_PORT_")
}
