package nodecert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"k8s.io/utils/clock"
)

// Retry pacing when a renewal fails: doubling from retryFirst up to retryMax.
const (
	retryFirst = 2 * time.Second
	retryMax   = 5 * time.Minute
)

// RotatorConfig configures a Rotator. Issue is required.
type RotatorConfig struct {
	// Name says which certificate it is, in logs ("client", "serving").
	Name string
	// Issue gets a new certificate and key (PEM), e.g. through a CSR.
	Issue func(ctx context.Context) (certPEM, keyPEM []byte, err error)
	// Stored, if set, is given each new certificate before it becomes
	// current (to write it to disk); an error keeps the old one.
	Stored func(certPEM, keyPEM []byte) error
	// Clock is the real clock unless a test sets a fake one.
	Clock clock.WithTicker
	// Jitter returns a number in [0, 1) that spreads renewals between 70%
	// and 90% of a certificate's life (the kubelet's window); random unless
	// a test sets it.
	Jitter func() float64
}

// Rotator keeps a certificate current: it renews it at 70-90% of its life,
// as the kubelet's certificate manager does, retrying with back-off when
// the renewal fails, and never drops the certificate it has.
type Rotator struct {
	cfg RotatorConfig
	cur atomic.Pointer[tls.Certificate]
}

// NewRotator starts from the certificate current (its Leaf is filled in).
func NewRotator(cfg RotatorConfig, current *tls.Certificate) (*Rotator, error) {
	if cfg.Issue == nil {
		return nil, errors.New("nodecert: RotatorConfig.Issue is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if err := withLeaf(current); err != nil {
		return nil, err
	}
	r := &Rotator{cfg: cfg}
	r.cur.Store(current)
	return r, nil
}

// Current is the certificate in use.
func (r *Rotator) Current() *tls.Certificate { return r.cur.Load() }

// GetCertificate is tls.Config.GetCertificate for a serving certificate.
func (r *Rotator) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Current(), nil
}

// Run renews the certificate until ctx ends.
func (r *Rotator) Run(ctx context.Context) error {
	logger := log.G(ctx).WithField("certificate", r.cfg.Name)
	for {
		deadline := r.deadline()
		logger.WithField("notAfter", r.Current().Leaf.NotAfter).WithField("renewAt", deadline).Debug("Certificate renewal scheduled")
		if !r.sleep(ctx, deadline.Sub(r.cfg.Clock.Now())) {
			return nil
		}
		next, err := r.renew(ctx)
		if err != nil {
			return nil // ctx ended
		}
		r.cur.Store(next)
		logger.WithField("notAfter", next.Leaf.NotAfter).Info("Certificate renewed")
	}
}

// deadline is when to renew the current certificate.
func (r *Rotator) deadline() time.Time {
	leaf := r.Current().Leaf
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return leaf.NotBefore.Add(time.Duration(float64(life) * (0.7 + 0.2*r.cfg.Jitter())))
}

// renew issues and stores a new certificate, retrying until it succeeds or
// ctx ends.
func (r *Rotator) renew(ctx context.Context) (*tls.Certificate, error) {
	logger := log.G(ctx).WithField("certificate", r.cfg.Name)
	delay := retryFirst
	for {
		next, err := r.issue(ctx)
		if err == nil {
			return next, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		logger.WithError(err).WithField("retryIn", delay).Warn("Certificate renewal failed; the current certificate stays in use")
		if !r.sleep(ctx, delay) {
			return nil, ctx.Err()
		}
		delay = min(2*delay, retryMax)
	}
}

func (r *Rotator) issue(ctx context.Context) (*tls.Certificate, error) {
	certPEM, keyPEM, err := r.cfg.Issue(ctx)
	if err != nil {
		return nil, err
	}
	c, err := tlsPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("issued %w", err)
	}
	if r.cfg.Stored != nil {
		if err := r.cfg.Stored(certPEM, keyPEM); err != nil {
			return nil, fmt.Errorf("store the new certificate: %w", err)
		}
	}
	return c, nil
}

// sleep waits d on the clock; false when ctx ended first.
func (r *Rotator) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := r.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

func withLeaf(c *tls.Certificate) error {
	if c == nil || len(c.Certificate) == 0 {
		return errors.New("nodecert: no certificate")
	}
	if c.Leaf != nil {
		return nil
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return fmt.Errorf("parse certificate: %w", err)
	}
	c.Leaf = leaf
	return nil
}

// tlsPair parses a certificate and key PEM, Leaf filled in.
func tlsPair(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	if err := withLeaf(&c); err != nil {
		return nil, err
	}
	return &c, nil
}
