package probes

// ProbeExec against the real Docker engine of this machine (DOCKER_HOST or
// the local socket), with the image `make images` builds (never pulled). As
// the engine tests of dockerhost, it fails rather than skips when the engine
// is unreachable. Its container is named and labelled probes-test-<random>
// and removed at the end, which checks that nothing so labelled remains.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
)

const (
	engineTestImage = "vk-docker/busybox:0.1.0"
	// noShellImage holds one static program and no shell.
	noShellImage = "vk-docker/dns-answer:0.1.0"
)

func TestProbeExecEngine(t *testing.T) {
	d, err := dockerhost.New("")
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	if err := d.Ping(ctx); err != nil {
		t.Fatalf("the Docker engine is unreachable; this test needs it: %v", err)
	}
	if _, err := d.ImageInspect(ctx, engineTestImage); err != nil {
		t.Fatalf("image %s: %v (build it with `make images`; this test never pulls)", engineTestImage, err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	node := "probes-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		list, err := d.ContainerList(context.Background(), dockerhost.NodeSelector(node))
		if err != nil || len(list) != 0 {
			t.Errorf("containers labelled %s left on the engine: %d (%v)", node, len(list), err)
		}
	})
	c := struct{ ID string }{runContainer(t, ctx, d, node, node, engineTestImage, []string{"sleep", "3600"})}

	cases := []struct {
		name    string
		cmd     []string
		timeout time.Duration
		want    Result
		output  string // exact, or a substring with contains
		substr  bool
		maxTime time.Duration
	}{
		{name: "exit 0", cmd: []string{"echo", "ok"}, want: Success},
		{name: "exit 3", cmd: []string{"sh", "-c", "exit 3"}, want: Failure},
		{name: "stdout then stderr", cmd: []string{"sh", "-c", "echo err >&2; echo out; exit 1"}, want: Failure, output: "out\nerr\n"},
		{name: "no trailing newline", cmd: []string{"sh", "-c", "printf out; printf err >&2; exit 1"}, want: Failure, output: "outerr"},
		{name: "arguments kept exactly", cmd: []string{"sh", "-c", "printf '[%s]' \"$@\"; exit 1", "-", "it's", " a\nb ", "$HOME", "*"}, want: Failure,
			output: "[it's][ a\nb ][$HOME][*]"},
		{name: "a path", cmd: []string{"/bin/sh", "-c", "exit 4"}, want: Failure},
		{name: "a shell builtin is no program", cmd: []string{"cd", "/"}, want: Failure, output: "executable file not found", substr: true},
		{name: "a directory is no program", cmd: []string{"/bin"}, want: Failure, output: "permission denied", substr: true},
		{name: "no stdin", cmd: []string{"sh", "-c", "cat; exit 1"}, want: Failure, output: ""},
		{name: "output cut at 10 KiB", cmd: []string{"sh", "-c", "head -c 20000 /dev/zero | tr '\\0' x; exit 1"}, want: Failure, output: strings.Repeat("x", 10<<10)},
		{name: "no such command", cmd: []string{"no-such-command"}, want: Failure, output: "executable file not found", substr: true},
		{name: "hangs", cmd: []string{"sleep", "3"}, timeout: time.Second, want: Failure,
			output: `command timed out: "sleep 3" timed out after 1s`, maxTime: 1500 * time.Millisecond},
		{name: "works after a timeout", cmd: []string{"true"}, want: Success},
	}
	execers := []struct {
		name   string
		execer Execer
	}{
		{"docker exec", ContainerExec{d, c.ID}},
		{"session", NewExecSession(d, c.ID)},
	}
	for _, e := range execers {
		t.Run(e.name, func(t *testing.T) {
			if s, ok := e.execer.(*ExecSession); ok {
				defer s.Close()
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					timeout := tc.timeout
					if timeout == 0 {
						timeout = 10 * time.Second
					}
					start := time.Now()
					got, out, err := e.execer.Exec(ctx, tc.cmd, timeout)
					elapsed := time.Since(start)
					if got != tc.want || err != nil {
						t.Errorf("result %v, err %v; want %v (output %q)", got, err, tc.want, trunc(out))
					}
					if tc.substr && !strings.Contains(out, tc.output) || !tc.substr && out != tc.output {
						t.Errorf("output %q (%d bytes), want %q (%d bytes)", trunc(out), len(out), trunc(tc.output), len(tc.output))
					}
					if tc.maxTime > 0 && (elapsed < timeout || elapsed > tc.maxTime) {
						t.Errorf("took %v, want between %v and %v", elapsed, timeout, tc.maxTime)
					}
				})
			}
		})
	}

	// A session costs the engine one exec however often it probes, and its
	// shell is gone once it is closed.
	t.Run("one exec per session", func(t *testing.T) {
		id := runContainer(t, ctx, d, node, node+"-one", engineTestImage, []string{"sleep", "3600"})
		s := NewExecSession(d, id)
		for range 20 {
			if got, out, err := s.Exec(ctx, []string{"true"}, time.Second); got != Success || err != nil {
				t.Fatalf("Exec: %v %q %v", got, out, err)
			}
		}
		if n := shellsRunning(t, ctx, d, id); n != 1 {
			t.Errorf("after 20 probes: %d shells running in the container, want 1", n)
		}
		s.Close()
		for deadline := time.Now().Add(5 * time.Second); shellsRunning(t, ctx, d, id) != 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the session's shell still runs 5 s after Close")
			}
		}
	})

	// A session keeps its shell through a timeout, and the next attempt
	// waits for the late answer; a command still running then costs the
	// shell, and the attempt after that gets a new one.
	t.Run("session after timeouts", func(t *testing.T) {
		id := runContainer(t, ctx, d, node, node+"-late", engineTestImage, []string{"sleep", "3600"})
		s := NewExecSession(d, id)
		defer s.Close()
		steps := []struct {
			cmd     []string
			timeout time.Duration
			want    Result
			shells  int
		}{
			{[]string{"sh", "-c", "sleep 1.5"}, time.Second, Failure, 1}, // late
			{[]string{"true"}, 2 * time.Second, Success, 1},              // waits for it, then runs
			{[]string{"sleep", "30"}, time.Second, Failure, 1},           // hung
			{[]string{"true"}, time.Second, Failure, 0},                  // still hung: shell dropped
			{[]string{"true"}, time.Second, Success, 1},                  // a new shell
		}
		for i, st := range steps {
			got, out, err := s.Exec(ctx, st.cmd, st.timeout)
			if got != st.want || err != nil {
				t.Fatalf("step %d (%v): %v %q %v, want %v", i+1, st.cmd, got, out, err, st.want)
			}
			if n := sessionShells(s); n != st.shells {
				t.Errorf("step %d: the session holds %d shells, want %d", i+1, n, st.shells)
			}
		}
	})

	// A container without a shell is probed with one docker exec each time.
	t.Run("no shell", func(t *testing.T) {
		if _, err := d.ImageInspect(ctx, noShellImage); err != nil {
			t.Fatalf("image %s: %v (build it with `make images`)", noShellImage, err)
		}
		bare := runContainer(t, ctx, d, node, node+"-bare", noShellImage, []string{"answer.test=10.0.0.1"})
		s := NewExecSession(d, bare)
		defer s.Close()
		for range 2 {
			got, out, err := s.Exec(ctx, []string{"/dnsanswer", "--no-such-flag"}, 5*time.Second)
			if got != Failure || err != nil || out == "" {
				t.Fatalf("Exec: %v %q %v; want Failure with the program's complaint", got, out, err)
			}
		}
		if !s.plain {
			t.Error("the session did not fall back to docker exec")
		}
	})

	t.Run("stopped container", func(t *testing.T) {
		if err := d.ContainerStop(ctx, c.ID, "KILL", 0); err != nil {
			t.Fatal(err)
		}
		for _, e := range execers {
			got, out, err := e.execer.Exec(ctx, []string{"true"}, time.Second)
			if got != Unknown || out != "" || err == nil {
				t.Errorf("%s: %v %q %v, want Unknown and an error", e.name, got, out, err)
			}
		}
	})
}

