package dockerfake

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// What a container leaves to read: its log and its files, which outlive its
// exit as the engine's do.

func (f *Client) ContainerLogs(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error) {
	if err := f.call("ContainerLogs", id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !options.ShowStdout && !options.ShowStderr {
		return nil, fmt.Errorf("you must choose at least one stream: %w", cerrdefs.ErrInvalidArgument)
	}
	c := f.lookupLocked(id)
	if c == nil {
		return nil, notFound("container", id)
	}
	if raw, ok := f.logs[c.id]; ok {
		return io.NopCloser(bytes.NewReader(slices.Clone(raw))), nil
	}
	var lines []fakeLogLine
	for _, l := range f.logLines[c.id] {
		if (l.stderr && options.ShowStderr) || (!l.stderr && options.ShowStdout) {
			lines = append(lines, l)
		}
	}
	// The engine reads "all", "" and anything not a number as all lines.
	if n, err := strconv.Atoi(options.Tail); err == nil && n >= 0 && n < len(lines) {
		lines = lines[len(lines)-n:]
	}
	var buf bytes.Buffer
	stdout, stderr := io.Writer(&buf), io.Writer(&buf)
	if !c.config.Tty {
		stdout, stderr = stdcopy.NewStdWriter(&buf, stdcopy.Stdout), stdcopy.NewStdWriter(&buf, stdcopy.Stderr)
	}
	for _, l := range lines {
		w := stdout
		if l.stderr {
			w = stderr
		}
		_, _ = io.WriteString(w, l.text)
	}
	return io.NopCloser(&buf), nil
}

// CopyFromContainer returns the file, symlink or directory (the files below
// it) at path in a tar stream, as the engine does: the first entry is named
// by path's base name. A missing container or path is NotFound.
func (f *Client) CopyFromContainer(ctx context.Context, id, p string) (io.ReadCloser, error) {
	if err := f.call("CopyFromContainer", id, p); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(id)
	if c == nil {
		return nil, notFound("container", id)
	}
	clean := containerPath(p)
	base := path.Base(clean)
	if clean == "/" {
		base = "."
	}
	files := f.files[c.id]
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if file, ok := files[clean]; ok {
		if err := writeTarEntry(tw, base, file); err != nil {
			return nil, err
		}
	} else {
		prefix := strings.TrimSuffix(clean, "/") + "/"
		var below []string
		for fp := range files {
			if strings.HasPrefix(fp, prefix) {
				below = append(below, fp)
			}
		}
		if len(below) == 0 {
			return nil, fmt.Errorf("Could not find the file %s in container %s: %w", p, id, cerrdefs.ErrNotFound)
		}
		sort.Strings(below)
		dirs := map[string]bool{}
		for _, fp := range below {
			rel := base + "/" + strings.TrimPrefix(fp, prefix)
			// The directory itself, then each directory on the way down.
			for i := range len(rel) {
				if rel[i] == '/' && !dirs[rel[:i+1]] {
					dirs[rel[:i+1]] = true
					hdr := &tar.Header{Typeflag: tar.TypeDir, Name: rel[:i+1], Mode: 0o755, ModTime: files[fp].modTime}
					if err := tw.WriteHeader(hdr); err != nil {
						return nil, err
					}
				}
			}
			if err := writeTarEntry(tw, rel, files[fp]); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return io.NopCloser(&buf), nil
}

func writeTarEntry(tw *tar.Writer, name string, file fakeFile) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(file.content)), ModTime: file.modTime}
	if file.link != "" {
		hdr = &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: file.link, Mode: 0o777, ModTime: file.modTime}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(file.content)
	return err
}

// containerPath makes p absolute and clean: the engine reads paths inside a
// container from its root.
func containerPath(p string) string { return path.Clean("/" + p) }
