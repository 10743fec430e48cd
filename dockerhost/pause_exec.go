package dockerhost

// The pause program's volume commands, run with `docker exec` in a running
// sandbox: they act inside the sandbox's mounts, where the engine's own copy
// API cannot reach (tmpfs volumes, subPaths through symlinks).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/vk-docker/vk-docker/volumes/atomicdir"
)

// WriteVolumeFiles makes dir, a volume mounted in the running sandbox
// sandboxID, hold exactly payload's files, by running the pause program's
// write-volume command there with the payload on its stdin: the bytes go
// into the volume's tmpfs (the engine's copy API would write beneath it) and
// appear in no command line, log or inspect output. It reports whether the
// files changed.
func WriteVolumeFiles(ctx context.Context, c Client, sandboxID, dir string, payload atomicdir.Payload) (bool, error) {
	in, err := json.Marshal(payload)
	if err != nil {
		return false, fmt.Errorf("encode volume payload: %w", err)
	}
	out, err := execPause(ctx, c, sandboxID, in, "write-volume", dir)
	if err != nil {
		return false, err
	}
	return out == "changed", nil
}

// HostsFile is the content the pause program's setup command gives
// the sandbox's /etc/hosts, which every container joining the sandbox's
// network shares (the engine points their /etc/hosts at the sandbox's file).
// It is sent as JSON on the command's stdin.
type HostsFile struct {
	// Head is written first.
	Head string `json:"head"`
	// KeepCurrent keeps the file's current content between Head and Tail:
	// with the host's network that is the engine machine's /etc/hosts, which
	// the engine copied into the sandbox. A file already starting with Head
	// was written before and is left as it is.
	KeepCurrent bool `json:"keepCurrent,omitempty"`
	// Tail is written last.
	Tail string `json:"tail,omitempty"`
}

// SandboxSetup is what the pause program's setup command does, in one
// exec, in a sandbox that just started: everything the pod's containers need
// from inside it before they start.
type SandboxSetup struct {
	// Hosts, when set, becomes the sandbox's /etc/hosts, written from
	// inside it, where the file is the engine's per-sandbox copy: the engine
	// API cannot replace a bind-mounted file, and the write works with an
	// engine on another machine too.
	Hosts *HostsFile
	// EmptyDirs are the roots of emptyDir volumes mounted in the sandbox:
	// they get the kubelet's mode and, with FSGroup, that group.
	EmptyDirs []string
	FSGroup   *int64
	// Volumes are API-data volumes mounted in the sandbox, by directory,
	// and the files each is to hold (see WriteVolumeFiles).
	Volumes []VolumeFiles
}

// VolumeFiles are the files of the API-data volume mounted at Dir.
type VolumeFiles struct {
	Dir     string
	Payload atomicdir.Payload
}

// SetUpSandbox carries out s in the running sandbox sandboxID with one exec
// (each costs the engine about as much as a small container start). The
// hosts file and the emptyDirs must succeed; a volume that cannot be written
// fails alone, as a failed mount does on a kubelet: the returned map holds
// the error of each volume directory that was not written.
func SetUpSandbox(ctx context.Context, c Client, sandboxID string, s SandboxSetup) (map[string]error, error) {
	var args []string
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	if s.Hosts != nil {
		args = append(args, "--hosts")
		if err := enc.Encode(s.Hosts); err != nil {
			return nil, fmt.Errorf("encode hosts file: %w", err)
		}
	}
	if s.FSGroup != nil && len(s.EmptyDirs) > 0 {
		args = append(args, "--fs-group", strconv.FormatInt(*s.FSGroup, 10))
	}
	for _, dir := range s.EmptyDirs {
		args = append(args, "--emptydir", dir)
	}
	for _, v := range s.Volumes {
		args = append(args, "--volume", v.Dir)
		if err := enc.Encode(v.Payload); err != nil {
			return nil, fmt.Errorf("encode the payload of %s: %w", v.Dir, err)
		}
	}
	if len(args) == 0 {
		return nil, nil
	}
	out, err := execPause(ctx, c, sandboxID, in.Bytes(), append([]string{"setup"}, args...)...)
	if err != nil {
		return nil, err
	}
	// It prints only the volumes it could not write.
	var msgs map[string]string
	if out != "" {
		if err := json.Unmarshal([]byte(out), &msgs); err != nil {
			return nil, fmt.Errorf("setup in sandbox %.12s: read its output %q: %w", sandboxID, out, err)
		}
	}
	failed := map[string]error{}
	for dir, msg := range msgs {
		failed[dir] = errors.New(msg)
	}
	return failed, nil
}

// ResolveSubPath resolves a volumeMount's subPath inside root, a volume
// mounted in the running sandbox sandboxID: missing directories are
// created and a path leaving the volume through a symlink is refused. It
// returns the resolved path relative to the volume.
func ResolveSubPath(ctx context.Context, c Client, sandboxID, root, sub string) (string, error) {
	out, err := execPause(ctx, c, sandboxID, nil, "subpath", root, sub)
	if err != nil {
		return "", err
	}
	if out == "" {
		return "", fmt.Errorf("subpath %q: the sandbox's pause program gave no path", sub)
	}
	return out, nil
}

// execPause runs the pause program with args in the sandbox, feeding it
// stdin, and returns its trimmed stdout; a non-zero exit is an error with
// its stderr.
func execPause(ctx context.Context, c Client, sandboxID string, stdin []byte, args ...string) (string, error) {
	id, err := c.ExecCreate(ctx, sandboxID, container.ExecOptions{
		Cmd:          append([]string{PauseBinaryPath}, args...),
		AttachStdin:  stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return "", fmt.Errorf("exec %s in sandbox %.12s: %w", args[0], sandboxID, err)
	}
	hj, err := c.ExecAttach(ctx, id, false)
	if err != nil {
		return "", fmt.Errorf("exec %s in sandbox %.12s: %w", args[0], sandboxID, err)
	}
	defer hj.Close()
	if stdin != nil {
		// A failed write shows as the program's failure to read its input:
		// the exit code is what counts.
		go func() {
			_, _ = hj.Conn.Write(stdin)
			_ = hj.CloseWrite()
		}()
	}
	var stdout, stderr bytes.Buffer
	// The stream ignores ctx: closing it is what ends a read that hangs
	// when the pod's pass is cancelled.
	stopRead := context.AfterFunc(ctx, hj.Close)
	_, err = stdcopy.StdCopy(&stdout, &stderr, hj.Reader)
	stopRead()
	if ctx.Err() != nil {
		return "", fmt.Errorf("exec %s in sandbox %.12s: %w", args[0], sandboxID, ctx.Err())
	}
	if err != nil {
		return "", fmt.Errorf("exec %s in sandbox %.12s: read output: %w", args[0], sandboxID, err)
	}
	// The output ends a moment before the exit code is known.
	var st container.ExecInspect
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		if st, err = c.ExecInspect(ctx, id); err != nil {
			return "", fmt.Errorf("exec %s in sandbox %.12s: %w", args[0], sandboxID, err)
		}
		if !st.Running {
			break
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(delay):
		}
	}
	if st.ExitCode != 0 {
		return "", fmt.Errorf("%s in sandbox %.12s failed (exit %d): %s", args[0], sandboxID, st.ExitCode, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
