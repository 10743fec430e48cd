package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/vk-docker/vk-docker/dockerhost"
	utilexec "k8s.io/utils/exec"
)

// RunInContainer runs cmd in a running container of the pod (kubectl exec),
// streaming stdin, stdout and stderr, resizing the TTY on request, and
// returning the command's non-zero exit code as an ExitError so that kubectl
// exits with it.
func (p *Provider) RunInContainer(ctx context.Context, namespace, podName, containerName string, cmd []string, attach api.AttachIO) error {
	ctx, c, docker, err := p.runningContainer(ctx, namespace, podName, containerName)
	if err != nil {
		return err
	}
	tty := attach.TTY()
	opts := container.ExecOptions{
		Cmd:          cmd,
		Tty:          tty,
		AttachStdin:  attach.Stdin() != nil,
		AttachStdout: attach.Stdout() != nil,
		AttachStderr: attach.Stderr() != nil,
	}
	execID, err := docker.ExecCreate(ctx, c.ID, opts)
	if err != nil {
		return fmt.Errorf("create exec in %s: %w", containerName, err)
	}
	hj, err := docker.ExecAttach(ctx, execID, tty)
	if err != nil {
		return fmt.Errorf("start exec in %s: %w", containerName, err)
	}
	defer hj.Close()
	if err := pumpStreams(ctx, hj, attach, tty, func(ctx context.Context, h, w uint) error {
		return docker.ExecResize(ctx, execID, h, w)
	}); err != nil {
		return fmt.Errorf("stream exec output of %s: %w", containerName, err)
	}
	if ctx.Err() != nil {
		return ctx.Err() // the client went away; the command may still run
	}
	inspect, err := execResult(context.WithoutCancel(ctx), docker, execID)
	if err != nil {
		return fmt.Errorf("inspect exec in %s: %w", containerName, err)
	}
	if inspect.ExitCode != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with non-zero exit code: %d", inspect.ExitCode), Code: inspect.ExitCode}
	}
	return nil
}

// execResult inspects an exec whose stream has ended. The engine may report
// it running for a moment after its output closed; its exit code is only
// final once it has stopped.
func execResult(ctx context.Context, docker dockerhost.Client, execID string) (container.ExecInspect, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		inspect, err := docker.ExecInspect(ctx, execID)
		if err != nil || !inspect.Running {
			return inspect, err
		}
		select {
		case <-ctx.Done():
			return inspect, fmt.Errorf("exec %.12s still running after its output ended", execID)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
