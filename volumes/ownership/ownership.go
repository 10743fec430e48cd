// Package ownership gives pod volumes the kubelet's modes and fsGroup
// ownership (pkg/volume's SetVolumeOwnership and the emptyDir plugin's
// setupDir). Like atomicdir it uses only the standard library: it runs
// inside the pause program, in the pod's sandbox, where the volumes are
// mounted.
package ownership

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	// emptyDirPerm is the mode of an emptyDir's root: anyone may write.
	emptyDirPerm = 0o777
	rwMask       = 0o660 // what the fsGroup may do in a writable volume
	roMask       = 0o440 // ... and in a read-only one (API data)
	execMask     = 0o110 // directories stay searchable by owner and group
)

// EmptyDir gives an emptyDir's root the mode 0777 unless its permission
// bits already are (a tmpfs keeps its sticky bit, as on a kubelet) and,
// with an fsGroup, hands the whole volume to that group.
func EmptyDir(dir string, fsGroup *int64) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("emptyDir %s: %w", dir, err)
	}
	if st.Mode().Perm() != emptyDirPerm {
		if err := os.Chmod(dir, emptyDirPerm); err != nil {
			return fmt.Errorf("chmod emptyDir %s: %w", dir, err)
		}
	}
	if fsGroup == nil {
		return nil
	}
	return Apply(dir, *fsGroup, false)
}

// Apply makes every file and directory below dir (dir included) belong to
// group gid, readable (and, unless readOnly, writable) by it, with
// directories searchable and setgid so that new files inherit the group.
// Symlinks change group only.
func Apply(dir string, gid int64, readOnly bool) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, int(gid)); err != nil {
			return fmt.Errorf("chown %s: %w", p, err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mask := fs.FileMode(rwMask)
		if readOnly {
			mask = roMask
		}
		if d.IsDir() {
			mask |= fs.ModeSetgid | execMask
		}
		if want := info.Mode() | mask; want != info.Mode() {
			if err := os.Chmod(p, want); err != nil {
				return fmt.Errorf("chmod %s: %w", p, err)
			}
		}
		return nil
	})
}

// FileMode is the mode Apply leaves on a file written with mode.
func FileMode(mode fs.FileMode, fsGroup *int64, readOnly bool) fs.FileMode {
	if fsGroup == nil {
		return mode
	}
	if readOnly {
		return mode | roMask
	}
	return mode | rwMask
}
