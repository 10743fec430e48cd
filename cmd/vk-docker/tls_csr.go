package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/certificate/csr"
	"k8s.io/client-go/util/keyutil"
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
// wait it gives up saying so. It returns when done or ctx ends.
func requestServingCert(ctx context.Context, client kubernetes.Interface, holder *servingCert, nodeName, nodeIP string, wait time.Duration) {
	logger := log.G(ctx).WithField("signer", certificatesv1.KubeletServingSignerName)
	c, name, err := issueServingCert(ctx, client, nodeName, nodeIP, wait, func(name string) {
		logger.WithField("csr", name).Info("Requested a kubelet serving certificate; serving a self-signed one until the CSR is approved and signed")
	})
	if err != nil {
		if ctx.Err() == nil {
			logger.WithField("csr", name).WithError(err).Warn("No serving certificate from the cluster: the kubelet API keeps its self-signed certificate")
		}
		return
	}
	holder.cur.Store(&c)
	logger.WithField("csr", name).Info("Serving the kubelet API with the certificate the cluster issued")
}

// issueServingCert creates the CSR and waits up to wait for its certificate.
func issueServingCert(ctx context.Context, client kubernetes.Interface, nodeName, nodeIP string, wait time.Duration, created func(name string)) (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("generate serving key: %w", err)
	}
	var ips []net.IP
	if ip := net.ParseIP(nodeIP); ip != nil {
		ips = []net.IP{ip}
	}
	der, err := cert.MakeCSR(key, &pkix.Name{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}}, []string{nodeName}, ips)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("make serving CSR: %w", err)
	}
	usages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
	name, uid, err := csr.RequestCertificateWithContext(ctx, client, der, "", certificatesv1.KubeletServingSignerName, nil, usages, key)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("create serving CSR: %w", err)
	}
	created(name)
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	certPEM, err := csr.WaitForCertificate(wctx, client, name, uid)
	if err != nil {
		return tls.Certificate{}, name, fmt.Errorf("wait for CSR %s to be approved and signed (after %s): %w", name, wait, err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return tls.Certificate{}, name, fmt.Errorf("encode serving key: %w", err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, name, fmt.Errorf("certificate of CSR %s: %w", name, err)
	}
	return c, name, nil
}
