//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	certificatesv1 "k8s.io/api/certificates/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// A node given only the cluster's bootstrap token gets its client
// certificate through a CSR the cluster approved, and registers as
// system:node:<name> in group system:nodes.
func TestIdentityNodeBootstrapsThroughAnApprovedCSR(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startNode(t, framework.NodeOptions{Name: "e2e-boot-" + framework.RandomSuffix()})

	csrs, err := env.Client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, csr := range csrs.Items {
		req := parseCSR(t, csr.Spec.Request)
		if req.Subject.CommonName != "system:node:"+n.Name {
			continue
		}
		found = true
		if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName || !strings.HasPrefix(csr.Spec.Username, "system:bootstrap:") ||
			!slices.Equal(req.Subject.Organization, []string{"system:nodes"}) || !approved(csr) || len(csr.Status.Certificate) == 0 {
			t.Errorf("CSR %s: signer %s, by %s, organization %v, approved %v, issued %v; want a kube-apiserver-client-kubelet certificate for system:nodes asked with the bootstrap token, approved and issued",
				csr.Name, csr.Spec.SignerName, csr.Spec.Username, req.Subject.Organization, approved(csr), len(csr.Status.Certificate) > 0)
		}
	}
	if !found {
		t.Fatalf("no CSR for system:node:%s", n.Name)
	}

	leaf := nodeCertificate(t, n)
	if leaf.Subject.CommonName != "system:node:"+n.Name || !slices.Equal(leaf.Subject.Organization, []string{"system:nodes"}) {
		t.Errorf("the node's client certificate is for %v, want system:node:%s in system:nodes", leaf.Subject, n.Name)
	}
	node, err := env.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := node.Labels["kubernetes.io/role"]; ok {
		t.Errorf("node labels %v: kubernetes.io/role is not for a node to set", node.Labels)
	}
}

// The node reads the Secrets and ConfigMaps of its pods one by one, as the
// Node authorizer allows: env, envFrom and volumes get them; an edit of a
// Secret reaches its volume; a Secret created after its pod is picked up;
// and with the node's own credentials the API server refuses a Secret no
// pod of the node refers to.
func TestIdentityNodeReadsOnlyItsPodsObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startNode(t, framework.NodeOptions{Name: "e2e-objs-" + framework.RandomSuffix()})
	ns := namespace(t)
	for _, s := range []*v1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"password": []byte("one")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "env-secret"}, Data: map[string][]byte{"TOKEN": []byte("t0ken")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "unrelated"}, Data: map[string][]byte{"x": []byte("y")}},
	} {
		if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data: map[string]string{"LEVEL": "debug", "color": "blue"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	app := sleeper("app")
	app.Env = []v1.EnvVar{
		{Name: "SECRET_TOKEN", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "env-secret"}, Key: "TOKEN"}}},
		{Name: "CM_COLOR", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "settings"}, Key: "color"}}},
	}
	app.EnvFrom = []v1.EnvFromSource{
		{Prefix: "S_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "env-secret"}}},
		{Prefix: "C_", ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "settings"}}},
	}
	app.VolumeMounts = []v1.VolumeMount{{Name: "creds", MountPath: "/etc/creds"}, {Name: "late", MountPath: "/etc/late"}, {Name: "config", MountPath: "/etc/config"}}
	p := framework.OnNode(pod("objects", app), n.Name)
	p.Spec.Volumes = []v1.Volume{
		{Name: "creds", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "creds"}}},
		{Name: "late", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "late"}}},
		{Name: "config", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "settings"}}}},
	}
	createPod(t, ns, p)

	// The pod waits for the Secret "late", which does not exist yet.
	waitFailedMount(t, ns, p.Name, `secret "late" not found`)
	if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, &v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "late"},
		Data: map[string][]byte{"word": []byte("here")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, ns, p.Name)
	got := mustExec(t, ns, p.Name, "app", "sh", "-c", "cat /etc/late/word /etc/creds/password /etc/config/color; echo; echo $SECRET_TOKEN $CM_COLOR $S_TOKEN $C_LEVEL")
	if want := "hereoneblue\nt0ken blue t0ken debug"; strings.TrimSpace(got) != want {
		t.Errorf("volumes and env:\n%s\nwant:\n%s", got, want)
	}

	start := time.Now()
	if _, err := env.Client.CoreV1().Secrets(ns).Update(ctx, &v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		Data: map[string][]byte{"password": []byte("two")}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitExecOutput(t, ns, p.Name, "app", "two", 90*time.Second, "cat", "/etc/creds/password")
	t.Logf("the Secret edit reached the volume after %v", time.Since(start).Round(time.Second))

	// The node's own credentials read its pod's Secret, and nothing else.
	nodeClient := clientOf(t, n)
	if _, err := nodeClient.CoreV1().Secrets(ns).Get(ctx, "creds", metav1.GetOptions{}); err != nil {
		t.Errorf("the node cannot read the Secret of its pod: %v", err)
	}
	_, err := nodeClient.CoreV1().Secrets(ns).Get(ctx, "unrelated", metav1.GetOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("the node read a Secret no pod of it refers to: err %v, want 403 Forbidden", err)
	}
	if _, err := nodeClient.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the node listed the namespace's Secrets: err %v, want 403 Forbidden", err)
	}
}

// A label NodeRestriction would not let the node set on itself stops the
// node at start, naming it.
func TestIdentityForbiddenNodeLabelStopsTheNode(t *testing.T) {
	t.Parallel()
	name := "e2e-label-" + framework.RandomSuffix()
	n, err := framework.StartNode(context.Background(), env, framework.NodeOptions{Name: name,
		Args: []string{"--node-labels", "type=normal,node-role.kubernetes.io/worker=true"}})
	if err == nil {
		_ = n.Close(context.Background())
		t.Fatal("the node started with the label node-role.kubernetes.io/worker")
	}
	if !strings.Contains(err.Error(), "node-role.kubernetes.io/worker") || !strings.Contains(err.Error(), "exited") {
		t.Errorf("start error does not say the node exited over node-role.kubernetes.io/worker:\n%v", err)
	}
	if _, err := env.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node %s registered anyway (err %v)", name, err)
	}
}

func parseCSR(t *testing.T, b []byte) *x509.CertificateRequest {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("CSR request holds no PEM")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func approved(csr certificatesv1.CertificateSigningRequest) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved && c.Status == v1.ConditionTrue {
			return true
		}
	}
	return false
}

// nodeCertificate is the client certificate the node's kubeconfig names.
func nodeCertificate(t *testing.T, n *framework.Node) *x509.Certificate {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", n.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg.TLSClientConfig.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM", cfg.TLSClientConfig.CertFile)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// clientOf talks to the API server with the node's own credentials.
func clientOf(t *testing.T, n *framework.Node) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", n.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
