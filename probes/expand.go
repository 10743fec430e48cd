package probes

import (
	"strings"

	v1 "k8s.io/api/core/v1"
)

// expandCommand substitutes $(NAME) in each word of cmd with the value of the
// container's env entry NAME, as the kubelet does for exec probes
// (ExpandContainerCommandOnlyStatic in pkg/kubelet/container/helpers.go):
// only the literal values count (an entry set through valueFrom expands to
// its empty value), a reference to an undefined name stays as written, "$$"
// is a literal "$", and any other "$" is kept.
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
		out[i] = expandWord(word, vars)
	}
	return out
}

func expandWord(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$': // escaped
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 { // unterminated: kept as is
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
