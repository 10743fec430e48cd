package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	v1 "k8s.io/api/core/v1"
)

// checkHostPath is the kubelet's hostPath type check, creating what the
// *OrCreate types ask for. A path without a type that does not exist is
// created as a directory, as container runtimes do for bind mounts.
//
// It looks at this machine's filesystem: hostPath volumes need the engine
// on this machine (a remote engine's host paths cannot be checked here).
func checkHostPath(hp *v1.HostPathVolumeSource) error {
	t := v1.HostPathUnset
	if hp.Type != nil {
		t = *hp.Type
	}
	st, err := os.Stat(hp.Path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hostPath type check failed, %s is not a %s, unable to determine its type: %w", hp.Path, t, err)
	}
	switch t {
	case v1.HostPathUnset:
		if !exists {
			return os.MkdirAll(hp.Path, 0o755)
		}
		return nil
	case v1.HostPathDirectoryOrCreate:
		if !exists {
			return os.MkdirAll(hp.Path, 0o755)
		}
		return typeMatched(hp.Path, st.IsDir(), "directory")
	case v1.HostPathDirectory:
		return typeMatched(hp.Path, exists && st.IsDir(), "directory")
	case v1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(hp.Path, os.O_CREATE, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		return typeMatched(hp.Path, st.Mode().IsRegular(), "file")
	case v1.HostPathFile:
		return typeMatched(hp.Path, exists && st.Mode().IsRegular(), "file")
	case v1.HostPathSocket:
		return typeMatched(hp.Path, exists && st.Mode()&fs.ModeSocket != 0, "socket file")
	case v1.HostPathCharDev:
		return typeMatched(hp.Path, exists && st.Mode()&fs.ModeCharDevice != 0, "character device")
	case v1.HostPathBlockDev:
		return typeMatched(hp.Path, exists && st.Mode()&fs.ModeDevice != 0 && st.Mode()&fs.ModeCharDevice == 0, "block device")
	}
	return fmt.Errorf("%s is an invalid volume type", t)
}

func typeMatched(p string, ok bool, expected string) error {
	if ok {
		return nil
	}
	return fmt.Errorf("hostPath type check failed: %s is not a %s", p, expected)
}
