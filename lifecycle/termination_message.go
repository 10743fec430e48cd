package lifecycle

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
)

// The kubelet's limits on termination messages, from
// k8s.io/kubernetes/pkg/kubelet/container/runtime.go (v1.37).
const (
	// maxTerminationMessageLength caps what a container's termination message
	// file yields (MaxContainerTerminationMessageLength); the kubelet keeps
	// the file's last bytes (pkg/util/tail.ReadAtMost).
	maxTerminationMessageLength = 4 * 1024
	// maxTerminationMessageLogLength caps a message taken from the log
	// (MaxContainerTerminationMessageLogLength); the kubelet keeps the last
	// bytes, through a ring buffer.
	maxTerminationMessageLogLength = 2 * 1024
	// maxTerminationMessageLogLines is how many of the last log lines the
	// kubelet reads for a message (MaxContainerTerminationMessageLogLines).
	maxTerminationMessageLogLines = 80
)

// terminationMessageTimeout bounds all the engine calls of one
// terminationMessage: its streams have no timeout of their own.
const terminationMessageTimeout = 30 * time.Second

// maxTerminationMessageSymlinks bounds the symbolic links followed from the
// termination message path.
const maxTerminationMessageSymlinks = 8

// terminationMessage returns the kubelet's state.terminated.message for an
// exited container, as kuberuntime's convertToKubeContainerStatus builds it:
//
//   - the content of the file at path inside the container (path "" means
//     v1.TerminationMessagePathDefault, /dev/termination-log), at most its
//     last 4096 bytes. The file is read from the stopped container with
//     CopyFromContainer; symbolic links are followed (the kubelet's bind
//     mount would land on their target). A missing path, or one that is not a
//     regular file, gives no message and no error: that is the common case,
//     costs one engine call, and is also what a removed container looks like.
//   - when that gives nothing (missing or empty file), policy is
//     FallbackToLogsOnError and exitCode is not 0: the end of the container's
//     log, stdout and stderr interleaved as written, read with Tail=80 lines
//     and cut to its last 2048 bytes. Whether the log stream is multiplexed
//     (no TTY) or raw (TTY) is detected from its first frame header, so the
//     caller need not know. The kubelet also skips the log for a container
//     that could not even start (reason ContainerCannotRun): the caller passes
//     exitCode 0 (or policy File) for such a container.
//
// Like the kubelet, neither limit cares for UTF-8: a cut may split a
// character. Errors are the engine's, wrapped with what was being read (the
// engine's classification survives errors.Is/cerrdefs), or ctx's; the whole
// call is bounded by 30 s. Where the kubelet would put "Error on reading
// termination log ..." in the message itself, this returns the error and
// leaves the choice to the caller.
//
// An exited container's files and log no longer change, so the result for one
// container ID can be kept. Note that the engine mounts a fresh tmpfs on /dev,
// gone when the container exits: a message written to the default path is
// only found if something (a bind-mounted file) is mounted there.
func terminationMessage(ctx context.Context, d dockerhost.Client, containerID string, exitCode int, path string, policy v1.TerminationMessagePolicy) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, terminationMessageTimeout)
	defer cancel()
	if path == "" {
		path = v1.TerminationMessagePathDefault
	}
	msg, err := readTerminationMessageFile(ctx, d, containerID, path)
	if err != nil || msg != "" {
		return msg, err
	}
	if policy != v1.TerminationMessageFallbackToLogsOnError || exitCode == 0 {
		return "", nil
	}
	return readTerminationMessageLog(ctx, d, containerID)
}

// readTerminationMessageFile returns the last maxTerminationMessageLength
// bytes of the regular file at p in the container, "" when there is none.
func readTerminationMessageFile(ctx context.Context, d dockerhost.Client, containerID, p string) (string, error) {
	for range maxTerminationMessageSymlinks + 1 {
		hdr, content, err := copyFirstEntry(ctx, d, containerID, p, maxTerminationMessageLength)
		switch {
		case cerrdefs.IsNotFound(err):
			return "", nil
		case err != nil:
			return "", fmt.Errorf("read termination message %s of container %s: %w", p, containerID, err)
		case hdr == nil:
			return "", nil
		case hdr.Typeflag == tar.TypeSymlink:
			if path.IsAbs(hdr.Linkname) {
				p = hdr.Linkname
			} else {
				p = path.Join(path.Dir(p), hdr.Linkname)
			}
			continue
		}
		return content, nil
	}
	return "", nil // a symlink loop: no file to read
}

// copyFirstEntry copies p out of the container and returns the tar stream's
// first entry, which is p itself, with the last limit bytes of its content
// when it is a regular file. An empty stream gives a nil header.
func copyFirstEntry(ctx context.Context, d dockerhost.Client, containerID, p string, limit int) (*tar.Header, string, error) {
	rc, err := d.CopyFromContainer(ctx, containerID, p)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader: // metadata, not an entry
			continue
		case tar.TypeReg: // the reader turns old archives' TypeRegA into it
			tail := newTailBuffer(limit)
			if _, err := io.Copy(tail, tr); err != nil {
				return nil, "", err
			}
			return hdr, tail.String(), nil
		default:
			return hdr, "", nil
		}
	}
}

// readTerminationMessageLog returns the last maxTerminationMessageLogLength
// bytes of the container's last maxTerminationMessageLogLines log lines.
func readTerminationMessageLog(ctx context.Context, d dockerhost.Client, containerID string) (string, error) {
	rc, err := d.ContainerLogs(ctx, containerID, container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Tail:       strconv.Itoa(maxTerminationMessageLogLines),
	})
	if err != nil {
		return "", fmt.Errorf("read termination message from the log of container %s: %w", containerID, err)
	}
	defer rc.Close()
	tail := newTailBuffer(maxTerminationMessageLogLength)
	if err := copyLog(tail, rc); err != nil {
		return "", fmt.Errorf("read termination message from the log of container %s: %w", containerID, err)
	}
	return tail.String(), nil
}

// copyLog copies a log stream to w, stdout and stderr together in the order
// they were written. A stream that starts with a stdcopy frame header (a
// stream byte 0-3, three zero bytes) is multiplexed: the engine sends that
// for a container without TTY, and a TTY's raw text does not start so.
func copyLog(w io.Writer, r io.Reader) error {
	br := bufio.NewReader(r)
	head, _ := br.Peek(8) // a shorter stream is raw (or empty)
	if len(head) == 8 && head[0] <= byte(stdcopy.Systemerr) && head[1] == 0 && head[2] == 0 && head[3] == 0 {
		_, err := stdcopy.StdCopy(w, w, br)
		return err
	}
	_, err := io.Copy(w, br)
	return err
}

// tailBuffer is a writer that keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func newTailBuffer(limit int) *tailBuffer { return &tailBuffer{max: limit} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
