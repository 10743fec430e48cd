//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// kubectlCmd is bin/kubectl against the cluster, for tests that drive its
// streams themselves.
func kubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, env.KubectlBin, append([]string{"--kubeconfig", env.Kubeconfig}, args...)...)
}

// waitLogs polls `kubectl logs args` until it prints want.
func waitLogs(t *testing.T, want string, args ...string) {
	t.Helper()
	var got string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		got, err = env.Kubectl(ctx, append([]string{"logs"}, args...)...)
		return err == nil && got == want, nil
	})
	if err != nil {
		t.Fatalf("kubectl logs %v = %q, want %q", args, got, want)
	}
}

// Every `kubectl logs` flag gives what a kubelet gives: stdout and stderr
// in the order written, the last lines (none for --tail=0), the first bytes, timestamps, lines
// since a time, and init containers' logs.
func TestKubectlLogsFlags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	p := pod("logs", busybox("app", "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; sleep 1.5; echo four; trap 'exit 0' TERM; while true; do sleep 1; done"))
	p.Spec.InitContainers = []v1.Container{busybox("init", "echo init-done")}
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	waitLogs(t, "one\ntwo\nthree\nfour\n", "-n", ns, p.Name)

	stamped, err := env.Kubectl(ctx, "-n", ns, "logs", p.Name, "--timestamps")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(stamped, "\n"), "\n")
	stampRE := regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (one|two|three|four)$`)
	if len(lines) != 4 || !stampRE.MatchString(lines[3]) {
		t.Fatalf("--timestamps = %q, want four lines of RFC3339Nano timestamp, space, text", stamped)
	}
	fourAt := stampRE.FindStringSubmatch(lines[3])[1]

	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "--tail", args: []string{"--tail=2"}, want: "three\nfour\n"},
		{name: "--tail=0", args: []string{"--tail=0"}, want: ""},
		{name: "--limit-bytes", args: []string{"--limit-bytes=6"}, want: "one\ntw"},
		{name: "--since-time", args: []string{"--since-time=" + fourAt}, want: "four\n"},
		{name: "--since covering all", args: []string{"--since=1h"}, want: "one\ntwo\nthree\nfour\n"},
		{name: "-c of an init container", args: []string{"-c", "init"}, want: "init-done\n"},
		{name: "-c of the app container", args: []string{"-c", "app", "--tail=1"}, want: "four\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := env.Kubectl(ctx, append([]string{"-n", ns, "logs", p.Name}, tc.args...)...)
			if err != nil || got != tc.want {
				t.Errorf("kubectl logs %v = %q, %v; want %q", tc.args, got, err, tc.want)
			}
		})
	}
	// Nothing was written in the last second of a quiet container.
	time.Sleep(1100 * time.Millisecond)
	if got, err := env.Kubectl(ctx, "-n", ns, "logs", p.Name, "--since=1s"); err != nil || got != "" {
		t.Errorf("kubectl logs --since=1s = %q, %v; want nothing", got, err)
	}
}

// --previous shows the instance before the last restart.
func TestKubectlLogsPrevious(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := pod("restarts", busybox("app", "n=$(cat /d/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /d/n; echo instance-$n; [ $n -ge 2 ] || exit 1; trap 'exit 0' TERM; while true; do sleep 1; done"))
	p.Spec.Volumes = []v1.Volume{{Name: "d", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
	p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "d", MountPath: "/d"}}
	createPod(t, ns, p)
	if _, err := framework.WaitForPod(context.Background(), env, ns, p.Name, 60*time.Second, "restarted once and running", func(p *v1.Pod) bool {
		return framework.Running(p) && p.Status.ContainerStatuses[0].RestartCount == 1
	}); err != nil {
		t.Fatal(err)
	}
	waitLogs(t, "instance-2\n", "-n", ns, p.Name)
	waitLogs(t, "instance-1\n", "-n", ns, p.Name, "--previous")
}

// -f streams lines written after the call and ends when the container does.
func TestKubectlLogsFollow(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := namespace(t)
	p := pod("follow", busybox("app", "echo before; while [ ! -f /tmp/go ]; do sleep 0.2; done; echo after; exit 0"))
	p.Spec.RestartPolicy = v1.RestartPolicyNever
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)

	cmd := kubectlCmd(ctx, "-n", ns, "logs", "-f", p.Name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	if line, err := r.ReadString('\n'); line != "before\n" {
		t.Fatalf("first followed line = %q, %v; want before", line, err)
	}
	mustExec(t, ns, p.Name, "app", "touch", "/tmp/go")
	rest, _ := io.ReadAll(r) // ends only when kubectl does: when the container ends
	if err := cmd.Wait(); err != nil || string(rest) != "after\n" {
		t.Errorf("kubectl logs -f then printed %q and ended with %v; want after and exit 0", rest, err)
	}
}

// runInPTY runs kubectl on a terminal of rows×cols, types input, resizes the
// terminal to 50×132 once it sees resizeAfter, and returns what the terminal
// showed and kubectl's exit error.
func runInPTY(t *testing.T, ctx context.Context, input []string, resizeAfter string, args ...string) (string, error) {
	t.Helper()
	cmd := kubectlCmd(ctx, args...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 90})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(screen.String(), s)
	}
	for _, in := range input {
		if strings.HasPrefix(in, "wait:") {
			want := strings.TrimPrefix(in, "wait:")
			if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) { return seen(want), nil }); err != nil {
				mu.Lock()
				t.Fatalf("terminal never showed %q:\n%s", want, screen.String())
			}
			if want == resizeAfter {
				if err := pty.Setsize(tty, &pty.Winsize{Rows: 50, Cols: 132}); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		if _, err := tty.Write([]byte(in)); err != nil {
			t.Fatal(err)
		}
	}
	err = cmd.Wait()
	_ = tty.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return screen.String(), err
}

// Seed section 8: `kubectl exec -it` into the hooks pod reads the file its
// postStart hook wrote, the shell sees the terminal's size and its resizes,
// and the shell's exit code is kubectl's.
func TestKubectlExecItReadsThePostStartFile(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := namespace(t)
	p := examplePod(t, "lifecycle-hooks.yaml")
	createPod(t, ns, framework.OnNode(p, node.Name))
	waitRunning(t, ns, p.Name)
	screen, err := runInPTY(t, ctx, []string{
		"wait:#", "cat /usr/share/message; echo size-$(stty size | tr ' ' x)\r",
		"wait:size-30x90", "sleep 0.5; echo size-$(stty size | tr ' ' x)\r",
		"wait:size-50x132", "exit 7\r",
	}, "size-30x90", "-n", ns, "exec", "-it", p.Name, "--", "sh")
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 {
		t.Errorf("kubectl exec -it ended with %v, want exit code 7", err)
	}
	if !strings.Contains(screen, "Hello from the postStart handler") {
		t.Errorf("terminal does not show the postStart message:\n%s", screen)
	}
}

// Without a TTY, stdin reaches the command; a command that does not exist
// is a clear error and a non-zero exit.
func TestKubectlExecStdinAndMissingCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	p := pod("stdin", sleeper("app"))
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)

	cmd := kubectlCmd(ctx, "-n", ns, "exec", "-i", p.Name, "--", "sh", "-c", "tr a-z A-Z; echo err >&2")
	cmd.Stdin = strings.NewReader("hello from stdin\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.String() != "HELLO FROM STDIN\n" || stderr.String() != "err\n" {
		t.Errorf("kubectl exec -i: stdout %q stderr %q err %v; want the upper-cased input and err on stderr", stdout.String(), stderr.String(), err)
	}

	cmd = kubectlCmd(ctx, "-n", ns, "exec", p.Name, "--", "no-such-command")
	combined, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 || !strings.Contains(string(combined), "no-such-command") || !strings.Contains(string(combined), "not found") {
		t.Errorf("kubectl exec of a missing command: %v %q; want a non-zero exit naming the command as not found", err, combined)
	}
}

// `kubectl attach -it` reaches the main process of a container started
// with stdin and tty.
func TestKubectlAttachIt(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := namespace(t)
	c := busybox("shell", "exec sh")
	c.Stdin, c.TTY = true, true
	p := pod("attach", c)
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	screen, err := runInPTY(t, ctx, []string{
		"wait:If you don't see a command prompt", "\r",
		// kubectl sends the size plus one, then the size (to force a
		// redraw); the second resize may land a moment after the prompt.
		"sleep 0.5; echo attached-$((40+2)) size-$(stty size | tr ' ' x)\r",
		"wait:attached-42 size-30x90", "sleep 0.5; echo size-$(stty size | tr ' ' x)\r",
		"wait:size-50x132", "exit\r",
	}, "attached-42 size-30x90", "-n", ns, "attach", "-it", p.Name)
	if err != nil {
		t.Errorf("kubectl attach -it: %v\n%s", err, screen)
	}
}

// portForward starts `kubectl port-forward` to port 80 of pod and returns
// the local address.
func portForward(t *testing.T, ctx context.Context, ns, pod string) string {
	t.Helper()
	cmd := kubectlCmd(ctx, "-n", ns, "port-forward", "pod/"+pod, ":80")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	m := regexp.MustCompile(`Forwarding from (127\.0\.0\.1:\d+) -> 80`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("kubectl port-forward said %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return m[1]
}

// An HTTP GET through `kubectl port-forward` returns the pod's page, for 20
// connections at once, both when the provider dials the pod IP and when it
// dials from inside the pod's sandbox (pod IPs not routable).
func TestKubectlPortForward(t *testing.T) {
	t.Parallel()
	sandboxNode := startNode(t, framework.NodeOptions{Name: "e2e-kc-pf-" + framework.RandomSuffix(), Args: []string{"--probe-network", "sandbox"}})
	for _, tc := range []struct{ name, node string }{{"direct", node.Name}, {"through the sandbox", sandboxNode.Name}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ns, cleanup, err := framework.CreateNamespace(ctx, env, "e2e")
			if err != nil {
				t.Fatal(err)
			}
			p := examplePod(t, "nginx.yaml")
			createPod(t, ns, framework.OnNode(p, tc.node))
			defer func() {
				// Gone before the sandbox node closes.
				// httpd ignores SIGTERM: no grace period to sit out.
				_ = env.Client.CoreV1().Pods(ns).Delete(context.Background(), p.Name, *metav1.NewDeleteOptions(0))
				if err := framework.WaitForPodGone(context.Background(), env, ns, p.Name, 30*time.Second); err != nil {
					t.Error(err)
				}
				if err := cleanup(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			waitRunning(t, ns, p.Name)
			addr := portForward(t, ctx, ns, p.Name)
			client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := client.Get("http://" + addr + "/")
					if err != nil {
						errs <- err
						return
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Welcome to nginx!") {
						errs <- fmt.Errorf("GET = %d %q, %v", resp.StatusCode, body, err)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("GET through port-forward: %v", err)
			}
		})
	}
}
