package probes

import (
	"context"
	"net"
	"strconv"
	"time"
)

// ProbeTCP checks that a TCP connection to host:port opens within timeout,
// and closes it at once, as the kubelet's tcpSocket probe does
// (pkg/probe/tcp/tcp.go):
//
//   - the connection opens: (Success, "", nil);
//   - it does not (refused, unreachable, or not within timeout): (Failure,
//     the dial error's text, nil), for example "dial tcp 10.0.0.5:80:
//     connect: connection refused" or "dial tcp 10.0.0.5:80: i/o timeout";
//   - ctx ends first (the caller gave up on the probe): (Unknown, "",
//     ctx.Err()).
//
// A timeout <= 0 means no limit other than ctx.
func ProbeTCP(ctx context.Context, host string, port int, timeout time.Duration) (Result, string, error) {
	dctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	conn, err := dialFrom(ctx)(dctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		if ctx.Err() != nil {
			return Unknown, "", ctx.Err()
		}
		// The kubelet turns every dial error, timeouts included, into a
		// failure whose output is the error.
		return Failure, err.Error(), nil
	}
	_ = conn.Close()
	return Success, "", nil
}

// withTimeout bounds ctx by timeout when it is positive.
func withTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}
