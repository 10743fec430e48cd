package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	utilexec "k8s.io/utils/exec"
)

// RunInContainer runs cmd in a running container of the pod (kubectl exec),
// streaming stdin, stdout and stderr, resizing the TTY on request, and
// returning the command's non-zero exit code as an ExitError so that kubectl
// exits with it.
func (p *Provider) RunInContainer(ctx context.Context, namespace, podName, containerName string, cmd []string, attach api.AttachIO) error {
	c, err := p.findContainer(ctx, namespace, podName, containerName, false)
	if err != nil {
		return err
	}
	if c.State != "running" {
		return errdefs.InvalidInputf("container %q in pod %q is not running", containerName, podName)
	}
	logger := log.G(ctx).WithFields(log.Fields{"namespace": namespace, "pod": podName, "container": containerName, "containerID": c.ID})
	tty := attach.TTY()
	opts := container.ExecOptions{
		Cmd:          cmd,
		Tty:          tty,
		AttachStdin:  attach.Stdin() != nil,
		AttachStdout: attach.Stdout() != nil,
		AttachStderr: attach.Stderr() != nil,
	}
	execID, err := p.cfg.Docker.ExecCreate(ctx, c.ID, opts)
	if err != nil {
		return fmt.Errorf("create exec in %s: %w", containerName, err)
	}
	hj, err := p.cfg.Docker.ExecAttach(ctx, execID, tty)
	if err != nil {
		return fmt.Errorf("start exec in %s: %w", containerName, err)
	}
	defer hj.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if tty && attach.Resize() != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case size, ok := <-attach.Resize():
					if !ok {
						return
					}
					if err := p.cfg.Docker.ExecResize(ctx, execID, uint(size.Height), uint(size.Width)); err != nil {
						logger.WithError(err).Debug("Cannot resize exec TTY")
					}
				}
			}
		}()
	}
	if in := attach.Stdin(); in != nil {
		// Owned by the exec: it ends when stdin ends or the connection closes
		// (deferred hj.Close above).
		go func() {
			_, _ = io.Copy(hj.Conn, in)
			_ = hj.CloseWrite()
		}()
	}
	stdout, stderr := writerOrDiscard(attach.Stdout()), writerOrDiscard(attach.Stderr())
	if tty {
		_, err = io.Copy(stdout, hj.Reader)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, hj.Reader)
	}
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
		return fmt.Errorf("stream exec output of %s: %w", containerName, err)
	}
	inspect, err := p.cfg.Docker.ExecInspect(context.WithoutCancel(ctx), execID)
	if err != nil {
		return fmt.Errorf("inspect exec in %s: %w", containerName, err)
	}
	if inspect.ExitCode != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with non-zero exit code: %d", inspect.ExitCode), Code: inspect.ExitCode}
	}
	return nil
}

func writerOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// AttachToContainer is not supported yet.
func (p *Provider) AttachToContainer(ctx context.Context, namespace, podName, containerName string, attach api.AttachIO) error {
	return errdefs.InvalidInput("attach is not supported by vk-docker yet")
}

// PortForward is not supported yet.
func (p *Provider) PortForward(ctx context.Context, namespace, podName string, port int32, stream io.ReadWriteCloser) error {
	return errdefs.InvalidInput("port-forward is not supported by vk-docker yet")
}
