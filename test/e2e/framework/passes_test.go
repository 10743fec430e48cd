package framework

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The e2e suite runs in three passes chosen by build tags (see the
// Makefile's test target). A file without its //go:build line would run in
// all three, so every test file of test/e2e must name its passes; only the
// suite's set-up is shared by all.
func TestEveryE2EFileNamesItsPasses(t *testing.T) {
	passes := map[string]string{
		"//go:build !e2e_timing && !e2e_sandbox_probes": "functional",
		"//go:build e2e_timing":                         "timing",
		"//go:build e2e_timing || e2e_sandbox_probes":   "timing and sandbox probes",
	}
	shared := map[string]bool{"main_test.go": true}
	files, err := filepath.Glob(filepath.Join("..", "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no e2e test files next to the framework (%v)", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		_, known := passes[first]
		switch base := filepath.Base(f); {
		case shared[base] && strings.HasPrefix(first, "//go:build"):
			t.Errorf("%s is the suite's set-up, shared by every pass; it must not have a build constraint (%q)", base, first)
		case !shared[base] && !known:
			t.Errorf("%s starts with %q; want one of the passes' build lines %q", base, first, keysOf(passes))
		}
	}
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
