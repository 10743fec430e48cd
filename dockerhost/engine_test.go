package dockerhost

// Integration tests against the real Docker engine of this machine
// (DOCKER_HOST or the local socket). They need the images `make images`
// builds (nothing is ever pulled) and, for the pause image test, the pause
// program `make pause` embeds. An unreachable engine fails them: they never
// skip. Every test labels what it creates with its own node name and a
// random suffix, removes it all in t.Cleanup, and checks at the very end that
// nothing carrying its label remains, so parallel runs cannot collide.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/vk-docker/vk-docker/dockerhost/internal/tartest"
)

const (
	itestBusybox = "vk-docker/busybox:0.1.0"
	itestPause   = "vk-docker/pause:0.1.0"
	itestTimeout = 30 * time.Second
)

// itest is one engine test's world: a client, and a node name that labels
// everything the test creates.
type itest struct {
	t      *testing.T
	ctx    context.Context
	c      Client
	suffix string
	node   string
	uid    string
}

func newITest(t *testing.T) *itest {
	t.Helper()
	t.Parallel()
	c, err := New("")
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("the Docker engine is unreachable; these integration tests need it: %v", err)
	}
	for _, ref := range []string{itestBusybox, itestPause} {
		if _, err := c.ImageInspect(ctx, ref); err != nil {
			t.Fatalf("image %s: %v (build it with `make images`; these tests never pull)", ref, err)
		}
	}
	suffix := randomHex(4)
	it := &itest{t: t, ctx: ctx, c: c, suffix: suffix, node: "itest-" + suffix,
		uid: randomHex(4) + "-" + randomHex(2) + "-" + randomHex(2) + "-" + randomHex(2) + "-" + randomHex(6)}
	// Registered first, so it runs after every other cleanup of the test.
	t.Cleanup(func() {
		ctx := context.Background()
		if list, err := c.ContainerList(ctx, NodeSelector(it.node)); err != nil || len(list) != 0 {
			t.Errorf("containers labelled %s left on the engine: %d (%v)", it.node, len(list), err)
		}
		if vols, err := c.VolumeList(ctx, NodeSelector(it.node)); err != nil || len(vols) != 0 {
			t.Errorf("volumes labelled %s left on the engine: %d (%v)", it.node, len(vols), err)
		}
	})
	return it
}

// pauseImageRef names a pause image of this test's own, built from this
// build's pause program (the shared one may predate it), and removes the
// image when the test ends.
func (it *itest) pauseImageRef(tag string) string {
	it.t.Helper()
	if _, err := PauseBinary(); err != nil {
		it.t.Fatalf("%v (run `make pause` first)", err)
	}
	ref := DefaultPauseImageRepo + ":" + tag + "-" + it.suffix
	raw, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		it.t.Fatal(err)
	}
	it.t.Cleanup(func() {
		if _, err := raw.ImageRemove(context.Background(), ref, image.RemoveOptions{PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
			it.t.Errorf("remove image %s: %v", ref, err)
		}
		_ = raw.Close()
	})
	return ref
}

