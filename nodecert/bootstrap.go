package nodecert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/certificate"
	"k8s.io/utils/clock"
)

// Bootstrap is the kubelet's TLS bootstrap: the node's kubeconfig names a
// client certificate in CertDir that the cluster issued to
// system:node:NodeName, obtained with the bootstrap kubeconfig's token.
type Bootstrap struct {
	// Kubeconfig is the node's kubeconfig (written here).
	Kubeconfig string
	// BootstrapKubeconfig holds the bootstrap token.
	BootstrapKubeconfig string
	// CertDir holds kubelet-client-current.pem (certificate and key).
	CertDir  string
	NodeName string
	// Wait bounds each wait for a CSR's approval.
	Wait  time.Duration
	Clock clock.PassiveClock
}

// Ensure makes Kubeconfig usable: kept when its client certificate is still
// valid, else pointed at a valid certificate of CertDir, else at one newly
// issued through a CSR made with the bootstrap token (and approved by the
// cluster's CSR approver).
func (b *Bootstrap) Ensure(ctx context.Context) error {
	if b.Clock == nil {
		b.Clock = clock.RealClock{}
	}
	if ok, err := b.kubeconfigValid(); err != nil || ok {
		return err
	}
	store, err := b.store()
	if err != nil {
		return err
	}
	if c, err := store.Current(); err == nil && b.Clock.Now().Before(c.Leaf.NotAfter) {
		log.G(ctx).WithField("certDir", b.CertDir).Info("Using the node's client certificate of the cert dir")
		return b.writeKubeconfig(store.CurrentPath())
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", b.BootstrapKubeconfig)
	if err != nil {
		return fmt.Errorf("load --bootstrap-kubeconfig %q: %w", b.BootstrapKubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("bootstrap client: %w", err)
	}
	r := ClientRequest(b.NodeName, b.Wait)
	r.Created = func(name string) {
		log.G(ctx).WithField("csr", name).Info("Requested the node's client certificate with the bootstrap token; waiting for approval")
	}
	certPEM, keyPEM, name, err := Issue(ctx, client, r)
	if err != nil {
		return fmt.Errorf("TLS bootstrap: %w", err)
	}
	if _, err := store.Update(certPEM, keyPEM); err != nil {
		return fmt.Errorf("store the node's client certificate: %w", err)
	}
	log.G(ctx).WithField("csr", name).WithField("certDir", b.CertDir).Info("Client certificate issued")
	return b.writeKubeconfig(store.CurrentPath())
}

// ClientRotator renews the client certificate of CertDir through client
// (the node's own credentials) before it expires, writing each new one
// where the kubeconfig points; client-go reloads it from there.
func (b *Bootstrap) ClientRotator(client kubernetes.Interface, clk clock.WithTicker) (*Rotator, error) {
	store, err := b.store()
	if err != nil {
		return nil, err
	}
	current, err := store.Current()
	if err != nil {
		return nil, fmt.Errorf("the node's client certificate: %w", err)
	}
	return NewRotator(RotatorConfig{
		Name:  "client",
		Clock: clk,
		Issue: func(ctx context.Context) ([]byte, []byte, error) {
			certPEM, keyPEM, _, err := Issue(ctx, client, ClientRequest(b.NodeName, b.Wait))
			return certPEM, keyPEM, err
		},
		Stored: func(certPEM, keyPEM []byte) error {
			_, err := store.Update(certPEM, keyPEM)
			return err
		},
	}, current)
}

func (b *Bootstrap) store() (certificate.FileStore, error) {
	if err := os.MkdirAll(b.CertDir, 0o700); err != nil {
		return nil, fmt.Errorf("--cert-dir: %w", err)
	}
	s, err := certificate.NewFileStore("kubelet-client", b.CertDir, b.CertDir, "", "")
	if err != nil {
		return nil, fmt.Errorf("certificate store in %s: %w", b.CertDir, err)
	}
	return s, nil
}

// kubeconfigValid: the kubeconfig exists and its client certificate has not
// expired (a kubeconfig without one is not a node's).
func (b *Bootstrap) kubeconfigValid() (bool, error) {
	if _, err := os.Stat(b.Kubeconfig); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", b.Kubeconfig)
	if err != nil {
		return false, fmt.Errorf("load kubeconfig %q: %w", b.Kubeconfig, err)
	}
	tc, err := cfg.TransportConfig()
	if err != nil {
		return false, fmt.Errorf("kubeconfig %q: %w", b.Kubeconfig, err)
	}
	if err := loadTLSFiles(tc.TLS.CertFile, tc.TLS.KeyFile, &tc.TLS.CertData, &tc.TLS.KeyData); err != nil {
		return false, nil // the certificate it names is gone: bootstrap again
	}
	c, err := tls.X509KeyPair(tc.TLS.CertData, tc.TLS.KeyData)
	if err != nil || withLeaf(&c) != nil {
		return false, nil
	}
	return b.Clock.Now().Before(c.Leaf.NotAfter), nil
}

func loadTLSFiles(certFile, keyFile string, certData, keyData *[]byte) error {
	var err error
	if certFile != "" {
		if *certData, err = os.ReadFile(certFile); err != nil {
			return err
		}
	}
	if keyFile != "" {
		if *keyData, err = os.ReadFile(keyFile); err != nil {
			return err
		}
	}
	return nil
}

// writeKubeconfig writes the node's kubeconfig: the bootstrap kubeconfig's
// cluster, and the certificate file certPath (which holds the key too).
func (b *Bootstrap) writeKubeconfig(certPath string) error {
	boot, err := clientcmd.BuildConfigFromFlags("", b.BootstrapKubeconfig)
	if err != nil {
		return fmt.Errorf("load --bootstrap-kubeconfig %q: %w", b.BootstrapKubeconfig, err)
	}
	ca, err := caData(boot)
	if err != nil {
		return err
	}
	// A relative path in a kubeconfig is relative to the kubeconfig's
	// directory, not to ours.
	if certPath, err = filepath.Abs(certPath); err != nil {
		return fmt.Errorf("client certificate path: %w", err)
	}
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{"default-cluster": {
			Server: boot.Host, CertificateAuthorityData: ca, TLSServerName: boot.TLSClientConfig.ServerName,
		}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{"default-auth": {
			ClientCertificate: certPath, ClientKey: certPath,
		}},
		Contexts: map[string]*clientcmdapi.Context{"default-context": {
			Cluster: "default-cluster", AuthInfo: "default-auth", Namespace: "default",
		}},
		CurrentContext: "default-context",
	}
	if err := os.MkdirAll(filepath.Dir(b.Kubeconfig), 0o755); err != nil {
		return fmt.Errorf("kubeconfig directory: %w", err)
	}
	if err := clientcmd.WriteToFile(cfg, b.Kubeconfig); err != nil {
		return fmt.Errorf("write kubeconfig %q: %w", b.Kubeconfig, err)
	}
	return nil
}

func caData(cfg *rest.Config) ([]byte, error) {
	if len(cfg.TLSClientConfig.CAData) > 0 {
		return cfg.TLSClientConfig.CAData, nil
	}
	if cfg.TLSClientConfig.CAFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(cfg.TLSClientConfig.CAFile)
	if err != nil {
		return nil, fmt.Errorf("bootstrap kubeconfig's CA: %w", err)
	}
	return b, nil
}
