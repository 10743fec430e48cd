//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
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
	"k8s.io/client-go/tools/clientcmd"
)

// A user installs a virtual node with Helm into a pod of another node (here
// node #1, run from the binary), runs a pod on it, relabels it with an
// upgrade and uninstalls it: the node goes away with everything it ran.
func TestChartInstallsAVirtualNodeInAPod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := installChart(t, "")
	r.runsAPod()

	// An upgrade relabels the node; its running pod is adopted, not restarted.
	if _, err := helm(t, ctx, "upgrade", r.release, chartDir, "-n", r.ns, "--reuse-values", "--set", "nodeLabels.tier=burst", "--wait", "--timeout", "90s"); err != nil {
		t.Fatal(err)
	}
	waitNode(t, r.node, "labelled tier=burst", func(n *v1.Node) bool { return nodeReady(n) && n.Labels["tier"] == "burst" })
	p := waitRunning(t, r.ns, "web")
	if rc := p.Status.ContainerStatuses[0].RestartCount; rc != 0 {
		t.Errorf("web restarted %d times across the upgrade, want 0", rc)
	}

	// The chart's least-privilege role is all the node needed.
	r.neverRefused()
	r.uninstallLeavesNothing()
}

// With credentials.mode=bootstrapToken and only a bootstrap token, the node
// joins as a kubelet does: it obtains a certificate of its own
// (system:node:<name>), holds no ServiceAccount token, and the chart grants
// it nothing; the Node authorizer is enough to run a pod.
func TestChartJoinsANodeWithABootstrapToken(t *testing.T) {
	t.Parallel()
	boot, err := clientcmd.LoadFromFile(env.BootstrapKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	token := ""
	for _, u := range boot.AuthInfos {
		token = u.Token
	}
	if token == "" {
		t.Fatalf("no bootstrap token in %s", env.BootstrapKubeconfig)
	}
	r := installChart(t, fmt.Sprintf(`apiServer: %s
credentials:
  mode: bootstrapToken
  bootstrapToken:
    token: %s
`, env.PodAPIAddress(), token))
	vkPod := onlyPod(t, r.ns, r.selector())
	if a := vkPod.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Errorf("vk-docker #2's pod mounts a ServiceAccount token (automountServiceAccountToken %v), want none", a)
	}
	for _, v := range vkPod.Spec.Volumes {
		if v.Projected != nil {
			t.Errorf("vk-docker #2's pod has a projected volume %s, want no ServiceAccount token", v.Name)
		}
	}
	// Its client certificate, in its state directory on node #1's machine.
	pemBytes, err := os.ReadFile(filepath.Join(r.stateDir, "pki", "kubelet-client-current.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var cert *x509.Certificate
	for block, rest := pem.Decode(pemBytes); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			if cert, err = x509.ParseCertificate(block.Bytes); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if cert == nil || cert.Subject.CommonName != "system:node:"+r.node || strings.Join(cert.Subject.Organization, ",") != "system:nodes" {
		t.Errorf("node #2's client certificate is %v, want CN=system:node:%s, O=system:nodes", cert, r.node)
	}
	r.runsAPod()
	r.neverRefused()
	r.uninstallLeavesNothing()
}

// chartRelease is a release of the chart whose vk-docker pod runs on a node
// of the test's own.
type chartRelease struct {
	t                           *testing.T
	ns, release, node, stateDir string
	host                        *framework.Node
	start                       time.Time
	installed                   bool
}

// installChart starts node #1, installs the chart as release "vk" in a new
// namespace with the test's values plus extra (YAML), and waits for node #2,
// labelled e2e=chart, to be Ready and to advertise its pod's IP.
func installChart(t *testing.T, extra string) *chartRelease {
	t.Helper()
	ctx := context.Background()
	if _, err := helm(t, ctx, "version", "--short"); err != nil {
		t.Fatal(err)
	}
	image := "vk-docker/vk-docker:" + env.Version
	if _, err := env.Docker.ImageInspect(ctx, image); err != nil {
		t.Fatalf("image %s is missing (run `make image`): %v", image, err)
	}
	suffix := framework.RandomSuffix()
	r := &chartRelease{t: t, release: "vk", node: "e2e-chart-" + suffix}
	r.stateDir = filepath.Join("/var/lib/vk-docker", r.node)
	// Node #1 lets the chart's pod have the engine's socket and the virtual
	// node's state directory, nothing else of this machine.
	r.host = startNode(t, framework.NodeOptions{Name: "e2e-chart-host-" + suffix,
		Args: []string{"--allowed-host-paths", "/var/run/docker.sock," + r.stateDir}})
	t.Cleanup(func() { removeVirtualNodeLeftovers(t, r.node, r.stateDir) })
	r.ns = namespace(t)

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
%s`, r.node, env.Version, r.host.Name, extra)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	r.start = time.Now()
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := env.Kubectl(context.Background(), "-n", r.ns, "logs", "deploy/"+r.release+"-vk-docker", "--tail", "60")
			t.Logf("vk-docker #2 log ends with:\n%s", out)
		}
		if r.installed {
			_, _ = helm(t, context.Background(), "uninstall", r.release, "-n", r.ns, "--no-hooks", "--wait", "--timeout", "60s")
		}
	})
	if _, err := helm(t, ctx, "install", r.release, chartDir, "-n", r.ns, "-f", values, "--wait", "--timeout", "90s"); err != nil {
		t.Fatal(err)
	}
	r.installed = true
	n := waitNode(t, r.node, "Ready with label e2e=chart", func(n *v1.Node) bool { return nodeReady(n) && n.Labels["e2e"] == "chart" })
	t.Logf("node %s Ready %v after helm install", r.node, time.Since(r.start).Round(time.Millisecond))
	if len(n.Spec.Taints) != 0 {
		t.Errorf("taints = %v, want none (taints: [])", n.Spec.Taints)
	}
	vkPod := onlyPod(t, r.ns, r.selector())
	if vkPod.Spec.NodeName != r.host.Name || !addressIs(n, v1.NodeInternalIP, vkPod.Status.PodIP) {
		t.Errorf("vk-docker #2 runs on %s at %s, node addresses %v: want it on %s, advertising its pod IP", vkPod.Spec.NodeName, vkPod.Status.PodIP, n.Status.Addresses, r.host.Name)
	}
	return r
}

func (r *chartRelease) selector() string {
	return "app.kubernetes.io/instance=" + r.release + ",app.kubernetes.io/name=vk-docker"
}

// runsAPod sends a pod to node #2: it runs and serves on its pod IP.
func (r *chartRelease) runsAPod() {
	r.t.Helper()
	web := framework.OnNode(pod("web", busybox("web", "exec httpd -f -p 80 -h /usr/share/nginx/html")), r.node)
	createPod(r.t, r.ns, web)
	p := waitRunning(r.t, r.ns, "web")
	getWelcome(r.t, p.Status.PodIP)
}

// neverRefused: node #2 says it is ready and the API server refused it
// nothing.
func (r *chartRelease) neverRefused() {
	r.t.Helper()
	logs, err := env.Kubectl(context.Background(), "-n", r.ns, "logs", "deploy/"+r.release+"-vk-docker")
	if err != nil {
		r.t.Fatal(err)
	}
	if !strings.Contains(logs, "Node ready") {
		r.t.Errorf("vk-docker #2's log does not say the node is ready:\n%s", logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "forbidden") {
			r.t.Errorf("vk-docker #2 was refused something: %s", line)
		}
	}
}

// uninstallLeavesNothing: helm uninstall removes the node, its pods, their
// containers and volumes, and every object of the release.
func (r *chartRelease) uninstallLeavesNothing() {
	t := r.t
	t.Helper()
	ctx := context.Background()
	if _, err := helm(t, ctx, "uninstall", r.release, "-n", r.ns, "--wait", "--timeout", "90s"); err != nil {
		t.Fatal(err)
	}
	r.installed = false
	if _, err := env.Client.CoreV1().Nodes().Get(ctx, r.node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node %s after helm uninstall: %v, want it gone", r.node, err)
	}
	if _, err := env.Client.CoreV1().Pods(r.ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod web after helm uninstall: %v, want it gone", err)
	}
	left, err := env.Kubectl(ctx, "get", "-n", r.ns, "deployments,replicasets,jobs,serviceaccounts,secrets,configmaps,roles,rolebindings",
		"-l", "app.kubernetes.io/instance="+r.release, "-o", "name")
	if err != nil || strings.TrimSpace(left) != "" {
		t.Errorf("objects of release %s after helm uninstall: %q %v, want none", r.release, left, err)
	}
	if left, err := env.Kubectl(ctx, "get", "clusterroles,clusterrolebindings", "-o", "name", "-l", "vk-docker.io/node="+r.node); err != nil || strings.TrimSpace(left) != "" {
		t.Errorf("cluster objects of node %s after helm uninstall: %q %v, want none", r.node, left, err)
	}
	var engine []string
	_ = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		engine, err = framework.EngineObjects(ctx, env, r.node)
		return err == nil && len(engine) == 0, nil
	})
	if len(engine) != 0 {
		t.Errorf("node %s left on the engine after helm uninstall: %s", r.node, strings.Join(engine, "; "))
	}
	t.Logf("install to uninstall took %v", time.Since(r.start).Round(time.Millisecond))
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
