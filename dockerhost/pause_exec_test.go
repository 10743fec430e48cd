package dockerhost

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/vk-docker/vk-docker/volumes/atomicdir"
)

// Files written through the sandbox land in the tmpfs volume itself, which
// another container of the pod then sees (with the ..data layout and the
// modes); an identical payload changes nothing; subPaths resolve inside the
// volume and never out of it.
func TestWriteVolumeFilesThroughTheSandbox(t *testing.T) {
	it := newITest(t)
	ref := it.pauseImageRef("itest-vol") // with setup and write-volume
	if err := EnsurePauseImage(it.ctx, it.c, ref); err != nil {
		t.Fatal(err)
	}
	vol := VolumeName(it.uid, "creds")
	if err := it.c.VolumeCreateOptions(it.ctx, vol, it.labels(LabelVolumeName, "creds"), TmpfsOptions(1<<20)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := it.c.VolumeRemove(context.Background(), vol); err != nil {
			t.Errorf("remove volume: %v", err)
		}
	})
	sb := it.create(it.name(SandboxContainerName, 0).String(),
		&container.Config{Image: ref, Labels: it.labels(LabelContainerName, SandboxContainerName, LabelDockerType, DockerTypeSandbox)},
		&container.HostConfig{NetworkMode: "none", Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/vk-docker/volumes/creds"}}})
	it.start(sb)

	payload := atomicdir.Payload{Files: map[string]atomicdir.File{"password": {Data: []byte("hunter2"), Mode: 0o400}, "conf/a": {Data: []byte("A"), Mode: 0o644}}}
	// The first content comes with the sandbox's set-up; a volume that
	// cannot be written fails alone.
	failed, err := SetUpSandbox(it.ctx, it.c, sb, SandboxSetup{Volumes: []VolumeFiles{
		{Dir: "/vk-docker/volumes/creds", Payload: payload},
		{Dir: "/vk-docker/volumes/absent", Payload: payload},
	}})
	if err != nil || len(failed) != 1 || failed["/vk-docker/volumes/absent"] == nil {
		t.Fatalf("set-up: failed=%v err=%v, want only the absent volume failed", failed, err)
	}
	if changed, err := WriteVolumeFiles(it.ctx, it.c, sb, "/vk-docker/volumes/creds", payload); err != nil || changed {
		t.Fatalf("same payload as the set-up's: changed=%v err=%v, want unchanged", changed, err)
	}
	if rel, err := ResolveSubPath(it.ctx, it.c, sb, "/vk-docker/volumes/creds", "password"); err != nil || !strings.HasPrefix(rel, "..") || !strings.HasSuffix(rel, "/password") {
		t.Errorf("subPath password resolves to %q, %v; want the file in the timestamped directory", rel, err)
	}
	if _, err := WriteVolumeFiles(it.ctx, it.c, sb, "/vk-docker/volumes/creds", atomicdir.Payload{Files: map[string]atomicdir.File{"../escape": {}}}); err == nil || !strings.Contains(err.Error(), "must not") {
		t.Errorf("an escaping path was accepted: %v", err)
	}

	check := `set -e; grep -q ' /v tmpfs ' /proc/mounts; test "$(cat /v/password)" = hunter2; test "$(stat -L -c %a /v/password)" = 400;` +
		` test "$(readlink /v/password)" = ..data/password; test "$(cat /v/conf/a)" = A`
	reader := it.create(it.name("reader", 0).String(),
		&container.Config{Image: itestBusybox, Entrypoint: []string{"sh", "-c", check}, Labels: it.labels(LabelContainerName, "reader")},
		&container.HostConfig{NetworkMode: container.NetworkMode("container:" + sb), Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/v", ReadOnly: true}}})
	it.start(reader)
	if st := it.waitExited(reader); st.ExitCode != 0 {
		t.Errorf("another container does not see the written files in the tmpfs (exit %d)", st.ExitCode)
	}
	in, err := it.c.ContainerInspect(it.ctx, sb)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "hunter2") {
		t.Error("the sandbox's inspect output shows the secret")
	}
}

// The roots of a pod's emptyDirs, set up through the sandbox, have the
// kubelet's modes: a disk volume (0755 as the engine makes it) and a tmpfs
// (1777) are writable by any user, and with an fsGroup they belong to that
// group with the setgid bit, so that what a container writes joins it.
func TestSetUpEmptyDirsThroughTheSandbox(t *testing.T) {
	it := newITest(t)
	ref := it.pauseImageRef("itest-dirs") // with setup
	if err := EnsurePauseImage(it.ctx, it.c, ref); err != nil {
		t.Fatal(err)
	}
	var mounts, readerMounts []mount.Mount
	for name, opts := range map[string]map[string]string{"disk": nil, "mem": TmpfsOptions(1 << 20)} {
		vol := VolumeName(it.uid, name)
		if err := it.c.VolumeCreateOptions(it.ctx, vol, it.labels(LabelVolumeName, name), opts); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := it.c.VolumeRemove(context.Background(), vol); err != nil {
				t.Errorf("remove volume: %v", err)
			}
		})
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: vol, Target: "/vk-docker/volumes/" + name})
		readerMounts = append(readerMounts, mount.Mount{Type: mount.TypeVolume, Source: vol, Target: "/" + name})
	}
	sb := it.create(it.name(SandboxContainerName, 0).String(),
		&container.Config{Image: ref, Labels: it.labels(LabelContainerName, SandboxContainerName, LabelDockerType, DockerTypeSandbox)},
		&container.HostConfig{NetworkMode: "none", Mounts: mounts})
	it.start(sb)
	gid := int64(2345)
	if _, err := SetUpSandbox(it.ctx, it.c, sb, SandboxSetup{EmptyDirs: []string{"/vk-docker/volumes/disk", "/vk-docker/volumes/mem"}, FSGroup: &gid}); err != nil {
		t.Fatal(err)
	}
	if _, err := SetUpSandbox(it.ctx, it.c, sb, SandboxSetup{EmptyDirs: []string{"/vk-docker/volumes/absent"}}); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("a missing volume root: %v, want an error naming it", err)
	}

	check := `set -e; test "$(stat -c '%a %g' /disk)" = "2777 2345"; test "$(stat -c '%a %g' /mem)" = "3777 2345";` +
		` echo x > /disk/f; echo x > /mem/f; test "$(stat -c %g /disk/f)" = 2345; test "$(stat -c %g /mem/f)" = 2345`
	writer := it.create(it.name("writer", 0).String(),
		&container.Config{Image: itestBusybox, User: "1000:1000", Entrypoint: []string{"sh", "-c", check}, Labels: it.labels(LabelContainerName, "writer")},
		&container.HostConfig{NetworkMode: container.NetworkMode("container:" + sb), Mounts: readerMounts})
	it.start(writer)
	if st := it.waitExited(writer); st.ExitCode != 0 {
		t.Errorf("user 1000 cannot write into the emptyDirs, or the modes and group differ (exit %d)", st.ExitCode)
	}
}

