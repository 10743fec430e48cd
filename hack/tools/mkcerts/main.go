// Command mkcerts generates the PKI and kubeconfigs of the local test control
// plane started by hack/cluster-up.sh.
//
// It writes, under -dir:
//
//	pki/ca.crt, pki/ca.key                     cluster CA (kept if present)
//	pki/sa.key, pki/sa.pub                     service-account signing key pair (kept if present)
//	pki/apiserver.crt, .key                    kube-apiserver serving cert
//	pki/apiserver-kubelet-client.crt, .key     kube-apiserver -> kubelet client cert
//	pki/admin.crt, .key                        CN=admin, O=system:masters
//	pki/controller-manager.crt, .key           CN=system:kube-controller-manager
//	pki/scheduler.crt, .key                    CN=system:kube-scheduler
//	pki/front-proxy-ca.crt, .key               the aggregator's CA (kept if present)
//	pki/front-proxy-client.crt, .key           CN=front-proxy-client: the API server to extension API servers
//	pki/metrics-server.crt, .key               metrics-server serving cert (metrics-server.kube-system.svc, -metrics-server-ips)
//	pki/metrics-server-client.crt, .key        CN=system:metrics-server
//	kubeconfig                                 admin, -server
//	kubeconfig-gateway                         admin, -gateway-server (if set)
//	controller-manager.kubeconfig
//	scheduler.kubeconfig
//	metrics-server.kubeconfig
//
// Leaf certificates and kubeconfigs are always rewritten; the CAs and the
// service-account key are reused when they already exist, so tokens and
// previously issued certificates stay valid.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 5 * 365 * 24 * time.Hour
	clusterName  = "vk-docker"
)

type options struct {
	dir           string
	server        string
	gatewayServer string
	ips           []net.IP
	dnsNames      []string
	metricsIPs    []net.IP
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("mkcerts: ")

	var o options
	var ips, dns, metricsIPs string
	flag.StringVar(&o.dir, "dir", ".cluster", "output directory (PKI goes to <dir>/pki)")
	flag.StringVar(&o.server, "server", "https://127.0.0.1:6443", "API server URL written into the kubeconfigs")
	flag.StringVar(&o.gatewayServer, "gateway-server", "", "if set, also write <dir>/kubeconfig-gateway (admin) pointing at this URL")
	flag.StringVar(&ips, "apiserver-ips", "127.0.0.1,10.0.0.1", "comma-separated IP SANs of the API server serving cert")
	flag.StringVar(&dns, "apiserver-dns", "localhost,kubernetes,kubernetes.default,kubernetes.default.svc,kubernetes.default.svc.cluster.local",
		"comma-separated DNS SANs of the API server serving cert")
	flag.StringVar(&metricsIPs, "metrics-server-ips", "", "comma-separated IP SANs of the metrics-server serving cert (besides its Service's DNS names)")
	flag.Parse()
	if flag.NArg() != 0 {
		log.Fatalf("unexpected arguments: %v", flag.Args())
	}
	for _, s := range splitList(ips) {
		ip := net.ParseIP(s)
		if ip == nil {
			log.Fatalf("invalid IP in -apiserver-ips: %q", s)
		}
		o.ips = append(o.ips, ip)
	}
	o.dnsNames = splitList(dns)
	for _, s := range splitList(metricsIPs) {
		ip := net.ParseIP(s)
		if ip == nil {
			log.Fatalf("invalid IP in -metrics-server-ips: %q", s)
		}
		o.metricsIPs = append(o.metricsIPs, ip)
	}

	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run(o options) error {
	pki := filepath.Join(o.dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return err
	}

	ca, err := loadOrCreateCA(pki, "ca", clusterName+"-ca")
	if err != nil {
		return fmt.Errorf("CA: %w", err)
	}
	// The aggregator's own CA, as kubeadm has it: extension API servers
	// (metrics-server) trust request headers only from its client.
	frontProxyCA, err := loadOrCreateCA(pki, "front-proxy-ca", clusterName+"-front-proxy-ca")
	if err != nil {
		return fmt.Errorf("front-proxy CA: %w", err)
	}
	if err := ensureServiceAccountKey(pki); err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}

	leaves := []struct {
		name string
		tmpl *x509.Certificate
	}{
		{"apiserver", &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			IPAddresses: o.ips,
			DNSNames:    o.dnsNames,
		}},
		{"apiserver-kubelet-client", clientTemplate("kube-apiserver-kubelet-client")},
		{"admin", clientTemplate("admin", "system:masters")},
		{"controller-manager", clientTemplate("system:kube-controller-manager")},
		{"scheduler", clientTemplate("system:kube-scheduler")},
		{"metrics-server", &x509.Certificate{
			Subject:     pkix.Name{CommonName: "metrics-server"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			IPAddresses: o.metricsIPs,
			DNSNames:    []string{"metrics-server", "metrics-server.kube-system", "metrics-server.kube-system.svc"},
		}},
		{"metrics-server-client", clientTemplate("system:metrics-server")},
		{"front-proxy-client", clientTemplate("front-proxy-client")},
	}
	issued := map[string]*keyPair{}
	for _, l := range leaves {
		signer := ca
		if l.name == "front-proxy-client" {
			signer = frontProxyCA
		}
		kp, err := signer.issue(l.tmpl)
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		if err := kp.write(pki, l.name); err != nil {
			return err
		}
		issued[l.name] = kp
	}

	kubeconfigs := []struct {
		file, user, cert, server string
	}{
		{"kubeconfig", "admin", "admin", o.server},
		{"controller-manager.kubeconfig", "system:kube-controller-manager", "controller-manager", o.server},
		{"scheduler.kubeconfig", "system:kube-scheduler", "scheduler", o.server},
		{"metrics-server.kubeconfig", "system:metrics-server", "metrics-server-client", o.server},
	}
	if o.gatewayServer != "" {
		kubeconfigs = append(kubeconfigs, struct{ file, user, cert, server string }{
			"kubeconfig-gateway", "admin", "admin", o.gatewayServer,
		})
	}
	for _, k := range kubeconfigs {
		if err := writeKubeconfig(filepath.Join(o.dir, k.file), k.server, k.user, ca.certPEM, issued[k.cert]); err != nil {
			return fmt.Errorf("%s: %w", k.file, err)
		}
	}
	log.Printf("wrote PKI to %s and kubeconfigs to %s (server %s)", pki, o.dir, o.server)
	return nil
}

