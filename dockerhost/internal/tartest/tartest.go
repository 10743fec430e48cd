// Package tartest reads the tar streams of CopyFromContainer in the tests of
// the real engine and of its fake, so both are held to the same reading.
package tartest

import (
	"archive/tar"
	"fmt"
	"io"
	"testing"
)

// Entries reads a tar stream into "name" (directories end with "/"),
// "name=content" (regular files) or "name->target" (symlinks), and closes it.
func Entries(t *testing.T, rc io.ReadCloser) []string {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("tar entry %s: %v", hdr.Name, err)
			}
			out = append(out, hdr.Name+"="+string(b))
		case tar.TypeSymlink:
			out = append(out, hdr.Name+"->"+hdr.Linkname)
		case tar.TypeDir:
			out = append(out, hdr.Name)
		default:
			out = append(out, fmt.Sprintf("%s (type %c)", hdr.Name, hdr.Typeflag))
		}
	}
}
