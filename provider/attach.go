package provider

import (
	"context"
	"fmt"
	"io"

	"github.com/virtual-kubelet/virtual-kubelet/node/api"
)

// AttachToContainer connects kubectl attach to the main process of a running
// container: its output from now on, its stdin when the container has
// `stdin: true`, and TTY resizes when it has `tty: true`. It returns when the
// container exits or the client goes away.
func (p *Provider) AttachToContainer(ctx context.Context, namespace, podName, containerName string, attach api.AttachIO) error {
	ctx, c, docker, err := p.runningContainer(ctx, namespace, podName, containerName)
	if err != nil {
		return err
	}
	inspect, err := docker.ContainerInspect(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", containerName, err)
	}
	// The container's own settings decide, as on a kubelet: kubectl asks for
	// a TTY only when the spec has one, and stdin goes nowhere without one.
	tty := inspect.Config != nil && inspect.Config.Tty
	withStdin := attach.Stdin() != nil && inspect.Config != nil && inspect.Config.OpenStdin
	hj, err := docker.ContainerAttach(ctx, c.ID, withStdin)
	if err != nil {
		return fmt.Errorf("attach to %s: %w", containerName, err)
	}
	defer hj.Close()
	if !withStdin {
		attach = noStdin{attach}
	}
	if err := pumpStreams(ctx, hj, attach, tty, func(ctx context.Context, h, w uint) error {
		return docker.ContainerResize(ctx, c.ID, h, w)
	}); err != nil {
		return fmt.Errorf("stream output of %s: %w", containerName, err)
	}
	return nil
}

// noStdin hides the client's stdin from a container that has none.
type noStdin struct{ api.AttachIO }

func (noStdin) Stdin() io.Reader { return nil }
