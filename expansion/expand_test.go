package expansion

import "testing"

// The kubelet's rules (third_party/forked/golang/expansion): a defined
// variable is replaced, an unknown one kept as written, "$$" escapes a
// dollar, and an unterminated "$(" is plain text.
func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "x", "EMPTY": ""}
	for _, tc := range []struct{ name, in, want string }{
		{"defined", "$(A)", "x"},
		{"defined twice in text", "pre$(A)$(A)x", "prexxx"},
		{"defined empty", "$(EMPTY)-", "-"},
		{"escaped reference", "$$(A)", "$(A)"},
		{"escape then reference", "$$$(A)", "$x"},
		{"unknown kept", "$(B)", "$(B)"},
		{"empty name kept", "$()", "$()"},
		{"dollar without paren", "a$b", "a$b"},
		{"lone dollar", "$", "$"},
		{"trailing dollar", "cost: 5$", "cost: 5$"},
		{"unterminated", "$(A", "$(A"},
		{"unterminated then escape", "$(A$$", "$(A$"},
		{"multibyte text", "é$(A)é", "éxé"},
		{"dollar before multibyte", "$é", "$é"},
		{"no reference", "plain", "plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Expand(tc.in, Map(vars)); got != tc.want {
				t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
