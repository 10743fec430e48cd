package translate

import (
	"strings"
	"testing"
)

func TestHostPathAllowList(t *testing.T) {
	cases := []struct {
		allowed []string
		path    string
		refused string
	}{
		{nil, "/srv/data", "it allows no host paths"},
		{[]string{"/srv"}, "/srv", ""},
		{[]string{"/srv"}, "/srv/data/x", ""},
		{[]string{"/srv/"}, "/srv/data", ""},
		{[]string{"/srv"}, "/srvx", "is not under a path this node allows (--allowed-host-paths /srv)"},
		{[]string{"/srv"}, "/srv/../etc", "is not under a path"},
		{[]string{"/tmp", "/srv"}, "/srv/a", ""},
	}
	for _, c := range cases {
		rt := &Node{HostPaths: c.allowed}
		got := rt.hostPathRefused(c.path)
		if (c.refused == "") != (got == "") || !strings.Contains(got, c.refused) {
			t.Errorf("allowed %q, path %q: refused %q, want %q", c.allowed, c.path, got, c.refused)
		}
	}
}

// The kubelet's hostPath type checks, with its messages; *OrCreate and an
// unset type create what is missing.
