package dockerhost

// Engine tests of the calls behind the node API: attach, resize, stats and
// the image list (attach.go, stats.go, images.go).

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Attach reaches a running container's stdin and output: what it reads on
// stdin comes back on stdout, and the stream ends with the container.
func TestEngineAttachRelaysStdinAndOutput(t *testing.T) {
	it := newITest(t)
	id := it.create(it.name("cat", 0).String(), &container.Config{
		Image: itestBusybox, Cmd: []string{"sh", "-c", "cat; echo done >&2"},
		OpenStdin: true, StdinOnce: true, AttachStdin: true, Labels: it.labels(),
	}, nil)
	it.start(id)
	hj, err := it.c.ContainerAttach(it.ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	defer hj.Close()
	if _, err := hj.Conn.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if err := hj.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, hj.Reader); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if stdout.String() != "hello\n" || stderr.String() != "done\n" {
		t.Errorf("attached output = %q / %q, want hello on stdout and done on stderr", stdout.String(), stderr.String())
	}
	it.waitExited(id)
}

// A TTY container can be resized; a running container reports CPU, memory
// and, with its own network, interface counters in one stats call.
func TestEngineStatsAndResize(t *testing.T) {
	it := newITest(t)
	id := it.create(it.name("busy", 0).String(), &container.Config{
		Image: itestBusybox, Cmd: []string{"sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 60"},
		Tty: true, Labels: it.labels(),
	}, &container.HostConfig{NetworkMode: "bridge"})
	it.start(id)
	if err := it.c.ContainerResize(it.ctx, id, 40, 100); err != nil {
		t.Errorf("resize: %v", err)
	}
	s, err := it.c.ContainerStats(it.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUStats.CPUUsage.TotalUsage == 0 || s.MemoryStats.Usage == 0 || s.Read.IsZero() {
		t.Errorf("stats = cpu %d memory %d read %v, want usage of a running container", s.CPUStats.CPUUsage.TotalUsage, s.MemoryStats.Usage, s.Read)
	}
	if _, ok := s.Networks["eth0"]; !ok {
		t.Errorf("stats networks = %v, want eth0", s.Networks)
	}
	if err := it.c.ContainerRemove(it.ctx, id); err != nil {
		t.Fatal(err)
	}
}

func TestEngineImageListNamesTheImages(t *testing.T) {
	it := newITest(t)
	images, err := it.c.ImageList(it.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		if slices.Contains(img.RepoTags, itestBusybox) {
			if img.Size <= 0 {
				t.Errorf("%s has size %d", itestBusybox, img.Size)
			}
			return
		}
	}
	t.Errorf("image list has no %s", itestBusybox)
}
