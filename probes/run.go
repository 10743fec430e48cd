package probes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// maxRetries is how often Run tries a probe whose prober breaks, as the
// kubelet's maxProbeRetries (pkg/kubelet/prober/prober.go).
const maxRetries = 3

// Run runs the probe handler h once for container c of a pod with IP podIP,
// dispatching as the kubelet's prober does (pkg/kubelet/prober/prober.go,
// runProbe):
//
//   - exec: h.Exec.Command run by exec in the container's instance (see
//     ProbeExec), after substituting $(NAME) with the literal values of
//     c.Env;
//   - httpGet: ProbeHTTP of NewHTTPRequest(h.HTTPGet, podIP, c);
//   - tcpSocket: ProbeTCP of TCPTarget(h.TCPSocket, podIP, c);
//   - grpc: ProbeGRPC of GRPCTarget(h.GRPC, podIP).
//
// Its results are those of the handler. A handler that errs (the prober
// broke: a port name that c does not declare, an exec the engine refuses)
// is tried again, 3 times in all, as the kubelet does; its last result is
// returned, with the error. A handler with no action is (Unknown, "", an
// error). ctx ending stops the attempts with (Unknown, "", ctx.Err()).
//
// On Success the output is empty unless the kubelet would report a
// warning (an HTTP redirect it did not follow): the kubelet records it as a
// ProbeWarning event "<Kind> probe warning: <output>". On Failure the output
// is the message of the kubelet's Unhealthy event "<Kind> probe failed:
// <output>". The kubelet counts an error as a failure and records it as an
// Unhealthy event "<Kind> probe errored and resulted in <result> state:
// <error>".
func Run(ctx context.Context, exec Execer, h v1.ProbeHandler, podIP string, c *v1.Container, timeout time.Duration) (Result, string, error) {
	var (
		result Result
		output string
		err    error
	)
	for range maxRetries {
		result, output, err = runOnce(ctx, exec, h, podIP, c, timeout)
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	return result, output, err
}

func runOnce(ctx context.Context, exec Execer, h v1.ProbeHandler, podIP string, c *v1.Container, timeout time.Duration) (Result, string, error) {
	if err := ctx.Err(); err != nil {
		return Unknown, "", err
	}
	switch {
	case h.Exec != nil:
		var env []v1.EnvVar
		if c != nil {
			env = c.Env
		}
		return exec.Exec(ctx, expandCommand(h.Exec.Command, env), timeout)
	case h.HTTPGet != nil:
		req, err := NewHTTPRequest(h.HTTPGet, podIP, c)
		if err != nil {
			return Unknown, "", err
		}
		return ProbeHTTP(ctx, req, timeout)
	case h.TCPSocket != nil:
		host, port, err := TCPTarget(h.TCPSocket, podIP, c)
		if err != nil {
			return Unknown, "", err
		}
		return ProbeTCP(ctx, host, port, timeout)
	case h.GRPC != nil:
		host, port, service, err := GRPCTarget(h.GRPC, podIP)
		if err != nil {
			return Unknown, "", err
		}
		return ProbeGRPC(ctx, host, port, service, timeout)
	}
	name := ""
	if c != nil {
		name = c.Name
	}
	return Unknown, "", fmt.Errorf("missing probe handler for container %q", name)
}

// errNoHost is returned when there is no address to probe: the action names
// no host and the pod has no IP yet. (The kubelet would dial the node's own
// localhost; vk-docker refuses to.)
var errNoHost = errors.New("no host to probe: the pod has no IP")

// NewHTTPRequest builds the request of an httpGet action as the kubelet does
// (NewRequestForHTTPGetAction in pkg/probe/http/request.go): the scheme
// lower-cased (HTTP when empty), the action's host or else podIP, the port by
// number or by the name of one of c's ports (ResolvePort), the path as given
// ("/" when empty) and the headers in order, repeated names adding values.
// The default User-Agent and Accept are applied by ProbeHTTP, not here. The
// action's protocol (the alpha H2CContainerProbe) is ignored, as the kubelet
// does by default.
func NewHTTPRequest(a *v1.HTTPGetAction, podIP string, c *v1.Container) (HTTPRequest, error) {
	port, err := ResolvePort(a.Port, c)
	if err != nil {
		return HTTPRequest{}, err
	}
	host := a.Host
	if host == "" {
		host = podIP
	}
	if host == "" {
		return HTTPRequest{}, errNoHost
	}
	header := make(http.Header, len(a.HTTPHeaders))
	for _, h := range a.HTTPHeaders {
		header.Add(h.Name, h.Value)
	}
	return HTTPRequest{Scheme: string(a.Scheme), Host: host, Port: port, Path: a.Path, Header: header}, nil
}

// TCPTarget is the address a tcpSocket action probes, as the kubelet has it:
// the action's host or else podIP, and its port by number or by the name of
// one of c's ports (ResolvePort).
func TCPTarget(a *v1.TCPSocketAction, podIP string, c *v1.Container) (host string, port int, err error) {
	port, err = ResolvePort(a.Port, c)
	if err != nil {
		return "", 0, err
	}
	host = a.Host
	if host == "" {
		host = podIP
	}
	if host == "" {
		return "", 0, errNoHost
	}
	return host, port, nil
}

// GRPCTarget is what a grpc action probes, as the kubelet has it: always the
// pod's IP (the action has no host), the action's port, and its service, ""
// when unset. The port is not checked (the API server validates it).
func GRPCTarget(a *v1.GRPCAction, podIP string) (host string, port int, service string, err error) {
	if podIP == "" {
		return "", 0, "", errNoHost
	}
	if a.Service != nil {
		service = *a.Service
	}
	return podIP, int(a.Port), service, nil
}

// ResolvePort returns the port p designates in container c, as the kubelet's
// ResolveContainerPort (pkg/probe/util.go): a number is taken as is; a name
// is looked up among c's ports (the first port of that name; the protocol
// does not matter), an error `port "<name>" not found` when c has none (or c
// is nil). A port outside 1..65535 is an error "invalid port number: <n>".
func ResolvePort(p intstr.IntOrString, c *v1.Container) (int, error) {
	var port int
	switch p.Type {
	case intstr.Int:
		port = p.IntValue()
	case intstr.String:
		found := false
		if c != nil {
			for _, cp := range c.Ports {
				if cp.Name == p.StrVal {
					port, found = int(cp.ContainerPort), true
					break
				}
			}
		}
		if !found {
			return 0, fmt.Errorf("port %q not found", p.StrVal)
		}
	default:
		return 0, fmt.Errorf("intOrString had no kind: %+v", p)
	}
	if port <= 0 || port > 65535 {
		return 0, fmt.Errorf("invalid port number: %d", port)
	}
	return port, nil
}
