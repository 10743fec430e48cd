package hostpool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/system"
	"github.com/vk-docker/vk-docker/dockerhost"
	"k8s.io/utils/clock"
)

// checkTimeout bounds each call of one health check of one host.
const checkTimeout = 5 * time.Second

// Host is one Docker engine of the node.
type Host struct {
	Spec
	// Docker is the engine's client.
	Docker dockerhost.Client

	mu        sync.Mutex
	healthy   bool
	err       error     // why the last check failed
	downSince time.Time // when the host stopped answering; zero while healthy
	info      system.Info
	checked   bool // info holds one successful answer
}

// Name is the host's URL.
func (h *Host) Name() string { return h.URL }

// Health is what the last check of a host found.
type Health struct {
	Healthy bool
	// Err is why the host is unhealthy.
	Err error
	// DownSince is when it stopped answering.
	DownSince time.Time
	// Info is the engine's last answer; Known is false before any.
	Info  system.Info
	Known bool
}

// Health returns what the last check found.
func (h *Host) Health() Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Health{Healthy: h.healthy, Err: h.err, DownSince: h.downSince, Info: h.info, Known: h.checked}
}

// Change is a host that became healthy or unhealthy.
type Change struct {
	Host    *Host
	Healthy bool
}

// Pool is the node's Docker hosts, their health and the pods placed on
// each.
type Pool struct {
	hosts []*Host
	clock clock.Clock

	mu        sync.Mutex
	placed    map[string]placement // pod UID → where it runs
	listeners []func(Change)
}

// New makes a pool of hosts already connected; they are healthy until a
// check says otherwise.
func New(clk clock.Clock, hosts ...*Host) *Pool {
	if clk == nil {
		clk = clock.RealClock{}
	}
	for _, h := range hosts {
		h.healthy = true
	}
	return &Pool{hosts: hosts, clock: clk, placed: map[string]placement{}}
}

// Dial connects to every host and asks each for its Info. A host whose
// TLS handshake fails (its certificate does not verify, or it refuses
// ours) is a configuration error and fails the whole pool; a host that
// does not answer joins it unhealthy, unless no host answers.
func Dial(ctx context.Context, clk clock.Clock, specs []Spec) (*Pool, error) {
	var hosts []*Host
	closeAll := func() {
		for _, h := range hosts {
			_ = h.Docker.Close()
		}
	}
	for _, s := range specs {
		var d dockerhost.Client
		var err error
		if s.FromEnv {
			d, err = dockerhost.Connect("", "")
		} else {
			d, err = dockerhost.Connect(s.URL, s.CertDir)
		}
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("docker host %s: %w", s.URL, err)
		}
		hosts = append(hosts, &Host{Spec: s, Docker: d})
	}
	p := New(clk, hosts...)
	p.Check(ctx)
	answered := 0
	for _, h := range hosts {
		st := h.Health()
		if st.Healthy {
			answered++
			continue
		}
		if IsTLSError(st.Err) {
			closeAll()
			return nil, fmt.Errorf("docker host %s refused: TLS verification failed (check --docker-cert-path: ca.pem must sign the engine's certificate, and the engine's CA must sign cert.pem): %w", h.URL, st.Err)
		}
	}
	if answered == 0 {
		closeAll()
		errs := make([]error, 0, len(hosts))
		for _, h := range hosts {
			errs = append(errs, fmt.Errorf("docker host %s: %w", h.URL, h.Health().Err))
		}
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// IsTLSError reports whether err is a failed TLS handshake: a certificate
// that does not verify on either side.
func IsTLSError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var recordHeader tls.RecordHeaderError
	if err == nil {
		return false
	}
	if errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &recordHeader) {
		return true
	}
	// The engine refusing our certificate reaches us as a TLS alert, whose
	// type crypto/tls does not export; the Docker client also flattens
	// some errors to text.
	msg := err.Error()
	return strings.Contains(msg, "remote error: tls:") || strings.Contains(msg, "x509: ")
}

// Hosts returns the pool's hosts in flag order.
func (p *Pool) Hosts() []*Host { return p.hosts }

// Host returns the host of that name, or nil.
func (p *Pool) Host(name string) *Host {
	for _, h := range p.hosts {
		if h.URL == name {
			return h
		}
	}
	return nil
}

// OnChange registers fn to be called, from Check, for every host that
// becomes healthy or unhealthy.
func (p *Pool) OnChange(fn func(Change)) {
	p.mu.Lock()
	p.listeners = append(p.listeners, fn)
	p.mu.Unlock()
}

// Check asks every host, in parallel, whether it answers and what it has,
// and tells the listeners which hosts changed.
func (p *Pool) Check(ctx context.Context) {
	var wg sync.WaitGroup
	changes := make([]*Change, len(p.hosts))
	for i, h := range p.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			changes[i] = p.check(ctx, h)
		}()
	}
	wg.Wait()
	p.mu.Lock()
	listeners := append([]func(Change){}, p.listeners...)
	p.mu.Unlock()
	for _, c := range changes {
		if c == nil {
			continue
		}
		for _, fn := range listeners {
			fn(*c)
		}
	}
}

func (p *Pool) check(ctx context.Context, h *Host) *Change {
	pctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	err := h.Docker.Ping(pctx)
	var info system.Info
	infoErr := err
	if err == nil {
		// The engine answers: it is healthy. Its info (a walk over every
		// container) can take longer than a ping on a busy engine with
		// hundreds of containers: a slow or failed answer keeps the last
		// one, as the kubelet's runtime status call has minutes, not
		// seconds, so long as a second ping says the engine is still
		// there (it may have gone silent since the first).
		ictx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		if info, infoErr = h.Docker.Info(ictx); infoErr != nil {
			pctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			err = h.Docker.Ping(pctx)
		}
	}
	if ctx.Err() != nil {
		return nil // the node is stopping: no news about the host
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil && infoErr != nil && !h.checked {
		err = infoErr // no info yet: the node cannot describe the host
	}
	was := h.healthy
	switch {
	case err != nil:
		h.healthy, h.err = false, err
		if was || h.downSince.IsZero() {
			h.downSince = p.clock.Now()
		}
	case infoErr != nil:
		h.healthy, h.err, h.downSince = true, nil, time.Time{}
	default:
		h.healthy, h.err, h.downSince, h.info, h.checked = true, nil, time.Time{}, info, true
	}
	if was == h.healthy {
		return nil
	}
	return &Change{Host: h, Healthy: h.healthy}
}

// Close closes every host's client.
func (p *Pool) Close() error {
	var errs []error
	for _, h := range p.hosts {
		errs = append(errs, h.Docker.Close())
	}
	return errors.Join(errs...)
}
