package nodecert

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
)

const life = 100 * time.Hour

// issuer hands out certificates valid for life from the fake clock's now,
// failing the first failures calls.
type issuer struct {
	clock    *clocktesting.FakeClock
	mu       sync.Mutex
	calls    int
	failures int
}

func (i *issuer) issue(context.Context) ([]byte, []byte, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.calls++
	if i.calls <= i.failures {
		return nil, nil, errors.New("the API server is away")
	}
	return testCert(i.clock.Now(), i.calls)
}

func (i *issuer) count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.calls
}

func testCert(notBefore time.Time, serial int) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(serial)), Subject: pkix.Name{CommonName: "system:node:n"},
		NotBefore: notBefore, NotAfter: notBefore.Add(life)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// runRotator starts a rotator whose certificate began at the fake clock's
// now, renewing at 80% of its life (jitter 0.5).
func runRotator(t *testing.T, iss *issuer, stored func([]byte, []byte) error) *Rotator {
	t.Helper()
	certPEM, keyPEM, err := testCert(iss.clock.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	first, err := tlsPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRotator(RotatorConfig{Name: "client", Issue: iss.issue, Stored: stored, Clock: iss.clock, Jitter: func() float64 { return 0.5 }}, first)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// step advances the fake clock once the rotator waits on it.
func step(t *testing.T, c *clocktesting.FakeClock, d time.Duration) {
	t.Helper()
	waitFor(t, "the rotator to wait", c.HasWaiters)
	c.Step(d)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("waiting for %s: timed out", what)
	}
}

func TestTheCertificateIsRenewedAtEightyPercentOfItsLife(t *testing.T) {
	iss := &issuer{clock: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	var stored int
	var mu sync.Mutex
	r := runRotator(t, iss, func([]byte, []byte) error { mu.Lock(); stored++; mu.Unlock(); return nil })
	first := r.Current()

	step(t, iss.clock, 79*time.Hour)
	waitFor(t, "the rotator to wait again", iss.clock.HasWaiters)
	if iss.count() != 0 || r.Current() != first {
		t.Fatal("renewed before 80% of the certificate's life")
	}

	iss.clock.Step(time.Hour)
	waitFor(t, "a renewal", func() bool { return r.Current() != first })
	if iss.count() != 1 {
		t.Errorf("%d certificates issued, want 1", iss.count())
	}
	mu.Lock()
	if stored != 1 {
		t.Errorf("stored %d times, want 1 (before it is used)", stored)
	}
	mu.Unlock()
	if !r.Current().Leaf.NotBefore.Equal(iss.clock.Now()) {
		t.Errorf("current certificate begins %v, want the renewed one of %v", r.Current().Leaf.NotBefore, iss.clock.Now())
	}

	// The next renewal is 80% into the new certificate's life.
	second := r.Current()
	step(t, iss.clock, 80*time.Hour)
	waitFor(t, "a second renewal", func() bool { return r.Current() != second })
}

func TestAFailedRenewalKeepsTheCertificateAndRetriesWithBackOff(t *testing.T) {
	iss := &issuer{clock: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), failures: 2}
	r := runRotator(t, iss, nil)
	first := r.Current()

	step(t, iss.clock, 80*time.Hour)
	waitFor(t, "the first attempt", func() bool { return iss.count() == 1 })
	if r.Current() != first {
		t.Fatal("a failed renewal replaced the certificate")
	}
	step(t, iss.clock, retryFirst-time.Millisecond)
	waitFor(t, "the rotator to wait again", iss.clock.HasWaiters)
	if iss.count() != 1 {
		t.Fatal("retried before the back-off")
	}
	iss.clock.Step(time.Millisecond)
	waitFor(t, "the second attempt", func() bool { return iss.count() == 2 })
	step(t, iss.clock, 2*retryFirst) // the back-off doubled
	waitFor(t, "the renewal", func() bool { return r.Current() != first })
	if iss.count() != 3 {
		t.Errorf("%d attempts, want 3", iss.count())
	}
}

func TestAStoreFailureKeepsTheCertificate(t *testing.T) {
	iss := &issuer{clock: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	r := runRotator(t, iss, func([]byte, []byte) error { return errors.New("disk full") })
	first := r.Current()
	step(t, iss.clock, 80*time.Hour)
	waitFor(t, "the attempt", func() bool { return iss.count() == 1 })
	waitFor(t, "the rotator to wait for its retry", iss.clock.HasWaiters)
	if r.Current() != first {
		t.Fatal("a certificate that could not be stored came into use")
	}
}
