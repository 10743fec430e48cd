package atomicdir

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var now = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The layout is the kubelet's: ..data points at a timestamped directory,
// user-visible names are symlinks through ..data, modes are exact.
func TestWriteLayoutAndModes(t *testing.T) {
	dir := t.TempDir()
	changed, err := Write(dir, Payload{Files: map[string]File{
		"config.yaml":   {Data: []byte("a: 1\n"), Mode: 0o644},
		"secret/token":  {Data: []byte("s3cr3t"), Mode: 0o400},
		"secret/ca.crt": {Data: []byte("CA"), Mode: 0o600},
	}}, now)
	if err != nil || !changed {
		t.Fatalf("Write = %v, %v; want changed", changed, err)
	}
	ts, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil || !strings.HasPrefix(ts, "..2031_05_06_07_08_09.") {
		t.Fatalf("..data -> %q, %v; want a timestamped directory", ts, err)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "config.yaml")); l != "..data/config.yaml" {
		t.Errorf("config.yaml -> %q, want ..data/config.yaml", l)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "secret")); l != "..data/secret" {
		t.Errorf("secret -> %q, want ..data/secret", l)
	}
	if got := read(t, filepath.Join(dir, "secret/token")); got != "s3cr3t" {
		t.Errorf("secret/token = %q", got)
	}
	for name, mode := range map[string]os.FileMode{"config.yaml": 0o644, "secret/token": 0o400, "secret/ca.crt": 0o600} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s mode = %v (%v), want %v", name, st.Mode().Perm(), err, mode)
		}
	}
}

// With the pod's fsGroup the files belong to that group and are readable
// by it (a 0400 secret becomes 0440), the kubelet's SetVolumeOwnership for a
// read-only volume; writing the same payload again changes nothing.
func TestWriteWithFSGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to one the user is not in needs root")
	}
	dir := t.TempDir()
	gid := int64(2345)
	p := Payload{FSGroup: &gid, Files: map[string]File{
		"token":     {Data: []byte("s3cr3t"), Mode: 0o400},
		"nested/ca": {Data: []byte("CA"), Mode: 0o644},
	}}
	if changed, err := Write(dir, p, now); err != nil || !changed {
		t.Fatalf("Write = %v, %v; want changed", changed, err)
	}
	for name, mode := range map[string]os.FileMode{"token": 0o440, "nested/ca": 0o644, "nested": 0o755 | os.ModeSetgid | os.ModeDir, ".": 0o755 | os.ModeSetgid | os.ModeDir} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != mode || st.Sys().(*syscall.Stat_t).Gid != uint32(gid) {
			t.Errorf("%s: %v group %d, want %v group %d", name, st.Mode(), st.Sys().(*syscall.Stat_t).Gid, mode, gid)
		}
	}
	if changed, err := Write(dir, p, now.Add(time.Minute)); err != nil || changed {
		t.Errorf("second Write = %v, %v; want unchanged", changed, err)
	}
}

// An update swaps ..data to a new directory, removes the old one and names
// no longer in the payload; an identical payload changes nothing.
func TestWriteUpdateSwapsAtomically(t *testing.T) {
	dir := t.TempDir()
	p1 := Payload{Files: map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "b": {Data: []byte("x"), Mode: 0o644}}}
	if _, err := Write(dir, p1, now); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	if changed, err := Write(dir, p1, now.Add(time.Minute)); err != nil || changed {
		t.Fatalf("same payload: changed=%v err=%v, want unchanged", changed, err)
	}
	p2 := Payload{Files: map[string]File{"a": {Data: []byte("2"), Mode: 0o644}}}
	if changed, err := Write(dir, p2, now.Add(time.Minute)); err != nil || !changed {
		t.Fatalf("new payload: changed=%v err=%v", changed, err)
	}
	cur, _ := os.Readlink(filepath.Join(dir, "..data"))
	if cur == old {
		t.Fatal("..data still points at the old directory")
	}
	if _, err := os.Stat(filepath.Join(dir, old)); !os.IsNotExist(err) {
		t.Errorf("old data directory %s still exists (%v)", old, err)
	}
	if got := read(t, filepath.Join(dir, "a")); got != "2" {
		t.Errorf("a = %q, want 2", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "b")); !os.IsNotExist(err) {
		t.Errorf("b still exists after it left the payload (%v)", err)
	}
	// A mode change alone is a change.
	p3 := Payload{Files: map[string]File{"a": {Data: []byte("2"), Mode: 0o600}}}
	if changed, err := Write(dir, p3, now.Add(2*time.Minute)); err != nil || !changed {
		t.Fatalf("mode change: changed=%v err=%v", changed, err)
	}
}

func TestWriteRejectsEscapingPaths(t *testing.T) {
	for _, p := range []string{"/etc/passwd", "../x", "a/../../x", "..data", ""} {
		if _, err := Write(t.TempDir(), Payload{Files: map[string]File{p: {Mode: 0o644}}}, now); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}

func TestSubPath(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(root, "inside")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		sub, want, err string
	}{
		{sub: "new/dir", want: "new/dir"},
		{sub: "inside/x", want: "real/x"},
		{sub: "escape", err: "not within volume path"},
		{sub: "escape/x", err: "not within volume path"},
		{sub: "../x", err: "must not"},
	}
	for _, c := range cases {
		got, err := SubPath(root, c.sub)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("SubPath(%q) = %q, %v; want error %q", c.sub, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("SubPath(%q) = %q, %v; want %q", c.sub, got, err, c.want)
		}
	}
	if st, err := os.Stat(filepath.Join(root, "new/dir")); err != nil || !st.IsDir() {
		t.Errorf("new/dir was not created: %v", err)
	}
}