func (it *itest) labels(extra ...string) map[string]string {
	l := map[string]string{LabelNode: it.node, LabelPodUID: it.uid, LabelPodName: "pod-" + it.suffix, LabelPodNamespace: "default"}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

func (it *itest) name(container string, attempt int) ContainerName {
	return ContainerName{Container: container, Pod: "pod-" + it.suffix, Namespace: "default", UID: it.uid, Attempt: attempt}
}

// create creates a container and removes it when the test ends.
func (it *itest) create(name string, cfg *container.Config, host *container.HostConfig) string {
	it.t.Helper()
	resp, err := it.c.ContainerCreate(it.ctx, cfg, host, nil, name)
	if err != nil {
		it.t.Fatalf("create %s: %v", name, err)
	}
	it.t.Cleanup(func() {
		if err := it.c.ContainerRemove(context.Background(), resp.ID); err != nil && !cerrdefs.IsNotFound(err) {
			it.t.Errorf("remove %s: %v", name, err)
		}
	})
	return resp.ID
}

func (it *itest) start(id string) {
	it.t.Helper()
	if err := it.c.ContainerStart(it.ctx, id); err != nil {
		it.t.Fatalf("start %s: %v", id, err)
	}
}

// sandbox creates and starts a pause container the way lifecycle does.
func (it *itest) sandbox() string {
	it.t.Helper()
	id := it.create(it.name(SandboxContainerName, 0).String(),
		&container.Config{Image: itestPause, Hostname: "pod-" + it.suffix,
			Labels: it.labels(LabelContainerName, SandboxContainerName, LabelDockerType, DockerTypeSandbox)},
		&container.HostConfig{NetworkMode: "bridge", IpcMode: container.IPCModeShareable, DNS: []string{"127.0.0.1"}})
	it.start(id)
	return id
}

// waitExited waits for the container to stop and returns its state.
func (it *itest) waitExited(id string) *container.State {
	it.t.Helper()
	deadline := time.Now().Add(itestTimeout)
	for {
		in, err := it.c.ContainerInspect(it.ctx, id)
		if err != nil {
			it.t.Fatalf("inspect %s: %v", id, err)
		}
		if !in.State.Running && in.State.Status == container.StateExited {
			return in.State
		}
		if time.Now().After(deadline) {
			it.t.Fatalf("container %s still %s after %v", id, in.State.Status, itestTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEngineContainerRoundTrip(t *testing.T) {
	it := newITest(t)
	sb := it.sandbox()
	appName := it.name("app", 0)
	join := "container:" + sb
	app := it.create(appName.String(),
		&container.Config{Image: itestBusybox, Entrypoint: []string{"sleep"}, Cmd: []string{"300"},
			Labels: it.labels(LabelContainerName, "app", LabelDockerType, DockerTypeContainer, LabelRestartCount, "0")},
		&container.HostConfig{NetworkMode: container.NetworkMode(join), IpcMode: container.IpcMode(join)})
	it.start(app)

	for _, ref := range []string{app, appName.String(), "/" + appName.String()} {
		in, err := it.c.ContainerInspect(it.ctx, ref)
		if err != nil {
			t.Fatalf("inspect %q: %v", ref, err)
		}
		if in.ID != app || in.Name != "/"+appName.String() {
			t.Errorf("inspect %q = %s %s", ref, in.ID, in.Name)
		}
	}
	in, _ := it.c.ContainerInspect(it.ctx, app)
	if parsed, err := ParseContainerName(in.Name); err != nil || parsed != appName {
		t.Errorf("ParseContainerName(%q) = %+v, %v; want %+v", in.Name, parsed, err, appName)
	}
	if !in.State.Running || in.State.Pid == 0 || in.Config.Labels[LabelPodUID] != it.uid || in.Config.Labels[LabelContainerName] != "app" {
		t.Errorf("app state %+v labels %v", in.State, in.Config.Labels)
	}
	if _, err := time.Parse(time.RFC3339Nano, in.State.StartedAt); err != nil {
		t.Errorf("StartedAt %q is not RFC 3339: %v", in.State.StartedAt, err)
	}
	if string(in.HostConfig.NetworkMode) != join || string(in.HostConfig.IpcMode) != join {
		t.Errorf("app NetworkMode %q IpcMode %q, want %q", in.HostConfig.NetworkMode, in.HostConfig.IpcMode, join)
	}
	sbIn, _ := it.c.ContainerInspect(it.ctx, sb)
	if ep := sbIn.NetworkSettings.Networks["bridge"]; ep == nil || ep.IPAddress == "" {
		t.Errorf("the sandbox has no address on the bridge network: %+v", sbIn.NetworkSettings.Networks)
	}

	if err := it.c.ContainerKill(it.ctx, app, "SIGKILL"); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if st := it.waitExited(app); st.ExitCode != 137 || st.FinishedAt == "" {
		t.Errorf("after SIGKILL: exit %d finished %q, want 137", st.ExitCode, st.FinishedAt)
	}
	if err := it.c.ContainerKill(it.ctx, app, "SIGKILL"); !cerrdefs.IsConflict(err) {
		t.Errorf("killing a stopped container: %v, want a conflict", err)
	}
	// pause exits 0 on SIGTERM.
	if err := it.c.ContainerKill(it.ctx, sb, "SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if st := it.waitExited(sb); st.ExitCode != 0 {
		t.Errorf("pause exited %d on SIGTERM, want 0", st.ExitCode)
	}

	for _, id := range []string{app, sb} {
		if err := it.c.ContainerRemove(it.ctx, id); err != nil {
			t.Fatalf("remove %s: %v", id, err)
		}
		if _, err := it.c.ContainerInspect(it.ctx, id); !cerrdefs.IsNotFound(err) {
			t.Errorf("inspect after remove: %v, want not found", err)
		}
		if err := it.c.ContainerRemove(it.ctx, id); !cerrdefs.IsNotFound(err) {
			t.Errorf("second remove: %v, want not found", err)
		}
	}
}

func TestEngineContainerListFiltersByLabel(t *testing.T) {
	it := newITest(t)
	other := "other-" + it.suffix
	a0 := it.create(it.name("a", 0).String(), &container.Config{Image: itestBusybox, Cmd: []string{"true"},
		Labels: it.labels(LabelContainerName, "a", LabelContainerIndex, "0")}, nil)
	a1 := it.create(it.name("a", 1).String(), &container.Config{Image: itestBusybox, Cmd: []string{"sleep", "300"},
		Labels: it.labels(LabelContainerName, "a")}, nil)
	b := it.create("k8s_b_pod-"+it.suffix+"_default_"+other+"_0", &container.Config{Image: itestBusybox, Cmd: []string{"true"},
		Labels: it.labels(LabelPodUID, other, LabelContainerName, "b")}, nil)
	it.start(a1)

	cases := []struct {
		name    string
		filters []string
		want    []string
	}{
		{"the node's containers, stopped ones included", []string{NodeSelector(it.node)}, []string{a0, a1, b}},
		{"one pod", []string{NodeSelector(it.node), PodSelector(it.uid)}, []string{a0, a1}},
		{"the other pod", []string{NodeSelector(it.node), PodSelector(other)}, []string{b}},
		{"a label that must exist", []string{NodeSelector(it.node), LabelContainerIndex}, []string{a0}},
		{"a value no container has", []string{NodeSelector(it.node), LabelContainerName + "=c"}, nil},
	}
	for _, c := range cases {
		list, err := it.c.ContainerList(it.ctx, c.filters...)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range list {
			got = append(got, s.ID)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: listed %q, want %q", c.name, got, want)
		}
	}
	list, _ := it.c.ContainerList(it.ctx, NodeSelector(it.node), PodSelector(it.uid))
	states := map[string]string{}
	for _, s := range list {
		states[s.Names[0]] = s.State
	}
	want := map[string]string{"/" + it.name("a", 0).String(): "created", "/" + it.name("a", 1).String(): "running"}
	if !maps.Equal(states, want) {
		t.Errorf("names and states = %v, want %v", states, want)
	}
}

// The fake and lifecycle rely on the engine classifying these errors.
func TestEngineClassifiesErrors(t *testing.T) {
	it := newITest(t)
	name := it.name("app", 0).String()
	id := it.create(name, &container.Config{Image: itestBusybox, Cmd: []string{"sleep", "300"}, Labels: it.labels()}, nil)
	vol := VolumeName(it.uid, "data")
	if err := it.c.VolumeCreate(it.ctx, vol, it.labels()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = it.c.VolumeRemove(context.Background(), vol) })
	it.create(it.name("user", 0).String(), &container.Config{Image: itestBusybox, Labels: it.labels()},
		&container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/data"}}})
	stoppedSandbox := it.create(it.name(SandboxContainerName, 0).String(), &container.Config{Image: itestPause, Labels: it.labels()},
		&container.HostConfig{IpcMode: container.IPCModeShareable})
	joined := it.create(it.name("joined", 0).String(), &container.Config{Image: itestBusybox, Labels: it.labels()},
		&container.HostConfig{NetworkMode: container.NetworkMode("container:" + stoppedSandbox)})
	missing := "itest-missing-" + it.suffix

	_, dupErr := it.c.ContainerCreate(it.ctx, &container.Config{Image: itestBusybox, Labels: it.labels()}, nil, nil, name)
	_, inspectErr := it.c.ContainerInspect(it.ctx, missing)
	_, imageErr := it.c.ImageInspect(it.ctx, "vk-docker/missing:itest-"+it.suffix)
	cases := []struct {
		what string
		err  error
		is   func(error) bool
	}{
		{"a duplicate name", dupErr, cerrdefs.IsConflict},
		{"inspecting a missing container", inspectErr, cerrdefs.IsNotFound},
		{"removing a missing container", it.c.ContainerRemove(it.ctx, missing), cerrdefs.IsNotFound},
		{"inspecting a missing image", imageErr, cerrdefs.IsNotFound},
		{"removing a missing volume", it.c.VolumeRemove(it.ctx, missing), cerrdefs.IsNotFound},
		{"killing a container that never started", it.c.ContainerKill(it.ctx, id, "SIGTERM"), cerrdefs.IsConflict},
		{"removing a volume in use", it.c.VolumeRemove(it.ctx, vol), cerrdefs.IsConflict},
		{"joining a stopped sandbox's network", it.c.ContainerStart(it.ctx, joined), cerrdefs.IsConflict},
	}
	for _, c := range cases {
		if c.err == nil || !c.is(c.err) {
			t.Errorf("%s: error %v (%T) is not classified as expected", c.what, c.err, c.err)
		}
	}
}

func TestEngineVolumes(t *testing.T) {
	it := newITest(t)
	name := VolumeName(it.uid, "cache")
	labels := it.labels(LabelVolumeName, "cache")
	if err := it.c.VolumeCreate(it.ctx, name, labels); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = it.c.VolumeRemove(context.Background(), name) })
	if err := it.c.VolumeCreate(it.ctx, name, labels); err != nil {
		t.Fatalf("creating an existing named volume: %v, want a no-op", err)
	}
	vols, err := it.c.VolumeList(it.ctx, NodeSelector(it.node), PodSelector(it.uid))
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 1 || vols[0].Name != name || vols[0].Labels[LabelVolumeName] != "cache" || vols[0].Driver != "local" {
		t.Fatalf("volumes = %+v, want %s", vols, name)
	}
	if vols, _ := it.c.VolumeList(it.ctx, NodeSelector(it.node), LabelVolumeName+"=other"); len(vols) != 0 {
		t.Errorf("a filter on another value listed %d volumes", len(vols))
	}
	if err := it.c.VolumeRemove(it.ctx, name); err != nil {
		t.Fatal(err)
	}
	if vols, _ := it.c.VolumeList(it.ctx, NodeSelector(it.node)); len(vols) != 0 {
		t.Errorf("volumes after removal = %+v", vols)
	}
	if err := it.c.VolumeRemove(it.ctx, name); !cerrdefs.IsNotFound(err) {
		t.Errorf("second remove: %v, want not found", err)
	}
}

// A volume the engine creates itself, because it was gone when one of the
// pod's containers was created, carries the pod's labels: the reaper finds
// it by them.
func TestEngineLabelsAVolumeItCreatesForAContainer(t *testing.T) {
	it := newITest(t)
	name := VolumeName(it.uid, "gone")
	t.Cleanup(func() { _ = it.c.VolumeRemove(context.Background(), name) })
	it.create(it.name("app", 0).String(),
		&container.Config{Image: itestPause, Labels: it.labels(LabelContainerName, "app")},
		&container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: name, Target: "/data"}}})
	vols, err := it.c.VolumeList(it.ctx, NodeSelector(it.node), PodSelector(it.uid))
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 1 || vols[0].Name != name || vols[0].Labels[LabelPodNamespace] != "default" {
		t.Fatalf("volumes of the pod = %+v, want %s with the pod's labels", vols, name)
	}
}

