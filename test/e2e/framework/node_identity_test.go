package framework

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestANodeTheAPIServerRefusedFails(t *testing.T) {
	for _, tc := range []struct {
		name, earlier, log string
		fails              bool
	}{
		{name: "a clean log", log: "level=info msg=\"Node ready\"\n"},
		{name: "the node's own word about a pod", log: "level=warning msg=\"forbidden sysctl: \\\"kernel.msgmax\\\" not allowlisted\"\n"},
		{name: "an API refusal", log: "E1207 reflector.go:200] failed to list *v1.Secret: secrets is forbidden: User \"system:node:n\" cannot list resource \"secrets\"\n", fails: true},
		{name: "a refusal of an earlier run of the same name", earlier: "secrets \"x\" is forbidden: no\n", log: "level=info msg=ok\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "n.log")
			if err := os.WriteFile(path, []byte(tc.earlier+tc.log), 0o644); err != nil {
				t.Fatal(err)
			}
			n := &Node{Name: "n", LogPath: path, logStart: int64(len(tc.earlier))}
			err := n.refusals()
			if tc.fails != (err != nil) || (err != nil && !strings.Contains(err.Error(), "is forbidden")) {
				t.Errorf("refusals() = %v, want failure %v", err, tc.fails)
			}
		})
	}
}
