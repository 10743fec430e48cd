package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// ProbeGRPC calls the standard health service (grpc.health.v1.Health/Check)
// for service ("" asks about the whole server) over plaintext HTTP/2 at
// host:port, and judges it as the kubelet's grpc probe does
// (pkg/probe/grpc/grpc.go):
//
//   - SERVING: (Success, "", nil) (the kubelet's output "service healthy" is
//     dropped: on Success a non-empty output means a warning);
//   - another status: (Failure, `service unhealthy (responded with
//     "NOT_SERVING")`, nil);
//   - no connection within timeout (the kubelet waits for the connection to
//     be ready, so a refused port also ends here): (Failure, `timeout: failed
//     to connect service "<host:port>" within <timeout>: context deadline
//     exceeded`, nil);
//   - the server does not implement the health service: (Failure, "error:
//     this server does not implement the grpc health protocol
//     (grpc.health.v1.Health): <message>", nil);
//   - the call does not complete within timeout: (Failure, "timeout: health
//     rpc did not complete within <timeout>", nil);
//   - any other error, an unknown service (NotFound) included: (Failure,
//     "error: health rpc probe failed: <error>", nil);
//   - ctx ends first: (Unknown, "", ctx.Err()).
//
// timeout bounds connecting and the call together; <= 0 means no limit
// other than ctx. TLS (the alpha GRPCContainerProbeTLS mode) is not offered.
func ProbeGRPC(ctx context.Context, host string, port int, service string, timeout time.Duration) (Result, string, error) {
	pctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(host, strconv.Itoa(port))

	dial := dialFrom(ctx)
	// "passthrough" hands addr to the dialer untouched, as grpc.Dial, which
	// the kubelet uses, does.
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithUserAgent(UserAgent),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			return dial(ctx, "tcp", a)
		}),
	)
	if err == nil {
		defer func() { _ = conn.Close() }()
		err = waitReady(pctx, conn)
	}
	if err != nil {
		if ctx.Err() != nil {
			return Unknown, "", ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return Failure, fmt.Sprintf("timeout: failed to connect service %q within %v: %+v", addr, timeout, err), nil
		}
		return Failure, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err), nil
	}

	resp, err := healthpb.NewHealthClient(conn).Check(pctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		if ctx.Err() != nil {
			return Unknown, "", ctx.Err()
		}
		if st, ok := status.FromError(err); ok {
			switch st.Code() {
			case codes.Unimplemented:
				return Failure, "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " + st.Message(), nil
			case codes.DeadlineExceeded:
				return Failure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout), nil
			}
		}
		return Failure, fmt.Sprintf("error: health rpc probe failed: %+v", err), nil
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String()), nil
	}
	return Success, "", nil
}

// waitReady connects conn and waits until it is ready or ctx ends (then it
// returns ctx.Err()), which is what the kubelet's blocking dial does: a
// connection that fails is retried until the deadline.
func waitReady(ctx context.Context, conn *grpc.ClientConn) error {
	for {
		s := conn.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.Idle:
			conn.Connect()
		}
		if !conn.WaitForStateChange(ctx, s) {
			return ctx.Err()
		}
	}
}
