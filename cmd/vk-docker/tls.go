package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"

	"k8s.io/client-go/rest"
)

// servingCertificate loads the kubelet API's certificate, or makes a
// self-signed one for the node's name and IP when no files are given (the
// API server does not verify kubelet certificates unless told to).
func servingCertificate(certFile, keyFile, nodeName, nodeIP string) (tls.Certificate, bool, error) {
	if certFile != "" || keyFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return tls.Certificate{}, false, fmt.Errorf("load serving certificate: %w", err)
		}
		return c, false, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("generate serving key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{nodeName},
	}
	if ip := net.ParseIP(nodeIP); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("self-sign serving certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, true, nil
}

// clientCA returns the PEM of the CA that signs clients of the kubelet API:
// --client-ca-file, else the CA of the cluster in the kubeconfig.
func clientCA(file string, cfg *rest.Config) ([]byte, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read --client-ca-file: %w", err)
		}
		return b, nil
	case len(cfg.TLSClientConfig.CAData) > 0:
		return cfg.TLSClientConfig.CAData, nil
	case cfg.TLSClientConfig.CAFile != "":
		b, err := os.ReadFile(cfg.TLSClientConfig.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read kubeconfig CA: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("no client CA: set --client-ca-file (the kubeconfig names no cluster CA)")
}