func clientTemplate(cn string, orgs ...string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: orgs},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

type keyPair struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	keyPEM  []byte
}

func (kp *keyPair) write(dir, name string) error {
	if err := writeFile(filepath.Join(dir, name+".key"), kp.keyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, name+".crt"), kp.certPEM, 0o644)
}

// issue signs tmpl with the CA, using a fresh ECDSA P-256 key.
func (ca *keyPair) issue(tmpl *x509.Certificate) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(leafValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = false
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	return newKeyPair(der, key)
}

func newKeyPair(der []byte, key crypto.Signer) (*keyPair, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:     key,
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// loadOrCreateCA reads <dir>/<name>.crt and .key, or creates a CA there
// with the common name cn.
func loadOrCreateCA(dir, name, cn string) (*keyPair, error) {
	certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	certPEM, errC := os.ReadFile(certFile)
	keyPEM, errK := os.ReadFile(keyFile)
	switch {
	case errC == nil && errK == nil:
		return parseKeyPair(certPEM, keyPEM)
	case errors.Is(errC, fs.ErrNotExist) && errors.Is(errK, fs.ErrNotExist):
	case errC != nil:
		return nil, errC
	default:
		return nil, errK
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	kp, err := newKeyPair(der, key)
	if err != nil {
		return nil, err
	}
	if err := kp.write(dir, name); err != nil {
		return nil, err
	}
	log.Printf("created CA %s", certFile)
	return kp, nil
}

func parseKeyPair(certPEM, keyPEM []byte) (*keyPair, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE PEM block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("no private key PEM block")
	}
	var key any
	switch kb.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	default:
		return nil, fmt.Errorf("unsupported key PEM type %q", kb.Type)
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key of type %T is not a signer", key)
	}
	return &keyPair{cert: cert, certPEM: certPEM, key: signer, keyPEM: keyPEM}, nil
}

// ensureServiceAccountKey creates pki/sa.key (RSA, PKCS#1) and pki/sa.pub
// unless they already exist.
func ensureServiceAccountKey(dir string) error {
	keyFile, pubFile := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	_, errK := os.Stat(keyFile)
	_, errP := os.Stat(pubFile)
	if errK == nil && errP == nil {
		return nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return writeFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
}

func writeKubeconfig(path, server, user string, caPEM []byte, kp *keyPair) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{
		Server:                   server,
		CertificateAuthorityData: caPEM,
	}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificateData: kp.certPEM,
		ClientKeyData:         kp.keyPEM,
	}
	cfg.Contexts[clusterName] = &clientcmdapi.Context{
		Cluster:   clusterName,
		AuthInfo:  user,
		Namespace: "default",
	}
	cfg.CurrentContext = clusterName
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return writeFile(path, data, 0o600)
}

// writeFile writes atomically (temp file + rename).
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func randSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}
