package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
)

// The node asks for a kubelet-serving certificate for its name and IP, and
// serves it once an admin has approved the CSR and the signer issued it.
func TestServingCertificateFromAnApprovedCSR(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := fake.NewClientset()
	selfSigned, _, err := servingCertificate("", "", "vk-a", "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	holder := newServingCert(selfSigned)
	first, _ := holder.GetCertificate(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		requestServingCert(ctx, client, holder, "vk-a", "192.0.2.7", 15*time.Second)
	}()

	var csr *certificatesv1.CertificateSigningRequest
	if err := wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		list, err := client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) == 0 {
			return false, nil
		}
		csr = &list.Items[0]
		return true, nil
	}); err != nil {
		t.Fatal("no CSR was created")
	}
	block, _ := pem.Decode(csr.Spec.Request)
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if csr.Spec.SignerName != certificatesv1.KubeletServingSignerName || req.Subject.CommonName != "system:node:vk-a" ||
		len(req.Subject.Organization) != 1 || req.Subject.Organization[0] != "system:nodes" ||
		len(req.DNSNames) != 1 || req.DNSNames[0] != "vk-a" || len(req.IPAddresses) != 1 || !req.IPAddresses[0].Equal(net.ParseIP("192.0.2.7")) {
		t.Errorf("CSR = signer %s subject %v DNS %v IP %v, want kubelet-serving for system:node:vk-a in system:nodes, vk-a and 192.0.2.7", csr.Spec.SignerName, req.Subject, req.DNSNames, req.IPAddresses)
	}
	if got, _ := holder.GetCertificate(nil); got != first {
		t.Error("the self-signed certificate was replaced before the CSR was issued")
	}

	// The admin approves; the signer issues.
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: v1.ConditionTrue, Reason: "Test"}}
	csr.Status.Certificate = signForTest(t, req)
	if _, err := client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	<-done
	got, _ := holder.GetCertificate(nil)
	leaf, err := x509.ParseCertificate(got.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Issuer.CommonName != "test-ca" {
		t.Errorf("serving certificate issued by %q, want the cluster's test-ca", leaf.Issuer.CommonName)
	}
}

func signForTest(t *testing.T, req *x509.CertificateRequest) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: req.Subject, DNSNames: req.DNSNames, IPAddresses: req.IPAddresses, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, req.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
