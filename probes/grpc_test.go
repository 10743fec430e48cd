package probes

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// grpcServer serves gRPC on a loopback port until the test ends and returns
// the port; register adds the services.
func grpcServer(t *testing.T, register func(*grpc.Server), opts ...grpc.ServerOption) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(opts...)
	register(s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ln)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// hangingHealth answers health checks only once the caller gave up.
type hangingHealth struct {
	healthpb.UnimplementedHealthServer
}

func (hangingHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestProbeGRPC(t *testing.T) {
	var mu sync.Mutex
	var userAgents []string
	recordUA := grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		mu.Lock()
		userAgents = append(userAgents, md.Get("user-agent")...)
		mu.Unlock()
		return handler(ctx, req)
	})
	hs := health.NewServer() // "" is SERVING
	hs.SetServingStatus("up", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	healthy := grpcServer(t, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, hs) }, recordUA)
	noHealth := grpcServer(t, func(*grpc.Server) {})
	hanging := grpcServer(t, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, hangingHealth{}) })
	closed := closedPort(t)
	bhHost, bhPort := blackhole(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	addr := func(port int) string { return strconv.Quote("127.0.0.1:" + strconv.Itoa(port)) }

	const timeout = 300 * time.Millisecond
	cases := []struct {
		name    string
		ctx     context.Context
		host    string
		port    int
		service string
		want    Result
		output  string // exact
		err     error
		slow    bool // takes the whole timeout
	}{
		{name: "server SERVING", port: healthy, want: Success},
		{name: "service SERVING", port: healthy, service: "up", want: Success},
		{name: "NOT_SERVING", port: healthy, service: "down", want: Failure, output: `service unhealthy (responded with "NOT_SERVING")`},
		{name: "unknown service", port: healthy, service: "nope", want: Failure,
			output: "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service"},
		{name: "no health service", port: noHealth, want: Failure,
			output: "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health"},
		{name: "health check hangs", port: hanging, want: Failure, output: "timeout: health rpc did not complete within 300ms", slow: true},
		{name: "no server", port: closed, want: Failure, slow: true,
			output: "timeout: failed to connect service " + addr(closed) + " within 300ms: context deadline exceeded"},
		{name: "connection hangs", host: bhHost, port: bhPort, want: Failure, slow: true,
			output: "timeout: failed to connect service " + addr(bhPort) + " within 300ms: context deadline exceeded"},
		{name: "context ended", ctx: canceled, port: healthy, want: Unknown, err: context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			host := tc.host
			if host == "" {
				host = "127.0.0.1"
			}
			start := time.Now()
			got, out, err := ProbeGRPC(ctx, host, tc.port, tc.service, timeout)
			elapsed := time.Since(start)
			if got != tc.want {
				t.Errorf("result %v, want %v (output %q, err %v)", got, tc.want, out, err)
			}
			if out != tc.output {
				t.Errorf("output %q, want %q", out, tc.output)
			}
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("err %v, want %v", err, tc.err)
			}
			if tc.slow && (elapsed < timeout || elapsed > timeout+time.Second) || !tc.slow && elapsed > timeout {
				t.Errorf("took %v with a timeout of %v", elapsed, timeout)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(userAgents) == 0 {
		t.Fatal("no user agent recorded")
	}
	for _, ua := range userAgents {
		if !strings.HasPrefix(ua, "kube-probe/1.37 ") {
			t.Errorf("user agent %q, want kube-probe/1.37 first", ua)
		}
	}
}
