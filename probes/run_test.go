package probes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestResolvePort(t *testing.T) {
	c := &v1.Container{Ports: []v1.ContainerPort{
		{Name: "http", ContainerPort: 8080},
		{Name: "dns", ContainerPort: 53, Protocol: v1.ProtocolUDP},
		{Name: "http", ContainerPort: 9090},
		{Name: "zero", ContainerPort: 0},
	}}
	cases := []struct {
		port intstr.IntOrString
		c    *v1.Container
		want int
		err  string
	}{
		{port: intstr.FromInt32(80), c: c, want: 80},
		{port: intstr.FromInt32(65535), want: 65535},
		{port: intstr.FromString("http"), c: c, want: 8080},
		{port: intstr.FromString("dns"), c: c, want: 53},
		{port: intstr.FromString("grpc"), c: c, err: `port "grpc" not found`},
		{port: intstr.FromString("http"), err: `port "http" not found`},
		{port: intstr.FromString("zero"), c: c, err: "invalid port number: 0"},
		{port: intstr.FromInt32(0), err: "invalid port number: 0"},
		{port: intstr.FromInt32(65536), err: "invalid port number: 65536"},
		{port: intstr.FromInt32(-1), err: "invalid port number: -1"},
		{port: intstr.IntOrString{Type: 7}, err: "intOrString had no kind"},
	}
	for _, tc := range cases {
		got, err := ResolvePort(tc.port, tc.c)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: %d, %v; want error %q", tc.port, got, err, tc.err)
			}
			continue
		}
		if got != tc.want || err != nil {
			t.Errorf("%v: %d, %v; want %d", tc.port, got, err, tc.want)
		}
	}
}

func TestExpandCommand(t *testing.T) {
	env := []v1.EnvVar{
		{Name: "A", Value: "alpha"},
		{Name: "EMPTY"},
		{Name: "REF", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
	}
	cases := map[string]string{
		"plain":          "plain",
		"$(A)":           "alpha",
		"x$(A)y$(A)":     "xalphayalpha",
		"$(EMPTY)-":      "-",
		"$(REF)":         "",
		"$(MISSING)":     "$(MISSING)",
		"$$(A)":          "$(A)",
		"$$$(A)":         "$alpha",
		"$A $HOME":       "$A $HOME",
		"cost: 5$":       "cost: 5$",
		"$(A":            "$(A",
		"$(unterminated": "$(unterminated",
		"$()":            "$()",
		"é$(A)é":         "éalphaé",
		"$é":             "$é",
	}
	for in, want := range cases {
		if got := expandCommand([]string{in}, env); len(got) != 1 || got[0] != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if got := expandCommand(nil, env); got != nil {
		t.Errorf("nil: %q", got)
	}
}

func TestRun(t *testing.T) {
	f, id := fakeContainer(t)
	web := newProbeServer(t, false)
	hs := health.NewServer()
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	grpcPort := grpcServer(t, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, hs) })
	tcpPort := listen(t)
	c := &v1.Container{Name: "app", Ports: []v1.ContainerPort{
		{Name: "web", ContainerPort: int32(web.port(t))},
		{Name: "tcp", ContainerPort: int32(tcpPort)},
	}}
	down := "down"
	cases := []struct {
		name   string
		h      v1.ProbeHandler
		podIP  string
		want   Result
		output string
		err    string
	}{
		{name: "exec", h: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}, want: Success},
		{name: "http by port name", h: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/status/503", Port: intstr.FromString("web")}},
			want: Failure, output: "HTTP probe failed with statuscode: 503"},
		{name: "http to a named host", podIP: "192.0.2.1", h: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Host: "127.0.0.1", Port: intstr.FromString("web")}}, want: Success},
		{name: "http with an unknown port name", h: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Port: intstr.FromString("nope")}},
			want: Unknown, err: `port "nope" not found`},
		{name: "tcp by port name", h: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromString("tcp")}}, want: Success},
		{name: "tcp by number", h: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(int32(closedPort(t)))}}, want: Failure, output: "connection refused"},
		{name: "tcp without a pod IP", podIP: "-", h: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromString("tcp")}}, want: Unknown, err: "no host to probe"},
		{name: "grpc", h: v1.ProbeHandler{GRPC: &v1.GRPCAction{Port: int32(grpcPort)}}, want: Success},
		{name: "grpc service", h: v1.ProbeHandler{GRPC: &v1.GRPCAction{Port: int32(grpcPort), Service: &down}},
			want: Failure, output: `service unhealthy (responded with "NOT_SERVING")`},
		{name: "no action", want: Unknown, err: `missing probe handler for container "app"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			podIP := tc.podIP
			switch podIP {
			case "":
				podIP = "127.0.0.1"
			case "-":
				podIP = ""
			}
			got, out, err := Run(context.Background(), ContainerExec{f, id}, tc.h, podIP, c, 5*time.Second)
			if got != tc.want {
				t.Errorf("result %v, want %v (output %q, err %v)", got, tc.want, out, err)
			}
			checkOutput(t, out, tc.output)
			if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err %v, want %q", err, tc.err)
			}
		})
	}
}

// A prober that breaks is tried 3 times, and not again once ctx ended.
func TestRunRetries(t *testing.T) {
	f, id := fakeContainer(t)
	h := v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}
	count := func() int {
		n := 0
		for _, c := range f.Calls() {
			if strings.HasPrefix(c, "ExecCreate ") {
				n++
			}
		}
		return n
	}
	f.InjectError("ExecCreate", errors.New("engine trouble"))
	got, _, err := Run(context.Background(), ContainerExec{f, id}, h, "127.0.0.1", &v1.Container{}, time.Second)
	if got != Unknown || err == nil || !strings.Contains(err.Error(), "engine trouble") || count() != 3 {
		t.Fatalf("Run: %v %v after %d attempts; want Unknown, the error, 3 attempts", got, err, count())
	}

	f.ResetCalls()
	ctx, cancel := context.WithCancel(context.Background())
	f.SetHook(func(op string, _ []string) error {
		if op == "ExecCreate" {
			cancel()
		}
		return nil
	})
	got, _, err = Run(ctx, ContainerExec{f, id}, h, "127.0.0.1", &v1.Container{}, time.Second)
	if got != Unknown || !errors.Is(err, context.Canceled) || count() != 1 {
		t.Fatalf("Run with ctx ending: %v %v after %d attempts; want Unknown, context.Canceled, 1 attempt", got, err, count())
	}

	// A failure is no error: it is not retried.
	f.SetHook(nil)
	f.InjectError("ExecCreate", nil)
	f.ResetCalls()
	s := &scriptedExec{Client: f, exitCode: 1, streamClosed: make(chan struct{})}
	if got, _, err := Run(context.Background(), ContainerExec{s, id}, h, "127.0.0.1", &v1.Container{}, time.Second); got != Failure || err != nil || count() != 1 {
		t.Fatalf("Run of a failing command: %v %v after %d attempts", got, err, count())
	}
}
