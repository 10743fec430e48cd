package nodecert

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/certificate"
	clocktesting "k8s.io/utils/clock/testing"
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// writeBootstrapKubeconfig writes a token kubeconfig for server.
func writeBootstrapKubeconfig(t *testing.T, path string) {
	t.Helper()
	cfg := clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"c": {Server: "https://192.0.2.1:6443", CertificateAuthorityData: []byte("ca")}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"u": {Token: "abcdef.0123456789abcdef"}},
		Contexts:       map[string]*clientcmdapi.Context{"x": {Cluster: "c", AuthInfo: "u"}},
		CurrentContext: "x",
	}
	if err := clientcmd.WriteToFile(cfg, path); err != nil {
		t.Fatal(err)
	}
}

// A certificate already in the cert dir is used while it is valid: the
// kubeconfig is written to point at it, with the bootstrap cluster, and no
// CSR is needed; once it has expired, the kubeconfig no longer counts.
func TestBootstrapUsesTheCertDirsValidCertificate(t *testing.T) {
	dir := t.TempDir()
	b := &Bootstrap{
		Kubeconfig:          filepath.Join(dir, "node", "kubeconfig"),
		BootstrapKubeconfig: filepath.Join(dir, "bootstrap-kubeconfig"),
		CertDir:             filepath.Join(dir, "pki"),
		NodeName:            "n",
		Clock:               clocktesting.NewFakePassiveClock(start.Add(time.Hour)),
	}
	writeBootstrapKubeconfig(t, b.BootstrapKubeconfig)
	if ok, err := b.kubeconfigValid(); ok || err != nil {
		t.Fatalf("a missing kubeconfig is valid: %v, %v", ok, err)
	}
	store, err := certificate.NewFileStore("kubelet-client", b.CertDir, b.CertDir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := testCert(start, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Update(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}

	if err := b.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", b.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://192.0.2.1:6443" || string(cfg.CAData) != "ca" || cfg.CertFile != store.CurrentPath() || cfg.KeyFile != store.CurrentPath() || cfg.BearerToken != "" {
		t.Errorf("kubeconfig: host %s CA %q cert %s key %s token %q; want the bootstrap cluster and %s", cfg.Host, cfg.CAData, cfg.CertFile, cfg.KeyFile, cfg.BearerToken, store.CurrentPath())
	}
	if ok, err := b.kubeconfigValid(); !ok || err != nil {
		t.Errorf("the written kubeconfig is not valid: %v, %v", ok, err)
	}

	b.Clock = clocktesting.NewFakePassiveClock(start.Add(life + time.Second))
	if ok, _ := b.kubeconfigValid(); ok {
		t.Error("a kubeconfig whose certificate expired is still valid")
	}
}

// A kubeconfig without a client certificate (a token) is not a node's.
func TestBootstrapRefusesATokenKubeconfig(t *testing.T) {
	dir := t.TempDir()
	b := &Bootstrap{Kubeconfig: filepath.Join(dir, "kubeconfig"), Clock: clocktesting.NewFakePassiveClock(start)}
	writeBootstrapKubeconfig(t, b.Kubeconfig)
	if ok, err := b.kubeconfigValid(); ok || err != nil {
		t.Fatalf("a token kubeconfig counts as the node's: %v, %v", ok, err)
	}
	if _, err := os.Stat(b.Kubeconfig); err != nil {
		t.Fatal(err)
	}
}
