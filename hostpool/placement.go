package hostpool

import (
	"errors"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The requests a pod that asks for none is counted with when placing, as
// the scheduler's least-allocated scoring does (non-zero defaults), so
// that such pods spread too.
var (
	defaultCPURequest    = resource.MustParse("100m")
	defaultMemoryRequest = resource.MustParse("200Mi")
)

// placement is the host a pod runs on and what it requested there.
type placement struct {
	host     *Host
	requests v1.ResourceList
}

// ErrNoHealthyHost is Place's error when every host is down.
var ErrNoHealthyHost = errors.New("no healthy Docker host")

// Place chooses the host a new pod goes to — the healthy host left least
// allocated once the pod is counted there (the mean of its CPU and memory
// shares), the first in flag order on a tie — and records the pod there.
// A pod already placed keeps its host.
func (p *Pool) Place(uid string, requests v1.ResourceList) (*Host, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl, ok := p.placed[uid]; ok {
		return pl.host, nil
	}
	var best *Host
	bestScore := 0.0
	for _, h := range p.hosts {
		st := h.Health()
		if !st.Healthy {
			continue
		}
		cpu, mem := p.allocatedLocked(h)
		c, m := scoreRequests(requests)
		score := (share(cpu+c, float64(st.Info.NCPU)*1000) + share(mem+m, float64(st.Info.MemTotal))) / 2
		if best == nil || score < bestScore {
			best, bestScore = h, score
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w among %s", ErrNoHealthyHost, p.namesLocked())
	}
	p.placed[uid] = placement{host: best, requests: requests}
	return best, nil
}

// Assign records that a pod runs on host (a pod found there at start-up).
func (p *Pool) Assign(uid string, host *Host, requests v1.ResourceList) {
	p.mu.Lock()
	p.placed[uid] = placement{host: host, requests: requests}
	p.mu.Unlock()
}

// Release forgets a pod whose containers are gone.
func (p *Pool) Release(uid string) {
	p.mu.Lock()
	delete(p.placed, uid)
	p.mu.Unlock()
}

// HostOf returns the host a pod was placed on, or nil.
func (p *Pool) HostOf(uid string) *Host {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.placed[uid].host
}

// PodsOn lists the UIDs of the pods placed on host.
func (p *Pool) PodsOn(host *Host) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var uids []string
	for uid, pl := range p.placed {
		if pl.host == host {
			uids = append(uids, uid)
		}
	}
	return uids
}

// Requested sums the requests of the pods placed on host.
func (p *Pool) Requested(host *Host) v1.ResourceList {
	p.mu.Lock()
	defer p.mu.Unlock()
	sum := v1.ResourceList{}
	for _, pl := range p.placed {
		if pl.host != host {
			continue
		}
		for r, q := range pl.requests {
			t := sum[r]
			t.Add(q)
			sum[r] = t
		}
	}
	return sum
}

// allocatedLocked is the CPU (millicores) and memory (bytes) the pods
// placed on h count for when placing.
func (p *Pool) allocatedLocked(h *Host) (cpu, mem float64) {
	for _, pl := range p.placed {
		if pl.host == h {
			c, m := scoreRequests(pl.requests)
			cpu, mem = cpu+c, mem+m
		}
	}
	return cpu, mem
}

func scoreRequests(r v1.ResourceList) (cpu, mem float64) {
	c, ok := r[v1.ResourceCPU]
	if !ok || c.IsZero() {
		c = defaultCPURequest
	}
	m, ok := r[v1.ResourceMemory]
	if !ok || m.IsZero() {
		m = defaultMemoryRequest
	}
	return float64(c.MilliValue()), float64(m.Value())
}

func share(used, capacity float64) float64 {
	if capacity <= 0 {
		return 1
	}
	return used / capacity
}

func (p *Pool) namesLocked() string {
	names := make([]string, 0, len(p.hosts))
	for _, h := range p.hosts {
		names = append(names, h.URL)
	}
	return strings.Join(names, ", ")
}
