package ownership

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to one the user is not in needs root")
	}
}

// modeAndGroup is what `stat -c '%a %g'` shows, as a Go mode and a gid.
func modeAndGroup(t *testing.T, p string) (fs.FileMode, int) {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode() &^ fs.ModeType, int(st.Sys().(*syscall.Stat_t).Gid)
}

func TestEmptyDirModes(t *testing.T) {
	needRoot(t)
	gid := int64(2345)
	cases := []struct {
		name      string
		start     fs.FileMode // the volume root as the engine made it
		fsGroup   *int64
		wantMode  fs.FileMode
		wantGroup int
	}{
		{"a disk volume becomes writable by all", 0o755, nil, 0o777, 0},
		{"a tmpfs keeps its sticky bit", 0o777 | fs.ModeSticky, nil, 0o777 | fs.ModeSticky, 0},
		{"fsGroup owns the root, setgid", 0o755, &gid, 0o777 | fs.ModeSetgid, 2345},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vol")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.start); err != nil {
				t.Fatal(err)
			}
			if err := EmptyDir(dir, tc.fsGroup); err != nil {
				t.Fatal(err)
			}
			if mode, group := modeAndGroup(t, dir); mode != tc.wantMode || group != tc.wantGroup {
				t.Errorf("root: %v group %d, want %v group %d", mode, group, tc.wantMode, tc.wantGroup)
			}
		})
	}
}

// Apply walks the whole volume: what a recreated sandbox finds in a disk
// emptyDir joins the group too; read-only volumes get read bits only.
func TestApplyWalksTheVolume(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name              string
		readOnly          bool
		wantFile, wantDir fs.FileMode
	}{
		{"writable", false, 0o660, 0o770 | fs.ModeSetgid},
		{"read-only", true, 0o440, 0o550 | fs.ModeSetgid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sub := filepath.Join(dir, "sub")
			file := filepath.Join(sub, "f")
			link := filepath.Join(dir, "link")
			if err := os.Mkdir(sub, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(sub, 0); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(file, 0); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("sub/f", link); err != nil {
				t.Fatal(err)
			}
			if err := Apply(dir, 2345, tc.readOnly); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				path string
				want fs.FileMode
			}{{sub, tc.wantDir}, {file, tc.wantFile}} {
				if mode, group := modeAndGroup(t, c.path); mode != c.want || group != 2345 {
					t.Errorf("%s: %v group %d, want %v group 2345", filepath.Base(c.path), mode, group, c.want)
				}
			}
			if _, group := modeAndGroup(t, link); group != 2345 {
				t.Errorf("symlink group %d, want 2345", group)
			}
		})
	}
}