// shellsRunning counts the session shells running in the container.
func shellsRunning(t *testing.T, ctx context.Context, d dockerhost.Client, id string) int {
	t.Helper()
	out, code, err := runExec(ctx, d, id, []string{"ps", "-o", "args"})
	if err != nil || code != 0 {
		t.Fatalf("ps in the container: %v (exit %d)", err, code)
	}
	return strings.Count(out, ": vk-docker exec probes")
}

// runContainer starts a container name of image running cmd, labelled for node,
// and removes it when the test ends.
func runContainer(t *testing.T, ctx context.Context, d dockerhost.Client, node, name, image string, cmd []string) string {
	t.Helper()
	c, err := d.ContainerCreate(ctx, &container.Config{
		Image:  image,
		Cmd:    cmd,
		Labels: map[string]string{dockerhost.LabelNode: node},
	}, &container.HostConfig{Init: new(true)}, nil, name)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() {
		if err := d.ContainerRemove(context.Background(), c.ID); err != nil {
			t.Errorf("remove: %v", err)
		}
	})
	if err := d.ContainerStart(ctx, c.ID); err != nil {
		t.Fatalf("start: %v", err)
	}
	return c.ID
}

func sessionShells(s *ExecSession) int {
	if s.shell == nil {
		return 0
	}
	return 1
}
