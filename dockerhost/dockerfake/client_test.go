package dockerfake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/dockerhost/internal/tartest"
)

func newFakeWithImages(t *testing.T) *Client {
	t.Helper()
	f := New()
	f.AddImage("busybox:1", "", "")
	f.AddImage("pause:1", "", "")
	f.AddImage("nginx:1", "", "SIGQUIT")
	return f
}

func mustCreate(t *testing.T, f *Client, name string, cfg container.Config, host container.HostConfig) string {
	t.Helper()
	resp, err := f.ContainerCreate(context.Background(), &cfg, &host, nil, name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return resp.ID
}

func TestFakeClassifiesErrorsLikeTheEngine(t *testing.T) {
	ctx := context.Background()
	f := newFakeWithImages(t)
	id := mustCreate(t, f, "one", container.Config{Image: "busybox:1"}, container.HostConfig{})
	mustCreate(t, f, "uses-vol", container.Config{Image: "busybox:1"},
		container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "data", Target: "/d"}}})

	cases := []struct {
		name string
		err  error
		is   func(error) bool
	}{
		{"duplicate name", second(f.ContainerCreate(ctx, &container.Config{Image: "busybox:1"}, nil, nil, "one")), cerrdefs.IsConflict},
		{"duplicate name with slash", second(f.ContainerCreate(ctx, &container.Config{Image: "busybox:1"}, nil, nil, "/one")), cerrdefs.IsConflict},
		{"missing image on create", second(f.ContainerCreate(ctx, &container.Config{Image: "nope:1"}, nil, nil, "two")), cerrdefs.IsNotFound},
		{"unknown network", second(f.ContainerCreate(ctx, &container.Config{Image: "busybox:1"}, &container.HostConfig{NetworkMode: "mynet"}, nil, "three")), cerrdefs.IsNotFound},
		{"inspect missing container", second(f.ContainerInspect(ctx, "missing")), cerrdefs.IsNotFound},
		{"start missing container", f.ContainerStart(ctx, "missing"), cerrdefs.IsNotFound},
		{"remove missing container", f.ContainerRemove(ctx, "missing"), cerrdefs.IsNotFound},
		{"kill a created container", f.ContainerKill(ctx, id, "SIGTERM"), cerrdefs.IsConflict},
		{"kill with a bad signal", f.ContainerKill(ctx, id, "SIGNOPE"), cerrdefs.IsInvalidArgument},
		{"inspect missing image", second(f.ImageInspect(ctx, "nope:1")), cerrdefs.IsNotFound},
		{"remove missing volume", f.VolumeRemove(ctx, "nope"), cerrdefs.IsNotFound},
		{"remove a volume in use", f.VolumeRemove(ctx, "data"), cerrdefs.IsConflict},
	}
	for _, c := range cases {
		if c.err == nil || !c.is(c.err) {
			t.Errorf("%s: error %v has the wrong classification", c.name, c.err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestFakeContainerLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFakeWithImages(t)
	labels := map[string]string{dockerhost.LabelPodUID: "u1", dockerhost.LabelNode: "n1"}
	sb := mustCreate(t, f, "k8s_POD_p_ns_u1_0", container.Config{Image: "pause:1", Labels: labels},
		container.HostConfig{NetworkMode: "bridge", IpcMode: container.IPCModeShareable})
	app := mustCreate(t, f, "k8s_app_p_ns_u1_0", container.Config{Image: "nginx:1", Labels: labels},
		container.HostConfig{NetworkMode: container.NetworkMode("container:" + sb), IpcMode: container.IpcMode("container:" + sb)})

	if err := f.ContainerStart(ctx, app); !cerrdefs.IsConflict(err) {
		t.Fatalf("starting a container joined to a stopped sandbox: %v, want a conflict", err)
	}
	for _, id := range []string{sb, app} {
		if err := f.ContainerStart(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	sbInfo, err := f.ContainerInspect(ctx, "/k8s_POD_p_ns_u1_0")
	if err != nil {
		t.Fatal(err)
	}
	if sbInfo.ID != sb || !sbInfo.State.Running || sbInfo.State.Pid == 0 {
		t.Fatalf("inspect by name = %s running=%v pid=%d", sbInfo.ID, sbInfo.State.Running, sbInfo.State.Pid)
	}
	if ip := sbInfo.NetworkSettings.Networks["bridge"].IPAddress; !strings.HasPrefix(ip, "172.17.0.") || ip == Gateway {
		t.Fatalf("sandbox IP = %q", ip)
	}
	appInfo, _ := f.ContainerInspect(ctx, app)
	if appInfo.Config.StopSignal != "SIGQUIT" {
		t.Fatalf("the container did not inherit its image's STOPSIGNAL: %q", appInfo.Config.StopSignal)
	}
	if _, err := time.Parse(time.RFC3339Nano, appInfo.State.StartedAt); err != nil {
		t.Fatalf("StartedAt %q: %v", appInfo.State.StartedAt, err)
	}

	list, _ := f.ContainerList(ctx, dockerhost.LabelPodUID+"=u1")
	if len(list) != 2 || list[0].Names[0] != "/k8s_app_p_ns_u1_0" || list[0].State != "running" {
		t.Fatalf("list = %+v", list)
	}
	for _, filter := range [][]string{{dockerhost.LabelPodUID + "=u2"}, {"absent"}, {dockerhost.LabelPodUID, dockerhost.LabelNode + "=n2"}} {
		if list, _ := f.ContainerList(ctx, filter...); len(list) != 0 {
			t.Errorf("filter %q matched %d containers", filter, len(list))
		}
	}

	// Signals: a container that ignores SIGQUIT survives it, not SIGKILL.
	f.IgnoreSignal("k8s_app_p_ns_u1_0", "QUIT")
	if err := f.ContainerKill(ctx, app, "SIGQUIT"); err != nil {
		t.Fatal(err)
	}
	if in, _ := f.ContainerInspect(ctx, app); !in.State.Running {
		t.Fatal("a container ignoring SIGQUIT exited on it")
	}
	if err := f.ContainerKill(ctx, app, "KILL"); err != nil {
		t.Fatal(err)
	}
	if in, _ := f.ContainerInspect(ctx, app); in.State.Running || in.State.Status != "exited" || in.State.ExitCode != 137 {
		t.Fatalf("after SIGKILL: %+v", in.State)
	}
	if got := f.Signals(app); !slices.Equal(got, []string{"SIGQUIT", "SIGKILL"}) {
		t.Fatalf("signals = %q", got)
	}
	if err := f.ContainerKill(ctx, sb, "15"); err != nil {
		t.Fatal(err)
	}
	if in, _ := f.ContainerInspect(ctx, sb); in.State.ExitCode != 143 || in.NetworkSettings.Networks["bridge"].IPAddress != "" {
		t.Fatalf("sandbox after SIGTERM: exit %d, ip %q", in.State.ExitCode, in.NetworkSettings.Networks["bridge"].IPAddress)
	}

	// A crash.
	if err := f.ContainerStart(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if err := f.SetExited(sb, 137, true); err != nil {
		t.Fatal(err)
	}
	if in, _ := f.ContainerInspect(ctx, sb); !in.State.OOMKilled || in.State.ExitCode != 137 {
		t.Fatalf("after an OOM kill: %+v", in.State)
	}

	for _, id := range []string{app, sb} {
		if err := f.ContainerRemove(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if list, _ := f.ContainerList(ctx); len(list) != 0 {
		t.Fatalf("%d containers left", len(list))
	}
	want := []string{"ContainerCreate k8s_POD_p_ns_u1_0", "ContainerCreate k8s_app_p_ns_u1_0", "ContainerStart " + app}
	if got := f.Calls(); !slices.Equal(got[:3], want) {
		t.Fatalf("calls start with %q, want %q", got[:3], want)
	}
}

func TestFakeInjectedErrorsAndHook(t *testing.T) {
	ctx := context.Background()
	f := newFakeWithImages(t)
	boom := errors.New("boom")
	f.InjectError("ImagePull", boom)
	if err := f.ImagePull(ctx, "alpine:3", image.PullOptions{}); !errors.Is(err, boom) {
		t.Fatalf("pull = %v", err)
	}
	if _, ok := f.Image("alpine:3"); ok {
		t.Fatal("a failed pull added the image")
	}
	f.InjectError("ImagePull", nil)
	if err := f.ImagePull(ctx, "alpine", image.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ImageInspect(ctx, "alpine:latest"); err != nil {
		t.Fatalf("pulled image: %v", err)
	}
	f.SetHook(func(op string, args []string) error {
		if op == "VolumeCreate" && args[0] == "bad" {
			return boom
		}
		return nil
	})
	if err := f.VolumeCreate(ctx, "bad", nil); !errors.Is(err, boom) {
		t.Fatalf("hooked create = %v", err)
	}
	if err := f.VolumeCreate(ctx, "good", map[string]string{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.VolumeCreate(ctx, "good", map[string]string{"a": "2"}); err != nil {
		t.Fatalf("creating an existing volume: %v", err)
	}
	vols, _ := f.VolumeList(ctx, "a=1")
	if len(vols) != 1 || vols[0].Name != "good" {
		t.Fatalf("volumes = %+v", vols)
	}
}

func TestFakeImageImportRecordsChanges(t *testing.T) {
	ctx := context.Background()
	f := New()
	changes := []string{`ENTRYPOINT ["/pause"]`, "LABEL " + dockerhost.LabelPauseSHA256 + "=abc"}
	if err := f.ImageImport(ctx, bytes.NewReader(make([]byte, 1024)), "vk-docker/pause:x", changes); err != nil {
		t.Fatal(err)
	}
	img, err := f.ImageInspect(ctx, "vk-docker/pause:x")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(img.Config.Entrypoint, []string{"/pause"}) || img.Config.Labels[dockerhost.LabelPauseSHA256] != "abc" {
		t.Fatalf("image config = %+v", img.Config)
	}
	if got, _ := f.Image("vk-docker/pause:x"); got.RootFSSize != 1024 || !slices.Equal(got.Changes, changes) {
		t.Fatalf("recorded image = %+v", got)
	}
}

func TestFakeEventsCarryLabelsAndFilter(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFakeWithImages(t)
	msgs, errs := f.Events(ctx, time.Time{}, dockerhost.LabelNode+"=n1")
	mine := mustCreate(t, f, "mine", container.Config{Image: "busybox:1", Labels: map[string]string{dockerhost.LabelNode: "n1", dockerhost.LabelPodUID: "u"}}, container.HostConfig{})
	mustCreate(t, f, "other", container.Config{Image: "busybox:1", Labels: map[string]string{dockerhost.LabelNode: "n2"}}, container.HostConfig{})
	if err := f.ContainerStart(ctx, mine); err != nil {
		t.Fatal(err)
	}
	if err := f.ContainerRemove(ctx, mine); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 5 {
		select {
		case m := <-msgs:
			if m.Actor.ID != mine || m.Actor.Attributes[dockerhost.LabelPodUID] != "u" || m.Type != events.ContainerEventType {
				t.Fatalf("unexpected event %+v", m)
			}
			got = append(got, string(m.Action))
		case err := <-errs:
			t.Fatalf("stream ended: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatalf("events so far %q", got)
		}
	}
	if want := []string{"create", "start", "kill", "die", "destroy"}; !slices.Equal(got, want) {
		t.Fatalf("events = %q, want %q", got, want)
	}
	cancel()
	select {
	case err := <-errs:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stream error = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end with its context")
	}
}

func TestFakeCopyFromContainer(t *testing.T) {
	ctx := context.Background()
	f := newFakeWithImages(t)
	id := mustCreate(t, f, "app", container.Config{Image: "busybox:1"}, container.HostConfig{})
	if err := f.SetFile("missing", "/x", nil); !cerrdefs.IsNotFound(err) {
		t.Errorf("SetFile on a missing container: %v, want NotFound", err)
	}
	if err := f.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetFile(id, "/dev/termination-log", []byte("bye\n")))
	must(f.SetFile("app", "tmp/d/f", []byte("1")))
	must(f.SetFile(id, "/tmp/d/sub/g", nil))
	must(f.SetSymlink(id, "/tmp/link", "d/f"))
	must(f.SetExited(id, 3, false))

	cases := []struct {
		path string
		want []string
	}{
		{"/dev/termination-log", []string{"termination-log=bye\n"}},
		{"dev/../dev/termination-log", []string{"termination-log=bye\n"}},
		{"/tmp/link", []string{"link->d/f"}},
		{"/tmp/d", []string{"d/", "d/f=1", "d/sub/", "d/sub/g="}},
		{"/tmp/d/", []string{"d/", "d/f=1", "d/sub/", "d/sub/g="}},
	}
	for _, c := range cases {
		rc, err := f.CopyFromContainer(ctx, id, c.path)
		if err != nil {
			t.Errorf("copy %s: %v", c.path, err)
			continue
		}
		if got := tartest.Entries(t, rc); !slices.Equal(got, c.want) {
			t.Errorf("copy %s = %q, want %q", c.path, got, c.want)
		}
	}
	for _, p := range []string{"/nope", "/tmp/d/f/x", "/tmp/d/s"} {
		if _, err := f.CopyFromContainer(ctx, id, p); !cerrdefs.IsNotFound(err) {
			t.Errorf("copy of the missing %s: %v, want NotFound", p, err)
		}
	}
	must(f.ContainerRemove(ctx, id))
	if _, err := f.CopyFromContainer(ctx, id, "/dev/termination-log"); !cerrdefs.IsNotFound(err) {
		t.Errorf("copy from a removed container: %v, want NotFound", err)
	}
}

func TestFakeContainerLogs(t *testing.T) {
	ctx := context.Background()
	f := newFakeWithImages(t)
	plain := mustCreate(t, f, "plain", container.Config{Image: "busybox:1"}, container.HostConfig{})
	tty := mustCreate(t, f, "tty", container.Config{Image: "busybox:1", Tty: true}, container.HostConfig{})
	for _, id := range []string{plain, tty} {
		if err := f.AppendLog(id, false, "one\ntwo\n"); err != nil {
			t.Fatal(err)
		}
		if err := f.AppendLog(id, true, "three\nfour"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.AppendLog("missing", false, "x"); !cerrdefs.IsNotFound(err) {
		t.Errorf("AppendLog on a missing container: %v, want NotFound", err)
	}
	both := container.LogsOptions{ShowStdout: true, ShowStderr: true}
	tail := func(o container.LogsOptions, n string) container.LogsOptions { o.Tail = n; return o }

	demux := []struct {
		name           string
		options        container.LogsOptions
		stdout, stderr string
	}{
		{"everything", both, "one\ntwo\n", "three\nfour"},
		{"tail all", tail(both, "all"), "one\ntwo\n", "three\nfour"},
		{"the last 3 lines", tail(both, "3"), "two\n", "three\nfour"},
		{"tail 0", tail(both, "0"), "", ""},
		{"more lines than there are", tail(both, "80"), "one\ntwo\n", "three\nfour"},
		{"stdout only", container.LogsOptions{ShowStdout: true}, "one\ntwo\n", ""},
		{"the last stderr line", container.LogsOptions{ShowStderr: true, Tail: "1"}, "", "four"},
	}
	for _, c := range demux {
		rc, err := f.ContainerLogs(ctx, plain, c.options)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var stdout, stderr bytes.Buffer
		_, err = stdcopy.StdCopy(&stdout, &stderr, rc)
		rc.Close()
		if err != nil || stdout.String() != c.stdout || stderr.String() != c.stderr {
			t.Errorf("%s: stdout %q stderr %q (%v), want %q and %q", c.name, stdout.String(), stderr.String(), err, c.stdout, c.stderr)
		}
	}

	raw := func(id string, o container.LogsOptions) string {
		t.Helper()
		rc, err := f.ContainerLogs(ctx, id, o)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := raw(tty, tail(both, "2")); got != "three\nfour" {
		t.Errorf("a TTY's last 2 lines = %q, want them raw", got)
	}
	if err := f.SetLogs(plain, []byte("as is")); err != nil {
		t.Fatal(err)
	}
	if got := raw(plain, tail(both, "1")); got != "as is" {
		t.Errorf("after SetLogs: %q", got)
	}
	if _, err := f.ContainerLogs(ctx, plain, container.LogsOptions{}); !cerrdefs.IsInvalidArgument(err) {
		t.Errorf("logs of no stream: %v, want InvalidArgument", err)
	}
}
