package probes

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/vk-docker/vk-docker/dockerhost"
)

// maxExecOutput bounds the output an exec probe keeps, as the kubelet's
// maxReadLength (pkg/probe/exec/exec.go).
const maxExecOutput = 10 << 10

// ProbeExec runs cmd in the running container containerID with docker exec
// (no TTY, no stdin; the container's user, environment and working
// directory) and judges it as the kubelet's exec probe does
// (pkg/probe/exec/exec.go, pkg/kubelet/prober/prober.go):
//
//   - exit code 0: (Success, "", nil);
//   - another exit code: (Failure, output, nil), where output is what the
//     command wrote to stdout followed by what it wrote to stderr (not
//     interleaved, like the kubelet's RunInContainer), cut at 10 KiB; it may
//     be empty;
//   - the command has not ended timeout after the exec was requested:
//     (Failure, `command timed out: "<cmd joined by spaces>" timed out after
//     <timeout>`, nil), the kubelet's message, returned as soon as timeout
//     expires. The exec's stream is closed and the goroutine reading it has
//     ended when ProbeExec returns; the process itself keeps running in the
//     container, since the Docker API has no way to kill an exec;
//   - the exec cannot be created, started or inspected (for example the
//     container is not running): (Unknown, "", the engine's error);
//   - ctx ends first: (Unknown, "", ctx.Err()), the stream likewise closed.
//
// A timeout <= 0 means no limit other than ctx (the kubelet runs exec hooks
// so).
func ProbeExec(ctx context.Context, d dockerhost.Client, containerID string, cmd []string, timeout time.Duration) (Result, string, error) {
	ectx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	output, exitCode, err := runExec(ectx, d, containerID, cmd)
	return judgeExec(ctx, ectx, cmd, timeout, output, exitCode, err)
}

// judgeExec turns the outcome of running cmd under ectx, ctx with the
// probe's timeout, into ProbeExec's results.
func judgeExec(ctx, ectx context.Context, cmd []string, timeout time.Duration, output string, exitCode int, err error) (Result, string, error) {
	if err != nil {
		if ctx.Err() != nil {
			return Unknown, "", ctx.Err()
		}
		if ectx.Err() != nil {
			return Failure, timedOut(cmd, timeout), nil
		}
		return Unknown, "", err
	}
	if exitCode != 0 {
		return Failure, output, nil
	}
	return Success, "", nil
}

// timedOut is the kubelet's message for an exec probe's command that
// outlived its timeout.
func timedOut(cmd []string, timeout time.Duration) string {
	return fmt.Sprintf("command timed out: %q timed out after %v", strings.Join(cmd, " "), timeout)
}

// runExec runs cmd in containerID until it exits or ctx ends, and returns
// its output (stdout then stderr, at most maxExecOutput bytes) and exit
// code. The exec's stream is closed, and its reader gone, when it returns.
func runExec(ctx context.Context, d dockerhost.Client, containerID string, cmd []string) (string, int, error) {
	id, hj, err := startExec(ctx, d, containerID, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", 0, err
	}
	stdout := &cappedBuffer{max: maxExecOutput}
	stderr := &cappedBuffer{max: maxExecOutput}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, hj.Reader)
		copied <- err
	}()
	select {
	case err = <-copied:
		hj.Close()
	case <-ctx.Done():
		hj.Close() // ends StdCopy
		<-copied
		return "", 0, ctx.Err()
	}
	if err != nil && ctx.Err() == nil {
		return "", 0, fmt.Errorf("read exec output: %w", err)
	}
	// The stream ends when the command's output does, which is usually but
	// not necessarily when it exits: wait for the exit code.
	delay := 5 * time.Millisecond
	for {
		ins, err := d.ExecInspect(ctx, id)
		if err != nil {
			return "", 0, fmt.Errorf("inspect exec in container %s: %w", containerID, err)
		}
		if !ins.Running {
			out := append(stdout.buf, stderr.buf...)
			return string(out[:min(len(out), maxExecOutput)]), ins.ExitCode, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", 0, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// startExec creates and starts an exec in containerID, attached to its
// stream; it returns the exec's ID.
func startExec(ctx context.Context, d dockerhost.Client, containerID string, opts container.ExecOptions) (string, types.HijackedResponse, error) {
	id, err := d.ExecCreate(ctx, containerID, opts)
	if err != nil {
		return "", types.HijackedResponse{}, fmt.Errorf("exec in container %s: %w", containerID, err)
	}
	hj, err := d.ExecAttach(ctx, id, false)
	if err != nil {
		return "", types.HijackedResponse{}, fmt.Errorf("start exec in container %s: %w", containerID, err)
	}
	return id, hj, nil
}

// cappedBuffer keeps the first max bytes written to it and discards the
// rest without error, so that the stream is still drained.
type cappedBuffer struct {
	buf []byte
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
