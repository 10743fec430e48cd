package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/nodecert"
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/client-go/kubernetes"
)

// servingCert holds the kubelet API's current certificate, so that a
// certificate issued through the certificates API can replace the
// self-signed one the node started with, without a restart.
type servingCert struct {
	cur atomic.Pointer[tls.Certificate]
}

func newServingCert(c tls.Certificate) *servingCert {
	s := &servingCert{}
	s.cur.Store(&c)
	return s
}

// GetCertificate is tls.Config.GetCertificate.
func (s *servingCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.cur.Load(), nil
}

// requestServingCert asks the cluster for a serving certificate the way a
// kubelet with serverTLSBootstrap does: a kubernetes.io/kubelet-serving CSR
// for system:node:<name> with the node's name and IP. Approving it is the
// cluster admin's job (`kubectl certificate approve`); until it is approved
// and signed the node keeps serving its self-signed certificate, and after
// wait it gives up saying so. It returns when done or ctx ends, reporting
// whether the cluster issued the certificate.
func requestServingCert(ctx context.Context, client kubernetes.Interface, holder *servingCert, nodeName, nodeIP string, wait time.Duration) bool {
	logger := log.G(ctx).WithField("signer", certificatesv1.KubeletServingSignerName)
	c, name, err := issueServingCert(ctx, client, nodeName, nodeIP, wait, func(name string) {
		logger.WithField("csr", name).Info("Requested a kubelet serving certificate; serving a self-signed one until the CSR is approved and signed")
	})
	if err != nil {
		if ctx.Err() == nil {
			logger.WithField("csr", name).WithError(err).Warn("No serving certificate from the cluster: the kubelet API keeps its self-signed certificate")
		}
		return false
	}
	holder.cur.Store(&c)
	logger.WithField("csr", name).Info("Serving the kubelet API with the certificate the cluster issued")
	return true
}

// rotateServingCert renews the issued serving certificate before it
// expires, as the kubelet does, until ctx ends.
func rotateServingCert(ctx context.Context, client kubernetes.Interface, holder *servingCert, nodeName, nodeIP string, wait time.Duration) error {
	r, err := nodecert.NewRotator(nodecert.RotatorConfig{
		Name: "serving",
		Issue: func(ctx context.Context) ([]byte, []byte, error) {
			certPEM, keyPEM, _, err := nodecert.Issue(ctx, client, servingRequest(nodeName, nodeIP, wait, nil))
			return certPEM, keyPEM, err
		},
		Stored: func(certPEM, keyPEM []byte) error {
			c, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				return err
			}
			holder.cur.Store(&c)
			return nil
		},
	}, holder.cur.Load())
	if err != nil {
		return fmt.Errorf("serving certificate rotation: %w", err)
	}
	return r.Run(ctx)
}

func servingRequest(nodeName, nodeIP string, wait time.Duration, created func(string)) nodecert.Request {
	r := nodecert.Request{NodeName: nodeName, SignerName: certificatesv1.KubeletServingSignerName, DNSNames: []string{nodeName}, Wait: wait, Created: created}
	if ip := net.ParseIP(nodeIP); ip != nil {
		r.IPs = []net.IP{ip}
	}
	return r
}

// issueServingCert creates the CSR and waits up to wait for its certificate.
func issueServingCert(ctx context.Context, client kubernetes.Interface, nodeName, nodeIP string, wait time.Duration, created func(name string)) (tls.Certificate, string, error) {
	certPEM, keyPEM, name, err := nodecert.Issue(ctx, client, servingRequest(nodeName, nodeIP, wait, created))
	if err != nil {
		return tls.Certificate{}, name, fmt.Errorf("serving certificate: %w", err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, name, fmt.Errorf("certificate of CSR %s: %w", name, err)
	}
	return c, name, nil
}
