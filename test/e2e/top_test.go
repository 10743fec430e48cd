//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

var apiServices = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// `kubectl top pod` and `kubectl top node` work as on a kubeadm cluster:
// metrics-server, started the way `make run` starts it
// (hack/metrics-server-up.sh), scrapes the node's /metrics/resource and
// serves metrics.k8s.io through the API server's aggregator.
func TestKubectlTopShowsAPodAndItsNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(filepath.Dir(env.Bin), "metrics-server")); err != nil {
		t.Skipf("bin/metrics-server is missing: run `make metrics-server` to test kubectl top (%v)", err)
	}
	// The scripts run metrics-server for the cluster of this repository.
	if want := filepath.Join(framework.RepoRoot(), ".cluster", "kubeconfig"); filepath.Clean(env.Kubeconfig) != want {
		t.Fatalf("KUBECONFIG is %s: hack/metrics-server-up.sh serves the cluster of %s only", env.Kubeconfig, want)
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(apiServices).Get(ctx, "v1beta1.metrics.k8s.io", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("metrics.k8s.io is registered already (make run's metrics-server?): %v", err)
	}

	n := startNode(t, framework.NodeOptions{Name: "e2e-top-" + framework.RandomSuffix()})
	ns := namespace(t)
	// About 8 MB held by the shell, a little CPU every 100 ms.
	hog := busybox("hog", `trap 'exit 0' TERM; x=$(head -c 8000000 /dev/zero | tr '\0' a)
while true; do head -c 20000 /dev/urandom | md5sum >/dev/null; sleep 0.1; done`)
	p := framework.OnNode(pod("hog", hog), n.Name)
	createPod(t, ns, p)
	if _, err := framework.WaitForPod(ctx, env, ns, "hog", 3*time.Minute, "Running and Ready", framework.Running); err != nil {
		t.Fatal(err)
	}

	// Only this test's node is scraped: other tests' nodes come and go.
	port := freeGatewayPort(t)
	start := time.Now()
	t.Cleanup(func() {
		if out, err := script("metrics-server-down.sh", nil); err != nil {
			t.Errorf("hack/metrics-server-down.sh: %v\n%s", err, out)
		}
	})
	out, err := script("metrics-server-up.sh", []string{
		"METRICS_SERVER_PORT=" + strconv.Itoa(port), "METRICS_RESOLUTION=12s",
		"METRICS_NODE_SELECTOR=kubernetes.io/hostname=" + n.Name,
	})
	if err != nil {
		logs, _ := os.ReadFile(filepath.Join(framework.RepoRoot(), ".cluster", "logs", "metrics-server.log"))
		t.Fatalf("hack/metrics-server-up.sh: %v\n%s\nmetrics-server's log:\n%s", err, out, logs)
	}
	t.Logf("metrics.k8s.io Available %v after start", time.Since(start).Round(time.Millisecond))

	// Usage needs two scrapes, METRICS_RESOLUTION apart.
	cpu, mem := topRow(t, start, "pod", "-n", ns, "hog")
	if cpu <= 0 || mem < 6 {
		t.Errorf("kubectl top pod hog: CPU %dm, memory %dMi; want some CPU and the 8 MB it holds", cpu, mem)
	}
	cpu, mem = topRow(t, start, "node", n.Name)
	if cpu <= 0 || mem < 6 {
		t.Errorf("kubectl top node %s: CPU %dm, memory %dMi; want its pod's usage", n.Name, cpu, mem)
	}
}

// topRow runs `kubectl top KIND ARGS...` until it shows the one row asked
// for, and returns its CPU (millicores) and memory (MiB).
func topRow(t *testing.T, since time.Time, kind string, args ...string) (cpuMilli, memMi int64) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 2*time.Second, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		out, err := env.Kubectl(ctx, append([]string{"top", kind, "--no-headers"}, args...)...)
		last = fmt.Sprintf("%s %v", out, err)
		if err != nil {
			return false, nil
		}
		f := strings.Fields(out)
		if len(f) < 3 || f[0] != args[len(args)-1] {
			return false, nil
		}
		// pod: NAME CPU MEMORY; node: NAME CPU CPU% MEMORY MEMORY%
		memField := f[2]
		if kind == "node" && len(f) >= 4 {
			memField = f[3]
		}
		c, errC := strconv.ParseInt(strings.TrimSuffix(f[1], "m"), 10, 64)
		m, errM := strconv.ParseInt(strings.TrimSuffix(memField, "Mi"), 10, 64)
		if errC != nil || errM != nil {
			return false, nil // <unknown>: not scraped twice yet
		}
		cpuMilli, memMi = c, m
		return true, nil
	})
	if err != nil {
		t.Fatalf("kubectl top %s %v never showed usage: last %s", kind, args, last)
	}
	t.Logf("kubectl top %s %v: %dm CPU, %dMi, %v after metrics-server started", kind, args, cpuMilli, memMi, time.Since(since).Round(time.Second))
	return cpuMilli, memMi
}

// script runs a script of hack/ with the cluster's env.
func script(name string, extraEnv []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(framework.RepoRoot(), "hack", name))
	cmd.Env = append(append(os.Environ(), "APISERVER_PORT="+strconv.Itoa(env.APIPort)), extraEnv...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// freeGatewayPort is a free port on the Docker bridge gateway, where the API
// server's aggregator reaches metrics-server.
func freeGatewayPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(env.Gateway, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
