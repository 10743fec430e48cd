package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
)

// portForwardDialTimeout bounds connecting to the pod's port. Through the
// sandbox each connection is a `docker exec`, which a busy engine may take
// seconds to create; and kubectl gives up the whole port-forward on one
// failed connection. The kubelet's stream creation timeout is as long.
const portForwardDialTimeout = 30 * time.Second

// PortForward relays one kubectl port-forward connection to port of the pod.
// Like probes, it dials the pod IP directly, or from inside the pod's
// network namespace through its sandbox when pod IPs are not routable from
// here (--probe-network). It returns when both directions are done or ctx
// ends; the stream is the caller's to close.
func (p *Provider) PortForward(ctx context.Context, namespace, podName string, port int32, stream io.ReadWriteCloser) error {
	if port <= 0 || port > 65535 {
		return errdefs.InvalidInputf("invalid port %d", port)
	}
	dial, addr, err := p.podDialer(ctx, namespace, podName, port)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, portForwardDialTimeout)
	conn, err := dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return fmt.Errorf("port-forward to %s/%s port %d: %w", namespace, podName, port, err)
	}
	log.G(ctx).WithFields(log.Fields{"namespace": namespace, "pod": podName, "port": port}).Debug("Port-forward connection open")
	return relay(ctx, conn, stream)
}

// podDialer returns how to reach port of a running pod, and the address to
// dial with it.
func (p *Provider) podDialer(ctx context.Context, namespace, podName string, port int32) (func(context.Context, string, string) (net.Conn, error), string, error) {
	pod, err := p.GetPod(ctx, namespace, podName)
	if err != nil {
		return nil, "", err
	}
	h, rt := p.hostOf(pod.UID)
	list, err := h.Docker.ContainerList(ctx,
		dockerhost.NodeSelector(p.cfg.NodeName),
		dockerhost.PodSelector(string(pod.UID)),
		dockerhost.LabelContainerName+"="+dockerhost.SandboxContainerName)
	if err != nil {
		return nil, "", fmt.Errorf("list sandbox of %s/%s: %w", namespace, podName, err)
	}
	var sandboxID string
	for _, c := range list { // newest first
		if c.State == "running" {
			sandboxID = c.ID
			break
		}
	}
	if sandboxID == "" {
		return nil, "", errdefs.InvalidInputf("pod %s/%s has no running sandbox", namespace, podName)
	}
	portStr := strconv.Itoa(int(port))
	if rt.ProbeViaSandbox {
		// Inside the pod's network namespace, as the kubelet does it: the
		// pod's localhost, so ports bound to 127.0.0.1 work too.
		return dockerhost.SandboxDialer(h.Docker, sandboxID), net.JoinHostPort("127.0.0.1", portStr), nil
	}
	ip := pod.Status.PodIP
	if ip == "" {
		return nil, "", errdefs.InvalidInputf("pod %s/%s has no IP yet", namespace, podName)
	}
	var d net.Dialer
	return d.DialContext, net.JoinHostPort(ip, portStr), nil
}

// relay copies between the pod connection and the client stream until the
// pod closes its side; the client closing its side half-closes the pod
// connection, so a request-then-response exchange completes.
func relay(ctx context.Context, conn net.Conn, stream io.ReadWriteCloser) error {
	ctx, stop := closeOnDone(ctx, conn.Close)
	defer stop()
	go func() {
		// Not waited for: it ends when the client stream does, which the
		// caller closes after we return.
		_, _ = io.Copy(conn, stream)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = conn.Close()
		}
	}()
	_, err := io.Copy(stream, conn)
	if err != nil && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
		return fmt.Errorf("relay from pod: %w", err)
	}
	return nil
}
