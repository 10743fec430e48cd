//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
)

// chartDir is the Helm chart of the repository.
var chartDir = filepath.Join(framework.RepoRoot(), "charts", "vk-docker")

// helm runs bin/helm (built by `make helm`) against the cluster, skipping
// the test when it was not built.
func helm(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(filepath.Dir(env.Bin), "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s is missing: run `make helm` to test the chart", bin)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "HELM_CACHE_HOME="+t.TempDir(),
		"HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), &helmError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type helmError struct {
	args   []string
	err    error
	stderr string
}

func (e *helmError) Error() string {
	return "helm " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + e.stderr
}

func TestChartLintsCleanStrict(t *testing.T) {
	t.Parallel()
	out, err := helm(t, context.Background(), "lint", "--strict", chartDir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "0 chart(s) failed") || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
		t.Errorf("helm lint --strict:\n%s", out)
	}
}

// Every object the chart renders, over the value sets users are told
// about, is one the API server accepts (server-side dry run).
func TestChartRendersObjectsTheAPIServerAccepts(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	cases := []struct {
		name string
		set  []string
		want []string // in the rendered manifests
	}{
		{name: "defaults", want: []string{
			"--taint=virtual-kubelet.io/provider=docker:NoSchedule", "--docker-host=unix:///var/run/docker.sock",
			"fieldPath: status.podIP", "--node-ip=$(POD_IP)", "type: Recreate", "replicas: 1",
			"--pod-api-address=$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)", "helm.sh/hook: pre-delete"}},
		{name: "no taint, labels, placement, resources, extra args", set: []string{
			"taints=null", "nodeLabels.tier=burst", "nodeLabels.zone=a", "logLevel=debug",
			"resources.requests.cpu=100m", "resources.limits.memory=256Mi",
			"nodeSelector.kubernetes\\.io/hostname=n1", "tolerations[0].operator=Exists",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=kubernetes.io/os",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
			"extraArgs={--allow-host-network,--max-pods=20}",
		}, want: []string{"--taint=none", "--node-labels=tier=burst,zone=a", "--log-level=debug", `"--allow-host-network"`}},
		{name: "Docker hosts over TLS, no socket", set: []string{
			"docker.socket.hostPath=", "docker.hosts[0].url=tcp://10.1.2.3:2376", "docker.hosts[0].tlsSecret=docker-a",
			"docker.hosts[1].url=ssh://docker@10.1.2.4",
		}, want: []string{"--docker-host=tcp://10.1.2.3:2376", "--docker-cert-path=tcp://10.1.2.3:2376=/etc/vk-docker/docker-certs/0",
			"--docker-host=ssh://docker@10.1.2.4", "secretName: docker-a", "emptyDir: {}"}},
		{name: "bootstrap token", set: []string{
			"credentials.mode=bootstrapToken", "credentials.bootstrapToken.token=abcdef.0123456789abcdef", "apiServer=172.17.0.1:6443",
		}, want: []string{"--bootstrap-kubeconfig=/etc/vk-docker/bootstrap/bootstrap-kubeconfig",
			"--kubeconfig=/var/lib/vk-docker/vk-docker/kubeconfig", "--cert-dir=/var/lib/vk-docker/vk-docker/pki",
			"automountServiceAccountToken: false", `token: "abcdef.0123456789abcdef"`, "server: https://172.17.0.1:6443",
			"tokenFile: /etc/vk-docker/bootstrap-token/token", "name: kube-root-ca.crt", "secretName: r-vk-docker-bootstrap-token"}},
		{name: "bootstrap token from a Secret, identity on a claim", set: []string{
			"credentials.mode=bootstrapToken", "credentials.bootstrapToken.tokenSecret=join", "credentials.bootstrapToken.tokenKey=t",
			"credentials.bootstrapToken.identityClaim=vk-identity", "docker.socket.hostPath=", "docker.hosts[0].url=tcp://10.1.2.3:2376",
		}, want: []string{"secretName: join", "key: t", "server: https://kubernetes.default.svc:443", "claimName: vk-identity",
			"--kubeconfig=/var/lib/vk-docker-identity/kubeconfig", "--cert-dir=/var/lib/vk-docker-identity/pki"}},
		{name: "bootstrap kubeconfig from a Secret", set: []string{
			"credentials.mode=bootstrapToken", "credentials.bootstrapToken.kubeconfigSecret=vk-bootstrap",
		}, want: []string{"--bootstrap-kubeconfig=/etc/vk-docker/bootstrap/bootstrap-kubeconfig", "secretName: vk-bootstrap"}},
		{name: "serving certificate from a Secret", set: []string{"servingCert.secretName=vk-serving"},
			want: []string{"--tls-cert-file=/etc/vk-docker/serving/tls.crt", "secretName: vk-serving"}},
		{name: "serving certificate by CSR", set: []string{"servingCert.csrWait=10m"},
			want: []string{"--serving-cert-csr-wait=10m", "certificatesigningrequests"}},
		{name: "explicit addresses, no removal hook", set: []string{
			"apiServer=172.17.0.1:6443", "podAPIAddress=172.17.0.1:6443", "nodeIP=10.0.0.5", "removeNode.onUninstall=false",
			"nodeName=burst-1", "image.tag=0.0.1", "image.pullPolicy=Never",
		}, want: []string{"--pod-api-address=172.17.0.1:6443", `value: "172.17.0.1"`, `value: "6443"`, "--node-ip=10.0.0.5",
			"--nodename=burst-1", `image: "vk-docker/vk-docker:0.0.1"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", "r", chartDir, "--namespace", ns}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			ctx := context.Background()
			manifests, err := helm(t, ctx, args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(manifests, w) {
					t.Errorf("rendered manifests lack %q", w)
				}
			}
			// Through stdin: kubectl -f splits file names at commas.
			cmd := exec.CommandContext(ctx, env.KubectlBin, "--kubeconfig", env.Kubeconfig, "apply", "--dry-run=server", "-f", "-")
			cmd.Stdin = strings.NewReader(manifests)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("the API server refuses the rendered objects: %v: %s\n%s", err, out, manifests)
			}
		})
	}
}

// A wrong value is refused before anything reaches the cluster, with a
// message naming the value.
func TestChartRefusesBadValues(t *testing.T) {
	t.Parallel()
	cases := []struct{ set, want string }{
		{"logLevel=loud", "at '/logLevel': value must be one of 'debug', 'info', 'warn', 'error'"},
		{"credentials.mode=password", "at '/credentials/mode': value must be one of 'serviceAccount', 'bootstrapToken'"},
		{"taints={dedicated=burst}", "at '/taints/0': 'dedicated=burst' does not match pattern"},
		{"nodeName=Burst_1", "at '/nodeName': 'Burst_1' does not match pattern"},
		{"image.pullPolicy=Sometimes", "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"},
		{"docker.hosts[0].url=10.1.2.3:2376", "at '/docker/hosts/0/url': '10.1.2.3:2376' does not match pattern"},
		{"nodeLabels.tier=null", "at '/nodeLabels/tier': got null, want string"},
		{"apiServer=https://api", "at '/apiServer': 'https://api' does not match pattern"},
		{"servingCert.csrWait=10", "at '/servingCert/csrWait': got number, want string"},
		{"kubeletPort=70000", "at '/kubeletPort': maximum: got 70,000, want 65,535"},
		{"nodelabels.tier=burst", "additional properties 'nodelabels' not allowed"},
		{"docker.socket.hostPath=", "set docker.socket.hostPath or at least one of docker.hosts"},
		{"credentials.mode=bootstrapToken", "credentials.mode=bootstrapToken needs exactly one of credentials.bootstrapToken.token"},
		{"credentials.bootstrapToken.token=abc", "at '/credentials/bootstrapToken/token': 'abc' does not match pattern"},
	}
	for _, tc := range cases {
		t.Run(tc.set, func(t *testing.T) {
			_, err := helm(t, context.Background(), "template", "r", chartDir, "--set", tc.set)
			if err == nil {
				t.Fatalf("--set %s rendered, want it refused", tc.set)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("--set %s: %v\nwant a message with %q", tc.set, err, tc.want)
			}
		})
	}
}
