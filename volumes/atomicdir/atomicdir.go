// Package atomicdir writes a set of files into a directory the way the
// kubelet's AtomicWriter does for secret, configMap, downwardAPI and projected
// volumes: the files live in a timestamped directory, `..data` is a symlink to
// it, and every user-visible top-level name is a symlink through `..data`. An
// update writes a new timestamped directory and swaps `..data` with one
// rename, so a reader sees either the old set of files or the new one.
//
// It uses only the standard library: it runs inside the pause program, in the
// pod's sandbox, where the volume's tmpfs is mounted.
package atomicdir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/vk-docker/vk-docker/volumes/ownership"
)

// File is one file of a payload: its bytes and permission bits.
type File struct {
	Data []byte `json:"data"`
	Mode int32  `json:"mode"`
}

// Payload maps a relative path (no "..", not absolute) to its file. It is
// what the provider sends to `pause write-volume` as JSON on stdin.
type Payload struct {
	Files map[string]File `json:"files"`
	// FSGroup is the pod's fsGroup: the volume and its files belong to that
	// group and are readable by it, as on a kubelet.
	FSGroup *int64 `json:"fsGroup,omitempty"`
}

const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// Validate rejects paths the kubelet's AtomicWriter rejects.
func (p Payload) Validate() error {
	for name := range p.Files {
		if err := validatePath(name); err != nil {
			return err
		}
	}
	return nil
}

func validatePath(p string) error {
	switch {
	case p == "":
		return errors.New("invalid path: must not be empty")
	case len(p) > 4096:
		return fmt.Errorf("invalid path: must be less than or equal to 4096 characters")
	case path.IsAbs(p):
		return fmt.Errorf("invalid path: must be relative path: %s", p)
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("invalid path: must not contain '..': %s", p)
		}
	}
	return nil
}

// Write makes dir hold exactly payload's files. It reports whether anything
// changed: an identical payload (same bytes and modes) leaves dir untouched.
func Write(dir string, payload Payload, now time.Time) (bool, error) {
	if err := payload.Validate(); err != nil {
		return false, err
	}
	files := cleanPaths(payload.Files)
	for name, f := range files {
		f.Mode = int32(ownership.FileMode(fs.FileMode(f.Mode)&fs.ModePerm, payload.FSGroup, true))
		files[name] = f
	}
	oldTS, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", dataDirName, err)
	}
	if oldTS != "" {
		same, err := sameContent(filepath.Join(dir, oldTS), files)
		if err != nil {
			return false, err
		}
		if same {
			return false, nil
		}
	}
	tsDir, err := os.MkdirTemp(dir, now.UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, fmt.Errorf("create timestamped dir: %w", err)
	}
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return false, fmt.Errorf("chmod %s: %w", tsDir, err)
	}
	for name, f := range files {
		p := filepath.Join(tsDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, fmt.Errorf("create dir of %s: %w", name, err)
		}
		if err := os.WriteFile(p, f.Data, fs.FileMode(f.Mode)&fs.ModePerm); err != nil {
			return false, fmt.Errorf("write %s: %w", name, err)
		}
		// WriteFile's mode is filtered by the umask; the payload's is not.
		if err := os.Chmod(p, fs.FileMode(f.Mode)&fs.ModePerm); err != nil {
			return false, fmt.Errorf("chmod %s: %w", name, err)
		}
	}
	if payload.FSGroup != nil {
		// Before the swap: a reader in the group never sees files it cannot read.
		if err := ownership.Apply(tsDir, *payload.FSGroup, true); err != nil {
			return false, err
		}
	}
	tmpLink := filepath.Join(dir, newDataDirName)
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		return false, fmt.Errorf("create %s: %w", newDataDirName, err)
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		return false, fmt.Errorf("swap %s: %w", dataDirName, err)
	}
	want := topLevel(files)
	for name := range want {
		link := filepath.Join(dir, name)
		target := filepath.Join(dataDirName, name)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		_ = os.RemoveAll(link)
		if err := os.Symlink(target, link); err != nil {
			return false, fmt.Errorf("link %s: %w", name, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") || want[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return false, fmt.Errorf("remove stale %s: %w", e.Name(), err)
		}
	}
	if oldTS != "" && oldTS != filepath.Base(tsDir) {
		if err := os.RemoveAll(filepath.Join(dir, oldTS)); err != nil {
			return false, fmt.Errorf("remove old data %s: %w", oldTS, err)
		}
	}
	if payload.FSGroup != nil {
		// The volume's root and its links.
		if err := ownership.Apply(dir, *payload.FSGroup, true); err != nil {
			return false, err
		}
	}
	return true, nil
}

func cleanPaths(in map[string]File) map[string]File {
	out := make(map[string]File, len(in))
	for name, f := range in {
		out[path.Clean(name)] = f
	}
	return out
}

func topLevel(files map[string]File) map[string]bool {
	out := map[string]bool{}
	for name := range files {
		out[strings.SplitN(name, "/", 2)[0]] = true
	}
	return out
}

// sameContent reports whether dir holds exactly files, with their modes.
func sameContent(dir string, files map[string]File) (bool, error) {
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		found = append(found, rel)
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read current data: %w", err)
	}
	if len(found) != len(files) {
		return false, nil
	}
	for _, rel := range found {
		f, ok := files[rel]
		if !ok {
			return false, nil
		}
		p := filepath.Join(dir, rel)
		st, err := os.Lstat(p)
		if err != nil {
			return false, fmt.Errorf("stat %s: %w", rel, err)
		}
		if st.Mode().Perm() != fs.FileMode(f.Mode)&fs.ModePerm || !st.Mode().IsRegular() {
			return false, nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return false, fmt.Errorf("read %s: %w", rel, err)
		}
		if !bytes.Equal(b, f.Data) {
			return false, nil
		}
	}
	return true, nil
}

// SubPath resolves sub inside root the way the kubelet prepares a subPath:
// every component must stay inside root after following symlinks, missing
// directories are created (mode 0750, as the kubelet's), and the result is
// the resolved path relative to root. The caller bind-mounts that path, so a
// symlink planted in the volume cannot expose anything outside it.
func SubPath(root, sub string) (string, error) {
	if err := validatePath(sub); err != nil {
		return "", fmt.Errorf("subPath %q: %w", sub, err)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("volume root: %w", err)
	}
	cur := realRoot
	parts := strings.Split(path.Clean(sub), "/")
	for i, part := range parts {
		next := filepath.Join(cur, part)
		resolved, err := filepath.EvalSymlinks(next)
		if errors.Is(err, fs.ErrNotExist) {
			if _, lerr := os.Lstat(next); lerr == nil {
				return "", fmt.Errorf("subPath %q: %s is a dangling symlink", sub, strings.Join(parts[:i+1], "/"))
			}
			if err := os.Mkdir(next, 0o750); err != nil {
				return "", fmt.Errorf("subPath %q: %w", sub, err)
			}
			resolved = next
		} else if err != nil {
			return "", fmt.Errorf("subPath %q: %w", sub, err)
		}
		if resolved != realRoot && !strings.HasPrefix(resolved, realRoot+"/") {
			return "", fmt.Errorf("subpath %q not within volume path %q", sub, root)
		}
		cur = resolved
	}
	rel, err := filepath.Rel(realRoot, cur)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}
