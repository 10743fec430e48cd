// Package nodecert gets and keeps a node's certificates from the cluster's
// certificates API as the kubelet does: the client certificate through TLS
// bootstrap (a CSR made with a bootstrap token), and the client and serving
// certificates renewed before they expire.
package nodecert

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/certificate/csr"
	"k8s.io/client-go/util/keyutil"
)

// Request describes the certificate a node asks for.
type Request struct {
	// NodeName makes the subject system:node:NodeName in group system:nodes.
	NodeName string
	// SignerName is kubernetes.io/kube-apiserver-client-kubelet for the
	// client certificate, kubernetes.io/kubelet-serving for the serving one.
	SignerName string
	// DNSNames and IPs are the serving certificate's names.
	DNSNames []string
	IPs      []net.IP
	// Wait bounds the wait for approval and signature.
	Wait time.Duration
	// Created, if set, is told the CSR's name once it exists.
	Created func(name string)
}

// ClientRequest is the kubelet's client certificate request.
func ClientRequest(nodeName string, wait time.Duration) Request {
	return Request{NodeName: nodeName, SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName, Wait: wait}
}

// Issue creates a CSR with a new key and waits for its certificate. It
// returns the certificate and key PEM and the CSR's name.
func Issue(ctx context.Context, client kubernetes.Interface, r Request) (certPEM, keyPEM []byte, name string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, "", fmt.Errorf("generate key: %w", err)
	}
	subject := &pkix.Name{CommonName: "system:node:" + r.NodeName, Organization: []string{"system:nodes"}}
	der, err := cert.MakeCSR(key, subject, r.DNSNames, r.IPs)
	if err != nil {
		return nil, nil, "", fmt.Errorf("make CSR: %w", err)
	}
	usages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	if r.SignerName == certificatesv1.KubeletServingSignerName {
		usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
	}
	name, uid, err := csr.RequestCertificateWithContext(ctx, client, der, "", r.SignerName, nil, usages, key)
	if err != nil {
		return nil, nil, "", fmt.Errorf("create CSR for %s: %w", r.SignerName, err)
	}
	if r.Created != nil {
		r.Created(name)
	}
	wctx, cancel := context.WithTimeout(ctx, r.Wait)
	defer cancel()
	certPEM, err = csr.WaitForCertificate(wctx, client, name, uid)
	if err != nil {
		return nil, nil, name, fmt.Errorf("wait for CSR %s to be approved and signed (after %s): %w", name, r.Wait, err)
	}
	keyPEM, err = keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, nil, name, fmt.Errorf("encode key: %w", err)
	}
	return certPEM, keyPEM, name, nil
}
