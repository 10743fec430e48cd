package probes

import (
	"context"
	"net"
)

// DialFunc opens a TCP connection, like net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

type dialerKey struct{}

// WithDialer makes the network probes (tcpSocket, httpGet, grpc) under ctx
// connect through d, for example from inside the pod's network namespace
// when the provider cannot route to pod IPs. Without it they dial from the
// provider's own network.
func WithDialer(ctx context.Context, d DialFunc) context.Context {
	return context.WithValue(ctx, dialerKey{}, d)
}

// dialFrom is the dialer ctx carries, or the default one.
func dialFrom(ctx context.Context) DialFunc {
	if d, ok := ctx.Value(dialerKey{}).(DialFunc); ok && d != nil {
		return d
	}
	return newDialer().DialContext
}

// Dial connects with the dialer ctx carries (see WithDialer); lifecycle
// hooks use it so that their httpGet goes the probes' way.
func Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialFrom(ctx)(ctx, network, addr)
}
