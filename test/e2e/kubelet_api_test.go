//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// /stats/summary through the API server lists every running pod of the
// node with its containers' CPU and memory; /metrics/resource has them too.
func TestStatsSummaryListsRunningPods(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxied, err := framework.ProxiedArgs(env)
	if err != nil {
		t.Fatal(err)
	}
	statsNode := startNode(t, framework.NodeOptions{Name: "e2e-kc-stats-" + framework.RandomSuffix(), Args: proxied})
	ns := namespace(t) // cleaned up before the node closes
	for _, name := range []string{"stats-a", "stats-b"} {
		createPod(t, ns, framework.OnNode(pod(name, sleeper("app"), sleeper("sidecar")), statsNode.Name))
	}
	for _, name := range []string{"stats-a", "stats-b"} {
		waitRunning(t, ns, name)
	}
	node := statsNode
	var summary statsv1alpha1.Summary
	var missing []string
	// The summary is cached for a few seconds: poll until it shows both.
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		raw, err := env.Kubectl(ctx, "get", "--raw", "/api/v1/nodes/"+node.Name+"/proxy/stats/summary")
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal([]byte(raw), &summary); err != nil {
			return false, err
		}
		missing = nil
		for _, name := range []string{"stats-a", "stats-b"} {
			if !summaryHasPod(summary, ns, name, "app", "sidecar") {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0, nil
	})
	if err != nil {
		t.Fatalf("stats summary of %s misses %v (%v): %+v", node.Name, missing, err, summary)
	}
	if summary.Node.NodeName != node.Name || summary.Node.Memory == nil || summary.Node.Memory.WorkingSetBytes == nil || *summary.Node.Memory.WorkingSetBytes == 0 {
		t.Errorf("node stats = %+v, want the node's name and its pods' memory", summary.Node)
	}
	metrics, err := env.Kubectl(ctx, "get", "--raw", "/api/v1/nodes/"+node.Name+"/proxy/metrics/resource")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`container_memory_working_set_bytes{container="sidecar",namespace="%s",pod="stats-a"}`, ns)
	if !strings.Contains(metrics, want) || !strings.Contains(metrics, "node_cpu_usage_seconds_total") {
		t.Errorf("/metrics/resource lacks %s or node_cpu_usage_seconds_total:\n%s", want, metrics)
	}
}

func summaryHasPod(s statsv1alpha1.Summary, ns, name string, containers ...string) bool {
	for _, ps := range s.Pods {
		if ps.PodRef.Namespace != ns || ps.PodRef.Name != name {
			continue
		}
		if ps.CPU == nil || ps.CPU.UsageCoreNanoSeconds == nil || ps.Memory == nil || ps.Memory.WorkingSetBytes == nil || ps.Network == nil {
			return false
		}
		found := 0
		for _, cs := range ps.Containers {
			for _, c := range containers {
				if cs.Name == c && cs.CPU != nil && cs.Memory != nil && cs.Memory.WorkingSetBytes != nil && *cs.Memory.WorkingSetBytes > 0 {
					found++
				}
			}
		}
		return found == len(containers)
	}
	return false
}

// Nobody gets into the kubelet API without credentials (401) or rights
// (403), for every endpoint; the API server's kubelet client certificate
// gets in.
func TestKubeletAPIRefusesStrangers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	p := pod("guarded", sleeper("app"))
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)

	if _, err := env.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := env.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "nobody", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pki := filepath.Join(filepath.Dir(env.Kubeconfig), "pki")
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "apiserver-kubelet-client.crt"), filepath.Join(pki, "apiserver-kubelet-client.key"))
	if err != nil {
		t.Fatalf("the API server's kubelet client certificate: %v", err)
	}
	base := fmt.Sprintf("https://127.0.0.1:%d", node.Port)
	endpoints := []struct {
		name, method, path string
		// streaming endpoints answer an authorised plain request with an
		// upgrade error, not 200; what matters is that it got past auth.
		streaming bool
	}{
		{"logs", http.MethodGet, fmt.Sprintf("/containerLogs/%s/%s/app", ns, p.Name), false},
		{"pods", http.MethodGet, "/pods", false},
		{"stats", http.MethodGet, "/stats/summary", false},
		{"metrics", http.MethodGet, "/metrics/resource", false},
		{"exec", http.MethodPost, fmt.Sprintf("/exec/%s/%s/app?command=true&output=1", ns, p.Name), true},
		{"attach", http.MethodPost, fmt.Sprintf("/attach/%s/%s/app?output=1", ns, p.Name), true},
		{"port-forward", http.MethodPost, fmt.Sprintf("/portForward/%s/%s", ns, p.Name), true},
	}
	who := []struct {
		name   string
		client *http.Client
		token  string
		want   func(code int) bool
		wants  string
	}{
		{"anonymous", insecureClient(nil), "", func(c int) bool { return c == http.StatusUnauthorized }, "401"},
		{"a ServiceAccount without rights", insecureClient(nil), tr.Status.Token, func(c int) bool { return c == http.StatusForbidden }, "403"},
		{"the API server's client certificate", insecureClient(&cert), "", nil, "200 (past auth for streams)"},
	}
	for _, w := range who {
		for _, e := range endpoints {
			t.Run(w.name+"/"+e.name, func(t *testing.T) {
				req, err := http.NewRequestWithContext(ctx, e.method, base+e.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if w.token != "" {
					req.Header.Set("Authorization", "Bearer "+w.token)
				}
				resp, err := w.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				resp.Body.Close()
				ok := false
				switch {
				case w.want != nil:
					ok = w.want(resp.StatusCode)
				case e.streaming:
					ok = resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden
				default:
					ok = resp.StatusCode == http.StatusOK
				}
				if !ok {
					t.Errorf("%s %s as %s = %d %q, want %s", e.method, e.path, w.name, resp.StatusCode, body, w.wants)
				}
			})
		}
	}
}

// insecureClient skips verifying the node's (self-signed) certificate: what
// is tested is how the node checks its clients.
func insecureClient(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{InsecureSkipVerify: true} // #nosec G402 -- see above
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// A node whose Docker engine stops answering turns NotReady with the
// kubelet's reason, and Ready again when the engine is back.
func TestNodeNotReadyWhileEngineUnreachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxy := framework.NewEngineProxy(filepath.Join(t.TempDir(), "docker.sock"))
	if err := proxy.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Cut)
	name := "e2e-kc-engine-" + framework.RandomSuffix()
	startNode(t, framework.NodeOptions{Name: name, Args: []string{
		"--docker-host", proxy.DockerHost(), "--node-status-interval", "1s",
		// The node's own directory for termination messages, not one per engine address.
		"--termination-message-dir", t.TempDir(),
	}})

	ready := func(want v1.ConditionStatus) (v1.NodeCondition, error) {
		return framework.WaitNodeReady(ctx, env, name, want, 30*time.Second)
	}
	proxy.Cut()
	c, err := ready(v1.ConditionFalse)
	if err != nil || c.Reason != "KubeletNotReady" || !strings.HasPrefix(c.Message, "container runtime is down") {
		t.Errorf("with the engine cut off, Ready = %s %s %q (%v); want False KubeletNotReady \"container runtime is down...\"", c.Status, c.Reason, c.Message, err)
	}
	if err := proxy.Listen(); err != nil {
		t.Fatal(err)
	}
	c, err = ready(v1.ConditionTrue)
	if err != nil || c.Reason != "KubeletReady" {
		t.Errorf("with the engine back, Ready = %s %s %q (%v); want True KubeletReady", c.Status, c.Reason, c.Message, err)
	}
}
