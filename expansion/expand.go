// Package expansion expands $(VAR) references with the kubelet's rules, the
// one implementation behind a container's command, args and env values, its
// exec probes and hooks, and its volumeMounts' subPathExpr.
package expansion

import "strings"

// Expand replaces each $(NAME) in s with lookup(NAME) when lookup knows the
// name; an unknown reference stays as written. "$$" is a literal "$" (so
// "$$(A)" is the text "$(A)"), a "$(" with no closing ")" is kept as it is,
// and any other "$" is kept.
func Expand(s string, lookup func(name string) (string, bool)) string {
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
			if end < 0 { // unterminated: not a reference
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
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

// Map is a lookup of the variables in m.
func Map(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}
