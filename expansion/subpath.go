package expansion

import (
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// SubPath expands a volumeMount's subPathExpr with the container's resolved
// environment. Unlike a command, a reference to a variable that is unset or
// empty is an error, as on the kubelet (ExpandContainerVolumeMounts).
func SubPath(expr string, env []v1.EnvVar) (string, error) {
	vals := make(map[string]string, len(env))
	for _, e := range env {
		vals[e.Name] = e.Value
	}
	var missing []string
	out := Expand(expr, func(name string) (string, bool) {
		if vals[name] == "" {
			missing = append(missing, name)
		}
		return vals[name], true
	})
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("missing value for %s", strings.Join(slices.Compact(missing), ", "))
	}
	return out, nil
}
