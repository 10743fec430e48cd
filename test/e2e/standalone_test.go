//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// standalone is a vk-docker process with no API server, running the
// manifests of one directory.
type standalone struct {
	t      *testing.T
	name   string
	dir    string
	state  string // the node's state directory
	stdout syncBuffer
	stderr syncBuffer
	cmd    *exec.Cmd
}

// syncBuffer is a buffer a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}

func startStandalone(t *testing.T, name, dir string) *standalone {
	t.Helper()
	s := &standalone{t: t, name: name, dir: dir, state: t.TempDir()}
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("standalone stdout:\n%s\nstderr ends with:\n%s", s.stdout.String(), tail(s.stderr.String(), 40))
		}
		// Whatever a failed test left on the engine goes.
		ctx := context.Background()
		if cs, err := env.Docker.ContainerList(ctx, dockerhost.NodeSelector(name)); err == nil {
			for _, c := range cs {
				_ = env.Docker.ContainerRemove(ctx, c.ID)
			}
		}
		if vs, err := env.Docker.VolumeList(ctx, dockerhost.NodeSelector(name)); err == nil {
			for _, v := range vs {
				_ = env.Docker.VolumeRemove(ctx, v.Name)
			}
		}
	})
	return s
}

// command is bin/vk-docker with no kubeconfig in its flags or environment.
func (s *standalone) command(args ...string) *exec.Cmd {
	cmd := exec.Command(env.Bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") && !strings.HasPrefix(kv, "KUBERNETES_SERVICE_HOST=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

func (s *standalone) start() {
	s.t.Helper()
	s.cmd = s.command("--pod-manifest-path", s.dir, "--nodename", s.name,
		"--image-pull-records", filepath.Join(s.state, "image-pulls.json"),
		"--termination-message-dir", filepath.Join(s.state, "termination"),
		"--log-level", "debug")
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
}

// stop ends the process with SIGTERM, as an operator would.
func (s *standalone) stop() {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// pods runs `vk-docker pods --nodename NAME` and returns its rows by name.
func (s *standalone) pods() (map[string][]string, string) {
	s.t.Helper()
	out, err := s.command("pods", "--nodename", s.name).Output()
	if err != nil {
		s.t.Fatalf("vk-docker pods: %v", err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		if f := strings.Fields(line); len(f) == 6 {
			rows[f[0]] = f
		}
	}
	return rows, string(out)
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// With no API server at all, vk-docker runs the seed's static nginx Pod on
// the engine: it serves, `vk-docker pods` shows it Running, a restarted
// vk-docker adopts it without restarting a container, and removing the
// manifest stops it.
func TestStandaloneRunsStaticPodsWithoutAnAPIServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "examples", "static", "nginx.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeManifest(t, dir, "nginx.yaml", strings.ReplaceAll(string(example), "vk-docker/busybox:0.1.0", env.BusyboxImage()))
	name := "e2e-standalone-" + framework.RandomSuffix()
	s := startStandalone(t, name, dir)
	pod := "nginx-" + name

	var row []string
	var listing string
	err = wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		var rows map[string][]string
		rows, listing = s.pods()
		row = rows[pod]
		return row != nil && row[1] == "1/1" && row[2] == "Running" && row[4] != "<none>", nil
	})
	if err != nil {
		t.Fatalf("`vk-docker pods` does not show %s 1/1 Running with an IP:\n%s", pod, listing)
	}
	if !strings.HasPrefix(listing, "NAME") || !strings.Contains(listing, "READY") || !strings.Contains(listing, "RESTARTS") || !strings.Contains(listing, "AGE") {
		t.Errorf("listing has not kubectl's columns:\n%s", listing)
	}
	ip := row[4]
	page := httpGet(t, "http://"+ip+"/")
	if !strings.Contains(page, "Welcome to nginx") {
		t.Errorf("GET http://%s/ = %q, want the nginx welcome page", ip, page)
	}
	if !strings.Contains(s.stdout.String(), "default/"+pod+"  nginx  Running") {
		t.Errorf("no state line for the nginx container Running on stdout:\n%s", s.stdout.String())
	}

	uid := podUIDOnEngine(t, name)
	before := env.ContainerIDs(t, uid)
	s.stop()
	s.stdout.Reset()
	s.start()
	time.Sleep(4 * time.Second) // adoption done, a wrongful restart visible
	if after := env.ContainerIDs(t, uid); !equalSets(before, after) {
		t.Errorf("containers %v after a restart of vk-docker, want the same %v", after, before)
	}
	if rows, listing := s.pods(); rows[pod] == nil || rows[pod][2] != "Running" || rows[pod][3] != "0" {
		t.Errorf("after a restart of vk-docker, want %s Running with 0 restarts:\n%s", pod, listing)
	}

	if err := os.Remove(filepath.Join(dir, "nginx.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := env.WaitNoContainers(ctx, uid, 20*time.Second); err != nil {
		t.Errorf("containers remain after the manifest was removed: %v", err)
	}
	if rows, listing := s.pods(); len(rows) != 0 {
		t.Errorf("`vk-docker pods` still lists pods:\n%s", listing)
	}
}

func podUIDOnEngine(t *testing.T, node string) types.UID {
	t.Helper()
	cs, err := env.Docker.ContainerList(context.Background(), dockerhost.NodeSelector(node))
	if err != nil || len(cs) == 0 {
		t.Fatalf("no containers of node %s (%v)", node, err)
	}
	return types.UID(cs[0].Labels[dockerhost.LabelPodUID])
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}