func TestEngineEventsCarryTheContainersLabels(t *testing.T) {
	it := newITest(t)
	ctx, cancel := context.WithCancel(it.ctx)
	defer cancel()
	msgs, errs := it.c.Events(ctx, time.Time{}, NodeSelector(it.node))
	id := it.create(it.name("app", 0).String(), &container.Config{Image: itestBusybox, Cmd: []string{"true"}, Labels: it.labels()}, nil)
	it.start(id)
	var got []string
	timeout := time.After(itestTimeout)
	for !slices.Contains(got, string(events.ActionDie)) {
		select {
		case m := <-msgs:
			if m.Actor.ID != id || m.Actor.Attributes[LabelPodUID] != it.uid || m.Type != events.ContainerEventType {
				t.Fatalf("event %+v is not about the test's container", m)
			}
			got = append(got, string(m.Action))
		case err := <-errs:
			t.Fatalf("event stream: %v", err)
		case <-timeout:
			t.Fatalf("events so far %q, want create, start, die", got)
		}
	}
	if want := []string{"create", "start", "die"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

// CopyFromContainer reads the files of a container that has exited, its
// first tar entry being the path itself (a symlink not followed); a missing
// path is NotFound. A file written to /dev is gone with the process: the
// engine mounts a tmpfs there, so a termination message at the default
// /dev/termination-log is only found when something is mounted at it. The log
// of a container without TTY is multiplexed and cut by Tail.
func TestEngineCopyFromAnExitedContainer(t *testing.T) {
	it := newITest(t)
	script := "echo bye > /tmp/msg && echo bye > /dev/termination-log && ln -s msg /tmp/link && mkdir /tmp/d && " +
		// The engine copies stdout and stderr separately: the pause keeps
		// the two streams in order in its log.
		"seq 1 60 && sleep 0.3 && seq 61 100 >&2; exit 3"
	id := it.create(it.name("app", 0).String(),
		&container.Config{Image: itestBusybox, Entrypoint: []string{"sh", "-c", script}, Labels: it.labels()}, nil)
	it.start(id)
	if st := it.waitExited(id); st.ExitCode != 3 {
		t.Fatalf("the container exited %d, want 3", st.ExitCode)
	}

	for path, want := range map[string][]string{
		"/tmp/msg":  {"msg=bye\n"},
		"/tmp/link": {"link->msg"},
		"/tmp/d":    {"d/"},
	} {
		rc, err := it.c.CopyFromContainer(it.ctx, id, path)
		if err != nil {
			t.Errorf("copy %s: %v", path, err)
			continue
		}
		if got := tartest.Entries(t, rc); !slices.Equal(got, want) {
			t.Errorf("copy %s = %q, want %q", path, got, want)
		}
	}
	for _, c := range []struct{ id, path string }{
		{id, "/dev/termination-log"},
		{id, "/nope"},
		{"itest-missing-" + it.suffix, "/tmp/msg"},
	} {
		rc, err := it.c.CopyFromContainer(it.ctx, c.id, c.path)
		if err == nil {
			t.Errorf("copy %s from %s: %q, want NotFound", c.path, c.id, tartest.Entries(t, rc))
		} else if !cerrdefs.IsNotFound(err) {
			t.Errorf("copy %s from %s: %v (%T), want NotFound", c.path, c.id, err, err)
		}
	}

	rc, err := it.c.ContainerLogs(it.ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "80"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	_, err = stdcopy.StdCopy(&stdout, &stderr, rc)
	rc.Close()
	seq := func(from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "%d\n", i)
		}
		return b.String()
	}
	if err != nil || stdout.String() != seq(21, 60) || stderr.String() != seq(61, 100) {
		t.Errorf("the last 80 log lines: stdout %q stderr %q (%v), want 21-60 and 61-100", stdout.String(), stderr.String(), err)
	}
}

// countingClient counts image imports.
type countingClient struct {
	Client
	imports atomic.Int32
}

func (c *countingClient) ImageImport(ctx context.Context, rootfs io.Reader, ref string, changes []string) error {
	c.imports.Add(1)
	return c.Client.ImageImport(ctx, rootfs, ref, changes)
}

func TestEnsurePauseImageBuildsTheEmbeddedProgram(t *testing.T) {
	it := newITest(t)
	ref := it.pauseImageRef("itest")
	c := &countingClient{Client: it.c}

	if err := EnsurePauseImage(it.ctx, c, ref); err != nil {
		t.Fatalf("EnsurePauseImage: %v", err)
	}
	if n := c.imports.Load(); n != 1 {
		t.Fatalf("imports = %d, want 1", n)
	}
	img, err := it.c.ImageInspect(it.ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if img.Config == nil || img.Config.Labels[LabelPauseSHA256] == "" || !slices.Equal(img.Config.Entrypoint, []string{"/pause"}) {
		t.Fatalf("image config = %+v", img.Config)
	}

	id := it.create(it.name(SandboxContainerName, 0).String(), &container.Config{Image: ref, Cmd: []string{"--version"}, Labels: it.labels()}, nil)
	it.start(id)
	if st := it.waitExited(id); st.ExitCode != 0 {
		t.Errorf("/pause --version exited %d", st.ExitCode)
	}
	rc, err := it.c.ContainerLogs(it.ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	_, err = stdcopy.StdCopy(&stdout, &stderr, rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "vk-docker pause") {
		t.Errorf("/pause --version printed %q (stderr %q)", stdout.String(), stderr.String())
	}

	if err := EnsurePauseImage(it.ctx, c, ref); err != nil {
		t.Fatalf("second EnsurePauseImage: %v", err)
	}
	if n := c.imports.Load(); n != 1 {
		t.Errorf("the second call imported again (imports = %d)", n)
	}
}

// A rebuild of the pause image removes the image it took the tag from,
// unless a sandbox still uses it; nothing is left untagged otherwise.
func TestEnsurePauseImageRemovesTheImageItReplaced(t *testing.T) {
	for _, inUse := range []bool{false, true} {
		t.Run(fmt.Sprintf("in use %v", inUse), func(t *testing.T) {
			it := newITest(t)
			ref := it.pauseImageRef("itest-replace")
			stale, err := pauseRootFS([]byte("#!/bin/sh\n"))
			if err != nil {
				t.Fatal(err)
			}
			if err := it.c.ImageImport(it.ctx, stale, ref, []string{"LABEL " + LabelPauseSHA256 + "=stale"}); err != nil {
				t.Fatal(err)
			}
			old, err := it.c.ImageInspect(it.ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if inUse {
				id := it.create(it.name(SandboxContainerName, 0).String(), &container.Config{Image: old.ID, Entrypoint: []string{"/pause"}, Labels: it.labels()}, nil)
				t.Cleanup(func() {
					if err := it.c.ContainerRemove(context.Background(), id); err != nil {
						t.Error(err)
					}
					if err := it.c.ImageRemove(context.Background(), old.ID); err != nil && !cerrdefs.IsNotFound(err) {
						t.Errorf("remove the replaced image: %v", err)
					}
				})
			}
			if err := EnsurePauseImage(it.ctx, it.c, ref); err != nil {
				t.Fatal(err)
			}
			_, err = it.c.ImageInspect(it.ctx, old.ID)
			switch {
			case inUse && err != nil:
				t.Errorf("the replaced image, used by a container: %v; want it kept", err)
			case !inUse && !cerrdefs.IsNotFound(err):
				t.Errorf("the replaced image: inspect err %v, want NotFound", err)
			}
		})
	}
}

// randomHex returns n random bytes in hex, for names no other run uses.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
