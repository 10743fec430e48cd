package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The hosts file replaces the file in place (it is a bind-mount target), or
// wraps the host's file once with hostNetwork.
func TestWriteHostsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(path, []byte("127.0.0.1\tlocalhost\n10.0.0.1\tnode\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	wrap := hostsFile{Head: "# head\n", KeepCurrent: true, Tail: "\n# tail\n"}
	for range 2 {
		if err := writeHostsFile(path, wrap); err != nil {
			t.Fatal(err)
		}
	}
	want := "# head\n127.0.0.1\tlocalhost\n10.0.0.1\tnode\n\n# tail\n"
	if got, _ := os.ReadFile(path); string(got) != want {
		t.Errorf("wrapped twice: %q, want the host's file wrapped once %q", got, want)
	}
	if err := writeHostsFile(path, hostsFile{Head: "# all\n1.2.3.4\tx\n"}); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "# all\n1.2.3.4\tx\n" {
		t.Errorf("replaced: %q", got)
	}
	if !os.SameFile(before, after) || after.Mode().Perm() != 0o644 {
		t.Errorf("same file %v, mode %v: want the same inode, 0644", os.SameFile(before, after), after.Mode().Perm())
	}
}
