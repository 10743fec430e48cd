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

const engineTestImage = "vk-docker/busybox:0.1.0"

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
	c, err := d.ContainerCreate(ctx, &container.Config{
		Image:  engineTestImage,
		Cmd:    []string{"sleep", "3600"},
		Labels: map[string]string{dockerhost.LabelNode: node},
	}, &container.HostConfig{Init: new(true)}, nil, node)
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
		{name: "output cut at 10 KiB", cmd: []string{"sh", "-c", "head -c 20000 /dev/zero | tr '\\0' x; exit 1"}, want: Failure, output: strings.Repeat("x", 10<<10)},
		{name: "no such command", cmd: []string{"no-such-command"}, want: Failure, output: "executable file not found", substr: true},
		{name: "hangs", cmd: []string{"sleep", "10"}, timeout: time.Second, want: Failure,
			output: `command timed out: "sleep 10" timed out after 1s`, maxTime: 1500 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			start := time.Now()
			got, out, err := ProbeExec(ctx, d, c.ID, tc.cmd, timeout)
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

	t.Run("stopped container", func(t *testing.T) {
		if err := d.ContainerStop(ctx, c.ID, "KILL", 0); err != nil {
			t.Fatal(err)
		}
		got, out, err := ProbeExec(ctx, d, c.ID, []string{"true"}, time.Second)
		if got != Unknown || out != "" || err == nil {
			t.Fatalf("ProbeExec: %v %q %v, want Unknown and an error", got, out, err)
		}
	})
}