// The sandbox's /etc/hosts, written through it, is the file every container
// joining its network reads; with the host's network the engine machine's
// file is kept between head and tail.
func TestWriteHostsThroughTheSandbox(t *testing.T) {
	for _, hostNetwork := range []bool{false, true} {
		t.Run(fmt.Sprintf("hostNetwork=%v", hostNetwork), func(t *testing.T) {
			it := newITest(t)
			ref := it.pauseImageRef("itest-hosts") // with setup
			if err := EnsurePauseImage(it.ctx, it.c, ref); err != nil {
				t.Fatal(err)
			}
			network := container.NetworkMode("bridge")
			f := HostsFile{Head: "# written\n127.0.0.1\tlocalhost\n"}
			want := f.Head
			if hostNetwork {
				network = "host"
				f = HostsFile{Head: "# head\n", KeepCurrent: true, Tail: "\n# tail\n127.0.0.2\ta\tb\n"}
				host, err := os.ReadFile("/etc/hosts") // the engine is on this machine
				if err != nil {
					t.Fatal(err)
				}
				want = f.Head + string(host) + f.Tail
			}
			sb := it.create(it.name(SandboxContainerName, 0).String(),
				&container.Config{Image: ref, Labels: it.labels(LabelContainerName, SandboxContainerName, LabelDockerType, DockerTypeSandbox)},
				&container.HostConfig{NetworkMode: network})
			it.start(sb)
			if _, err := SetUpSandbox(it.ctx, it.c, sb, SandboxSetup{Hosts: &f}); err != nil {
				t.Fatal(err)
			}
			reader := it.create(it.name("reader", 0).String(),
				&container.Config{Image: itestBusybox, Env: []string{"WANT=" + want}, Entrypoint: []string{"sh", "-c", `printf %s "$WANT" | cmp - /etc/hosts`},
					Labels: it.labels(LabelContainerName, "reader")},
				&container.HostConfig{NetworkMode: container.NetworkMode("container:" + sb)})
			it.start(reader)
			if st := it.waitExited(reader); st.ExitCode != 0 {
				t.Errorf("a container joining the sandbox does not read the written /etc/hosts (exit %d); want\n%s", st.ExitCode, want)
			}
		})
	}
}
