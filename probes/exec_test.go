package probes

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	v1 "k8s.io/api/core/v1"
)

// scriptedExec is the fake engine whose execs write stdout and stderr and
// exit with exitCode, or, with hang, never end their stream; with
// keepRunning the exec still runs after its stream ended. streamClosed is
// closed once the prober closed an exec's stream.
type scriptedExec struct {
	*dockerfake.Client
	stdout, stderr string
	exitCode       int
	hang           bool
	keepRunning    bool
	streamClosed   chan struct{}
}

func (s *scriptedExec) ExecAttach(ctx context.Context, execID string, tty bool) (types.HijackedResponse, error) {
	if _, err := s.Client.ExecAttach(ctx, execID, tty); err != nil {
		return types.HijackedResponse{}, err
	}
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		if s.stdout != "" {
			_, _ = stdcopy.NewStdWriter(server, stdcopy.Stdout).Write([]byte(s.stdout))
		}
		if s.stderr != "" {
			_, _ = stdcopy.NewStdWriter(server, stdcopy.Stderr).Write([]byte(s.stderr))
		}
		if s.hang {
			// A net.Pipe read fails once the other end is closed.
			_, _ = server.Read(make([]byte, 1))
			close(s.streamClosed)
		}
	}()
	return types.HijackedResponse{Conn: client, Reader: bufio.NewReader(client)}, nil
}

func (s *scriptedExec) ExecInspect(ctx context.Context, execID string) (container.ExecInspect, error) {
	ins, err := s.Client.ExecInspect(ctx, execID)
	ins.ExitCode, ins.Running = s.exitCode, s.keepRunning
	return ins, err
}

// fakeContainer returns a fake engine with one running container, and its ID.
func fakeContainer(t *testing.T) (*dockerfake.Client, string) {
	t.Helper()
	f := dockerfake.New()
	f.AddImage("busybox:test", "", "")
	ctx := context.Background()
	c, err := f.ContainerCreate(ctx, &container.Config{Image: "busybox:test"}, nil, nil, "app")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ContainerStart(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	return f, c.ID
}

func TestProbeExec(t *testing.T) {
	big := strings.Repeat("o", 8<<10)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		script  scriptedExec
		id      string // the container; the running one when empty
		ctx     context.Context
		cmd     []string
		timeout time.Duration
		want    Result
		output  string
		err     string // substring of the error
		slow    bool
	}{
		{name: "exit 0", script: scriptedExec{stdout: "fine\n"}, want: Success},
		{name: "exit 3 without output", script: scriptedExec{exitCode: 3}, want: Failure},
		{name: "stdout then stderr", script: scriptedExec{stdout: "out\n", stderr: "err\n", exitCode: 1}, want: Failure, output: "out\nerr\n"},
		{name: "output cut at 10 KiB", script: scriptedExec{stdout: big, stderr: big, exitCode: 1}, want: Failure, output: big + big[:2<<10]},
		{name: "hangs", script: scriptedExec{hang: true, stdout: "partial"}, cmd: []string{"sleep", "10"}, timeout: 300 * time.Millisecond,
			want: Failure, output: `command timed out: "sleep 10" timed out after 300ms`, slow: true},
		{name: "closes its output but runs on", script: scriptedExec{keepRunning: true}, cmd: []string{"sh", "-c", "exec >&-; sleep 10"},
			timeout: 300 * time.Millisecond, want: Failure, output: `command timed out: "sh -c exec >&-; sleep 10" timed out after 300ms`, slow: true},
		{name: "no such container", id: "missing", want: Unknown, err: "missing"},
		{name: "context ended", ctx: canceled, want: Unknown, err: context.Canceled.Error()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, id := fakeContainer(t)
			if tc.id != "" {
				id = tc.id
			}
			s := tc.script
			s.Client, s.streamClosed = f, make(chan struct{})
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			cmd := tc.cmd
			if cmd == nil {
				cmd = []string{"check"}
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			start := time.Now()
			got, out, err := ProbeExec(ctx, &s, id, cmd, timeout)
			elapsed := time.Since(start)
			if got != tc.want {
				t.Errorf("result %v, want %v (output %q, err %v)", got, tc.want, out, err)
			}
			if out != tc.output {
				t.Errorf("output %q (%d bytes), want %q (%d bytes)", trunc(out), len(out), trunc(tc.output), len(tc.output))
			}
			if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err %v, want %q", err, tc.err)
			}
			if tc.slow && (elapsed < timeout || elapsed > timeout+time.Second) || !tc.slow && elapsed > time.Second {
				t.Errorf("took %v with a timeout of %v", elapsed, timeout)
			}
			if s.hang {
				select {
				case <-s.streamClosed:
				case <-time.After(time.Second):
					t.Error("the exec's stream was not closed")
				}
			}
		})
	}
}

// The fake engine itself models an exec as a command that prints nothing
// and exits 0.
func TestProbeExecPlainFake(t *testing.T) {
	f, id := fakeContainer(t)
	got, out, err := ProbeExec(context.Background(), f, id, []string{"true"}, time.Second)
	if got != Success || out != "" || err != nil {
		t.Fatalf("ProbeExec: %v %q %v", got, out, err)
	}
	if err := f.ContainerStop(context.Background(), id, "", 0); err != nil {
		t.Fatal(err)
	}
	got, _, err = ProbeExec(context.Background(), f, id, []string{"true"}, time.Second)
	if got != Unknown || err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("ProbeExec in a stopped container: %v %v", got, err)
	}
}

func TestRunExecExpandsCommand(t *testing.T) {
	f, id := fakeContainer(t)
	c := &v1.Container{Name: "app", Env: []v1.EnvVar{
		{Name: "FILE", Value: "/tmp/healthy"},
		{Name: "FROM", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
	}}
	h := v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"cat", "$(FILE)", "$(FROM)", "$(MISSING)", "$$(FILE)"}}}
	got, out, err := Run(context.Background(), ContainerExec{f, id}, h, "10.0.0.1", c, time.Second)
	if got != Success || out != "" || err != nil {
		t.Fatalf("Run: %v %q %v", got, out, err)
	}
	calls := f.Calls()
	if want := "ExecCreate " + id + " cat /tmp/healthy  $(MISSING) $(FILE)"; !contains(calls, want) {
		t.Fatalf("calls %q, want %q", calls, want)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// A session whose shell ends before it answers (a container without sh;
// here the fake engine, whose execs end at once) probes with one docker
// exec per attempt from then on, without losing the attempt.
func TestExecSessionFallsBackWithoutAShell(t *testing.T) {
	f, id := fakeContainer(t)
	s := NewExecSession(f, id)
	defer s.Close()
	execs := func() int {
		n := 0
		for _, c := range f.Calls() {
			if strings.HasPrefix(c, "ExecCreate ") {
				n++
			}
		}
		return n
	}
	for i, want := range []int{2, 3, 4} { // the shell, then a docker exec each time
		got, out, err := s.Exec(context.Background(), []string{"true"}, time.Second)
		if got != Success || out != "" || err != nil {
			t.Fatalf("attempt %d: %v %q %v, want Success", i+1, got, out, err)
		}
		if n := execs(); n != want {
			t.Errorf("after attempt %d: %d execs created, want %d (%v)", i+1, n, want, f.Calls())
		}
	}
}
