package lifecycle

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestHostPathTypeChecks(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cases := []struct {
		path string
		typ  v1.HostPathType
		err  string
	}{
		{dir, v1.HostPathDirectory, ""},
		{file, v1.HostPathDirectory, "hostPath type check failed: " + file + " is not a directory"},
		{filepath.Join(dir, "none"), v1.HostPathDirectory, "is not a directory"},
		{filepath.Join(dir, "made/deep"), v1.HostPathDirectoryOrCreate, ""},
		{file, v1.HostPathDirectoryOrCreate, "is not a directory"},
		{file, v1.HostPathFile, ""},
		{dir, v1.HostPathFile, "hostPath type check failed: " + dir + " is not a file"},
		{filepath.Join(dir, "new-file"), v1.HostPathFileOrCreate, ""},
		{sock, v1.HostPathSocket, ""},
		{file, v1.HostPathSocket, "is not a socket file"},
		{"/dev/null", v1.HostPathCharDev, ""},
		{file, v1.HostPathBlockDev, "is not a block device"},
		{filepath.Join(dir, "unset"), v1.HostPathUnset, ""},
		{dir, "Bogus", "Bogus is an invalid volume type"},
	}
	for _, c := range cases {
		err := checkHostPath(&v1.HostPathVolumeSource{Path: c.path, Type: ptr.To(c.typ)})
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s as %q: %v, want %q", c.path, c.typ, err, c.err)
		}
	}
	for _, made := range []string{"made/deep", "unset"} {
		if st, err := os.Stat(filepath.Join(dir, made)); err != nil || !st.IsDir() {
			t.Errorf("%s was not created as a directory: %v", made, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "new-file")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("new-file was not created: %v", err)
	}
}
