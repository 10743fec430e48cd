//go:build faults

package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The API server restarts under a node with running pods: nothing in the
// pods is disrupted (same containers, no restart), and what happened while
// it was down reaches the API once it is back (a container that exited
// meanwhile shows terminated with its exit code, the pod Failed); the node
// stays Ready, and pods created and deleted afterwards are handled.
func TestAPIServerRestart(t *testing.T) {
	fig := summary(t, "apiserver-restart")
	ctx := context.Background()
	node := startNode(t, framework.NodeOptions{Name: "faults-api-" + framework.RandomSuffix()})
	ns := namespace(t, "faults-api")
	var names []string
	for i := range 3 {
		p := churnPod(node.Name, fmt.Sprintf("steady-%d", i))
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, p.Name)
	}
	// Exits while the API server is down (it is restarted 2 s after this
	// pod runs, and is down for at least 10 s).
	exiter := podOn(node.Name, "exits-meanwhile", busybox("app", "sleep 8; exit 3"))
	exiter.Spec.RestartPolicy = v1.RestartPolicyNever
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, exiter, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods, _, err := waitAll(ctx, ns, 2*time.Minute, func(pods map[string]*v1.Pod) bool {
		for _, n := range append([]string{exiter.Name}, names...) {
			if p, ok := pods[n]; !ok || !framework.Running(p) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("pods not running before the restart: %v", err)
	}
	before := map[string]map[string]string{}
	for _, n := range names {
		before[n] = runningIDs(pods[n])
	}

	time.Sleep(2 * time.Second)
	down, err := restartAPIServer(ctx, 10*time.Second)
	fig.set("api_down", "%s", seconds(down))
	if err != nil {
		t.Fatalf("restart the API server: %v", err)
	}
	back := time.Now()

	failed, err := framework.WaitForPod(ctx, env, ns, exiter.Name, time.Minute, "Failed with exit code 3", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "app")
		return p.Status.Phase == v1.PodFailed && cs != nil && cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 3
	})
	fig.set("caught_up_after", "%s", seconds(time.Since(back)))
	if err != nil {
		t.Errorf("the status of a container that exited while the API server was down never reached it: %v", err)
	} else if r := framework.StatusOf(failed, "app").State.Terminated.Reason; r != "Error" {
		t.Errorf("terminated reason %q, want Error", r)
	}
	// The node's heartbeat is its Lease, renewed every 10 s as a kubelet's;
	// its status (and the Ready condition's heartbeat) is posted less often.
	if err := waitLeaseRenewed(ctx, node.Name, back, 30*time.Second); err != nil {
		t.Errorf("node's heartbeat after the restart: %v", err)
	}
	if c, _, err := waitNodeReady(ctx, node.Name, v1.ConditionTrue, back, 30*time.Second); err != nil {
		t.Errorf("node not Ready after the restart: %s (%v)", c.Status, err)
	}

	// The node's watches work again: a new pod runs, a deleted one goes.
	fresh := churnPod(node.Name, "after-restart")
	created := time.Now()
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, fresh, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := framework.WaitForPod(ctx, env, ns, fresh.Name, time.Minute, "Running", framework.Running); err != nil {
		t.Error(err)
	}
	fig.set("new_pod_running_after", "%s", seconds(time.Since(created)))
	deleted := time.Now()
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, names[0], metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := framework.WaitForPodGone(ctx, env, ns, names[0], 30*time.Second); err != nil {
		t.Error(err)
	}
	fig.set("deleted_pod_gone_after", "%s", seconds(time.Since(deleted)))

	pods, err = listPods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	var disrupted []string
	for _, n := range names[1:] {
		p := pods[n]
		if p == nil || !framework.Running(p) {
			disrupted = append(disrupted, n+" not running")
			continue
		}
		disrupted = append(disrupted, containerChanges(n, p, before[n])...)
	}
	fig.set("disrupted", "%d", len(disrupted))
	if len(disrupted) > 0 {
		t.Errorf("pods disrupted by the API server's restart: %v", disrupted)
	}
	checkNoPanic(t, fig, node)
}

// restartAPIServer stops this cluster's kube-apiserver (the one of
// hack/cluster-up.sh beside the kubeconfig, checked to serve APISERVER_PORT)
// with SIGTERM, keeps it down for at least downFor, starts it again with
// the same command line and environment, and waits for /readyz. It returns
// how long the API was unavailable.
func restartAPIServer(ctx context.Context, downFor time.Duration) (time.Duration, error) {
	state := filepath.Dir(env.Kubeconfig)
	pidFile := filepath.Join(state, "kube-apiserver.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", pidFile, err)
	}
	args, err := procStrings(pid, "cmdline")
	if err != nil {
		return 0, err
	}
	environ, err := procStrings(pid, "environ")
	if err != nil {
		return 0, err
	}
	if !slices.Contains(args, fmt.Sprintf("--secure-port=%d", env.APIPort)) {
		return 0, fmt.Errorf("pid %d of %s is not the API server on port %d: %q", pid, pidFile, env.APIPort, args)
	}
	logf, err := os.OpenFile(filepath.Join(state, "logs", "kube-apiserver.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()

	stopped := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("stop the API server: %w", err)
	}
	// It closes its port at once but may wait a minute for long requests
	// to end; a restart need not wait that long.
	if !waitExit(ctx, pid, 10*time.Second) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		if !waitExit(ctx, pid, 20*time.Second) {
			return 0, fmt.Errorf("the API server (pid %d) did not stop", pid)
		}
	}
	time.Sleep(time.Until(stopped.Add(downFor)))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session, as cluster-up starts it: it outlives the suite and
	// cluster-down stops it by its pid file.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start the API server: %w", err)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		return 0, err
	}
	go func() { _ = cmd.Wait() }() // reaped if it ends while the suite runs
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		body, err := env.Client.Discovery().RESTClient().Get().AbsPath("/readyz").Timeout(2 * time.Second).DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
	if err != nil {
		return time.Since(stopped), fmt.Errorf("the API server is not ready again: %w", err)
	}
	return time.Since(stopped), nil
}

// waitExit waits for process pid (not a child of the suite) to be gone or
// a zombie.
func waitExit(ctx context.Context, pid int, timeout time.Duration) bool {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			return true, nil
		}
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			return true, nil
		}
		_, rest, _ := strings.Cut(string(stat), ") ")
		return strings.HasPrefix(rest, "Z"), nil
	})
	return err == nil
}

// procStrings reads a NUL-separated file of /proc/<pid>.
func procStrings(pid int, file string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), file))
	if err != nil {
		return nil, err
	}
	return strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00"), nil
}

// waitLeaseRenewed waits for the node's Lease to be renewed after since.
func waitLeaseRenewed(ctx context.Context, name string, since time.Time, timeout time.Duration) error {
	var last *metav1.MicroTime
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		l, err := env.Client.CoordinationV1().Leases(v1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = l.Spec.RenewTime
		return last != nil && !last.Time.Before(since), nil
	})
	if err != nil {
		return fmt.Errorf("lease last renewed %v, want after %v: %w", last, since, err)
	}
	return nil
}
