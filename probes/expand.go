package probes

import (
	"github.com/vk-docker/vk-docker/expansion"
	v1 "k8s.io/api/core/v1"
)

// expandCommand substitutes $(NAME) in each word of cmd with the value of the
// container's env entry NAME, as the kubelet does for exec probes
// (ExpandContainerCommandOnlyStatic in pkg/kubelet/container/helpers.go):
// only the literal values count (an entry set through valueFrom expands to
// its empty value); the rest are expansion.Expand's rules.
func expandCommand(cmd []string, env []v1.EnvVar) []string {
	if len(cmd) == 0 {
		return nil
	}
	vars := make(map[string]string, len(env))
	for _, e := range env {
		vars[e.Name] = e.Value
	}
	out := make([]string, len(cmd))
	for i, word := range cmd {
		out[i] = expansion.Expand(word, expansion.Map(vars))
	}
	return out
}
