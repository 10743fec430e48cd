//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// A user installs a virtual node with Helm into a pod of another node (here
// node #1, run from the binary), runs a pod on it, relabels it with an
// upgrade and uninstalls it: the node goes away with everything it ran.
func TestChartInstallsAVirtualNodeInAPod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := helm(t, ctx, "version", "--short"); err != nil {
		t.Fatal(err)
	}
	image := "vk-docker/vk-docker:" + env.Version
	if _, err := env.Docker.ImageInspect(ctx, image); err != nil {
		t.Fatalf("image %s is missing (run `make image`): %v", image, err)
	}
	suffix := framework.RandomSuffix()
	virt := "e2e-chart-" + suffix
	stateDir := filepath.Join("/var/lib/vk-docker", virt)
	// Node #1 lets the chart's pod have the engine's socket and the virtual
	// node's state directory, nothing else of this machine.
	host := startNode(t, framework.NodeOptions{Name: "e2e-chart-host-" + suffix,
		Args: []string{"--allowed-host-paths", "/var/run/docker.sock," + stateDir}})
	t.Cleanup(func() { removeVirtualNodeLeftovers(t, virt, stateDir) })
	ns := namespace(t)

	values := filepath.Join(t.TempDir(), "values.yaml")
	err := os.WriteFile(values, []byte(fmt.Sprintf(`nodeName: %s
image:
  tag: %q
  pullPolicy: Never
taints: []
nodeLabels:
  e2e: chart
logLevel: debug
nodeSelector:
  kubernetes.io/hostname: %s
tolerations:
  - key: virtual-kubelet.io/provider
    operator: Exists
    effect: NoSchedule
terminationGracePeriodSeconds: 5
removeNode:
  timeout: 30s
`, virt, env.Version, host.Name)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	release := "vk"
	installed := false
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := env.Kubectl(context.Background(), "-n", ns, "logs", "deploy/"+release+"-vk-docker", "--tail", "60")
			t.Logf("vk-docker #2 log ends with:\n%s", out)
		}
		if installed {
			_, _ = helm(t, context.Background(), "uninstall", release, "-n", ns, "--no-hooks", "--wait", "--timeout", "60s")
		}
	})
	if _, err := helm(t, ctx, "install", release, chartDir, "-n", ns, "-f", values, "--wait", "--timeout", "90s"); err != nil {
		t.Fatal(err)
	}
	installed = true
	n := waitNode(t, virt, "Ready with label e2e=chart", func(n *v1.Node) bool { return nodeReady(n) && n.Labels["e2e"] == "chart" })
	t.Logf("node %s Ready %v after helm install", virt, time.Since(start).Round(time.Millisecond))
	if len(n.Spec.Taints) != 0 {
		t.Errorf("taints = %v, want none (taints: [])", n.Spec.Taints)
	}
	vkPod := onlyPod(t, ns, "app.kubernetes.io/instance="+release+",app.kubernetes.io/name=vk-docker")
	if vkPod.Spec.NodeName != host.Name || !addressIs(n, v1.NodeInternalIP, vkPod.Status.PodIP) {
		t.Errorf("vk-docker #2 runs on %s at %s, node addresses %v: want it on %s, advertising its pod IP", vkPod.Spec.NodeName, vkPod.Status.PodIP, n.Status.Addresses, host.Name)
	}

	// A pod sent to the new node runs and serves on its pod IP.
	web := framework.OnNode(pod("web", busybox("web", "exec httpd -f -p 80 -h /usr/share/nginx/html")), virt)
	createPod(t, ns, web)
	p := waitRunning(t, ns, "web")
	getWelcome(t, p.Status.PodIP)

	// An upgrade relabels the node; its running pod is adopted, not restarted.
	if _, err := helm(t, ctx, "upgrade", release, chartDir, "-n", ns, "--reuse-values", "--set", "nodeLabels.tier=burst", "--wait", "--timeout", "90s"); err != nil {
		t.Fatal(err)
	}
	waitNode(t, virt, "labelled tier=burst", func(n *v1.Node) bool { return nodeReady(n) && n.Labels["tier"] == "burst" })
	p = waitRunning(t, ns, "web")
	if rc := p.Status.ContainerStatuses[0].RestartCount; rc != 0 {
		t.Errorf("web restarted %d times across the upgrade, want 0", rc)
	}

	// The chart's least-privilege role is all the node needed.
	logs, err := env.Kubectl(ctx, "-n", ns, "logs", "deploy/"+release+"-vk-docker")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "Node ready") {
		t.Errorf("vk-docker #2's log does not say the node is ready:\n%s", logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "forbidden") {
			t.Errorf("vk-docker #2 was refused something: %s", line)
		}
	}

	// Uninstalling removes the node and what ran on it.
	if _, err := helm(t, ctx, "uninstall", release, "-n", ns, "--wait", "--timeout", "90s"); err != nil {
		t.Fatal(err)
	}
	installed = false
	if _, err := env.Client.CoreV1().Nodes().Get(ctx, virt, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node %s after helm uninstall: %v, want it gone", virt, err)
	}
	if _, err := env.Client.CoreV1().Pods(ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod web after helm uninstall: %v, want it gone", err)
	}
	var left []string
	_ = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		left, err = framework.EngineObjects(ctx, env, virt)
		return err == nil && len(left) == 0, nil
	})
	if len(left) != 0 {
		t.Errorf("node %s left on the engine after helm uninstall: %s", virt, strings.Join(left, "; "))
	}
	t.Logf("install, pod, upgrade and uninstall took %v", time.Since(start).Round(time.Millisecond))
}

func waitNode(t *testing.T, name, what string, cond func(*v1.Node) bool) *v1.Node {
	t.Helper()
	var last *v1.Node
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := env.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = n
		return cond(n), nil
	})
	if err != nil {
		t.Fatalf("node %s is not %s: %v (last seen: %+v)", name, what, err, last)
	}
	return last
}

func nodeReady(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func addressIs(n *v1.Node, typ v1.NodeAddressType, want string) bool {
	for _, a := range n.Status.Addresses {
		if a.Type == typ {
			return a.Address == want && want != ""
		}
	}
	return false
}

func onlyPod(t *testing.T, ns, selector string) v1.Pod {
	t.Helper()
	pods, err := env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("%d pods match %s, want 1", len(pods.Items), selector)
	}
	return pods.Items[0]
}

// getWelcome GETs the busybox image's welcome page from a pod IP, retrying
// briefly while httpd starts listening.
func getWelcome(t *testing.T, ip string) {
	t.Helper()
	var body []byte
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		resp, err := (&http.Client{Timeout: 3 * time.Second}).Get("http://" + ip + ":80/")
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil || !strings.Contains(string(body), "Welcome to nginx!") {
		t.Errorf("GET http://%s/: %v %q, want the welcome page", ip, err, body)
	}
}

// removeVirtualNodeLeftovers cleans up after a failed run: what the virtual
// node left on the engine, its Node object and its state directory.
func removeVirtualNodeLeftovers(t *testing.T, node, stateDir string) {
	ctx := context.Background()
	framework.RemoveEngineObjects(ctx, env, node)
	if err := env.Client.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Error(err)
	}
	if err := os.RemoveAll(stateDir); err != nil {
		t.Error(err)
	}
}
