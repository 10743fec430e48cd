package provider

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/ptr"
)

const (
	// statsMaxAge is how long a summary is served from cache: metrics-server
	// and HPA scrape every 15s or more, and several scrapers (or a curl
	// loop) must not each cost one engine call per container.
	statsMaxAge = 5 * time.Second
	// statsParallel bounds the engine calls of one stats pass. A one-shot
	// stats call mostly waits: Docker 20.10 answers it with the next sample
	// of its once-a-second collector (1.0 s per call, measured), so a pass
	// costs about a second per round of calls, and 128 at a time keep
	// 500 pods (1000 containers with their sandboxes) to eight rounds.
	statsParallel = 128
)

// statsCache holds the last summary and the last CPU sample of each
// container, from which the next pass derives usageNanoCores (Docker's
// one-shot stats carry only the cumulative counter).
type statsCache struct {
	mu      sync.Mutex // held for a whole pass: concurrent scrapes share it
	summary *statsv1alpha1.Summary
	at      time.Time
	cpu     map[string]cpuSample // container ID → previous sample
	// retiredCPU is the CPU time of the containers gone since the node
	// started: the node's counter includes it, so it only grows, as a
	// machine's does (metrics-server refuses a counter that goes down).
	retiredCPU uint64
}

type cpuSample struct {
	at    time.Time
	total uint64 // nanoseconds
}

// GetStatsSummary returns the kubelet's /stats/summary for the node's
// pods: CPU and memory of every running container and of each pod, the
// pod's network (from its sandbox), and their sum for the node. Docker's
// stats API gives no filesystem usage without an expensive size scan, so
// fs stats are left out. The summary is shared with other callers for
// statsMaxAge: it must not be modified.
func (p *Provider) GetStatsSummary(ctx context.Context) (*statsv1alpha1.Summary, error) {
	c := &p.stats
	c.mu.Lock()
	defer c.mu.Unlock()
	now := p.cfg.Clock.Now()
	if c.summary != nil && now.Sub(c.at) < statsMaxAge {
		return c.summary, nil
	}
	s, err := p.collectStats(ctx, now)
	if err != nil {
		return nil, err
	}
	c.summary, c.at = s, now
	return s, nil
}

// collectStats makes one pass over the engine; c.mu is held.
func (p *Provider) collectStats(ctx context.Context, now time.Time) (*statsv1alpha1.Summary, error) {
	pods, err := p.GetPods(ctx)
	if err != nil {
		return nil, err
	}
	byUID := make(map[string]*v1.Pod, len(pods))
	for _, pod := range pods {
		byUID[string(pod.UID)] = pod
	}
	// Every host's containers in one list, each sampled on its own engine;
	// a host that does not answer contributes nothing this pass.
	var running []container.Summary
	var samples []*container.StatsResponse
	for _, h := range p.cfg.Pool.Hosts() {
		if !h.Health().Healthy {
			continue
		}
		list, err := h.Docker.ContainerList(ctx, dockerhost.NodeSelector(p.cfg.NodeName))
		if err != nil {
			return nil, fmt.Errorf("list containers for stats on %s: %w", h.URL, err)
		}
		var onHost []container.Summary
		for _, ct := range list {
			if ct.State == "running" && byUID[ct.Labels[dockerhost.LabelPodUID]] != nil {
				onHost = append(onHost, ct)
			}
		}
		running = append(running, onHost...)
		samples = append(samples, p.statsSamples(ctx, h.Docker, onHost)...)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return p.summarize(now, byUID, running, samples), nil
}

// statsSamples asks the engine for one stats sample of each container, many
// at a time (each call waits for the engine's collector); a container gone
// in between has none.
func (p *Provider) statsSamples(ctx context.Context, docker dockerhost.Client, running []container.Summary) []*container.StatsResponse {
	samples := make([]*container.StatsResponse, len(running))
	sem := make(chan struct{}, statsParallel)
	var wg sync.WaitGroup
	for i, ct := range running {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if s, err := docker.ContainerStats(ctx, ct.ID); err == nil {
				samples[i] = &s
			}
		}()
	}
	wg.Wait()
	return samples
}

// summarize builds the summary from the samples: per container, summed per
// pod (sandbox included) and over the node.
func (p *Provider) summarize(now time.Time, byUID map[string]*v1.Pod, running []container.Summary, samples []*container.StatsResponse) *statsv1alpha1.Summary {
	prevCPU := p.stats.cpu
	p.stats.cpu = make(map[string]cpuSample, len(running))
	podStats := map[string]*statsv1alpha1.PodStats{}
	carriedCPU := uint64(0) // of running containers without a sample this time
	for i, ct := range running {
		s := samples[i]
		if s == nil {
			// Gone between list and stats, or the call failed: its last
			// counter still counts for the node.
			if prev, ok := prevCPU[ct.ID]; ok {
				p.stats.cpu[ct.ID] = prev
				carriedCPU += prev.total
			}
			continue
		}
		uid := ct.Labels[dockerhost.LabelPodUID]
		ps := podStats[uid]
		if ps == nil {
			ps = newPodStats(byUID[uid])
			podStats[uid] = ps
		}
		read := s.Read
		if read.IsZero() {
			read = now
		}
		cpu := cpuStats(read, s.CPUStats.CPUUsage.TotalUsage, prevCPU[ct.ID])
		p.stats.cpu[ct.ID] = cpuSample{at: read, total: s.CPUStats.CPUUsage.TotalUsage}
		mem := memoryStats(read, s.MemoryStats)
		if ct.Labels[dockerhost.LabelContainerName] == dockerhost.SandboxContainerName {
			ps.Network = networkStats(read, s.Networks)
		} else {
			ps.Containers = append(ps.Containers, statsv1alpha1.ContainerStats{
				Name:      ct.Labels[dockerhost.LabelContainerName],
				StartTime: metav1.NewTime(time.Unix(ct.Created, 0)),
				CPU:       cpu,
				Memory:    mem,
			})
		}
		// The pod's cgroup would include the sandbox; so does the sum.
		ps.CPU = addCPU(ps.CPU, cpu)
		ps.Memory = addMemory(ps.Memory, mem)
	}

	for id, prev := range prevCPU {
		if _, ok := p.stats.cpu[id]; !ok {
			p.stats.retiredCPU += prev.total
		}
	}

	summary := &statsv1alpha1.Summary{
		Node: statsv1alpha1.NodeStats{NodeName: p.cfg.NodeName, StartTime: metav1.NewTime(p.started)},
		Pods: make([]statsv1alpha1.PodStats, 0, len(podStats)),
	}
	// The virtual node's usage is its pods' usage: the Docker host's own is
	// shared with whatever else runs there. Its CPU time includes that of
	// the containers it ran before.
	summary.Node.CPU = &statsv1alpha1.CPUStats{Time: metav1.NewTime(now), UsageNanoCores: ptr.To(uint64(0)), UsageCoreNanoSeconds: ptr.To(p.stats.retiredCPU + carriedCPU)}
	summary.Node.Memory = &statsv1alpha1.MemoryStats{Time: metav1.NewTime(now), UsageBytes: ptr.To(uint64(0)), WorkingSetBytes: ptr.To(uint64(0)), RSSBytes: ptr.To(uint64(0))}
	for _, ps := range podStats {
		sort.Slice(ps.Containers, func(i, j int) bool { return ps.Containers[i].Name < ps.Containers[j].Name })
		summary.Pods = append(summary.Pods, *ps)
		summary.Node.CPU = addCPU(summary.Node.CPU, ps.CPU)
		summary.Node.Memory = addMemory(summary.Node.Memory, ps.Memory)
	}
	summary.Node.CPU.Time, summary.Node.Memory.Time = metav1.NewTime(now), metav1.NewTime(now)
	sort.Slice(summary.Pods, func(i, j int) bool {
		a, b := summary.Pods[i].PodRef, summary.Pods[j].PodRef
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return summary
}

// newPodStats is a pod's entry in the summary, before its containers.
func newPodStats(pod *v1.Pod) *statsv1alpha1.PodStats {
	ps := &statsv1alpha1.PodStats{
		PodRef:     statsv1alpha1.PodReference{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID)},
		Containers: []statsv1alpha1.ContainerStats{},
	}
	if pod.Status.StartTime != nil {
		ps.StartTime = *pod.Status.StartTime
	}
	return ps
}

// cpuStats turns a cumulative CPU counter into the kubelet's CPU stats; the
// rate needs the previous sample of the same container.
func cpuStats(at time.Time, total uint64, prev cpuSample) *statsv1alpha1.CPUStats {
	s := &statsv1alpha1.CPUStats{Time: metav1.NewTime(at), UsageCoreNanoSeconds: ptr.To(total)}
	if dt := at.Sub(prev.at); !prev.at.IsZero() && dt > 0 && total >= prev.total {
		s.UsageNanoCores = ptr.To(uint64(float64(total-prev.total) / dt.Seconds()))
	}
	return s
}

// memoryStats follows the kubelet (cAdvisor): the working set is usage
// minus inactive file cache, RSS the anonymous memory. Docker names the
// counters after the cgroup version.
func memoryStats(at time.Time, m container.MemoryStats) *statsv1alpha1.MemoryStats {
	inactive, ok := m.Stats["inactive_file"] // cgroup v2
	if !ok {
		inactive = m.Stats["total_inactive_file"] // cgroup v1
	}
	rss, ok := m.Stats["anon"]
	if !ok {
		rss = m.Stats["rss"]
	}
	ws := uint64(0)
	if m.Usage > inactive {
		ws = m.Usage - inactive
	}
	s := &statsv1alpha1.MemoryStats{Time: metav1.NewTime(at), UsageBytes: ptr.To(m.Usage), WorkingSetBytes: ptr.To(ws), RSSBytes: ptr.To(rss)}
	if pf, ok := m.Stats["pgfault"]; ok {
		s.PageFaults = ptr.To(pf)
	}
	if mpf, ok := m.Stats["pgmajfault"]; ok {
		s.MajorPageFaults = ptr.To(mpf)
	}
	return s
}

// networkStats reports the sandbox's interfaces, eth0 as the default one.
func networkStats(at time.Time, nets map[string]container.NetworkStats) *statsv1alpha1.NetworkStats {
	if len(nets) == 0 {
		return nil
	}
	s := &statsv1alpha1.NetworkStats{Time: metav1.NewTime(at)}
	names := make([]string, 0, len(nets))
	for name := range nets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n := nets[name]
		is := statsv1alpha1.InterfaceStats{Name: name, RxBytes: ptr.To(n.RxBytes), RxErrors: ptr.To(n.RxErrors), TxBytes: ptr.To(n.TxBytes), TxErrors: ptr.To(n.TxErrors)}
		s.Interfaces = append(s.Interfaces, is)
		if name == "eth0" || s.InterfaceStats.Name == "" {
			s.InterfaceStats = is
		}
	}
	return s
}

func addCPU(sum, s *statsv1alpha1.CPUStats) *statsv1alpha1.CPUStats {
	if s == nil {
		return sum
	}
	if sum == nil {
		c := *s // the sums replace pointers, never write through them
		return &c
	}
	sum.UsageCoreNanoSeconds = addPtr(sum.UsageCoreNanoSeconds, s.UsageCoreNanoSeconds)
	sum.UsageNanoCores = addPtr(sum.UsageNanoCores, s.UsageNanoCores)
	if s.Time.After(sum.Time.Time) {
		sum.Time = s.Time
	}
	return sum
}

func addMemory(sum, s *statsv1alpha1.MemoryStats) *statsv1alpha1.MemoryStats {
	if s == nil {
		return sum
	}
	if sum == nil {
		c := *s // the sums replace pointers, never write through them
		return &c
	}
	sum.UsageBytes = addPtr(sum.UsageBytes, s.UsageBytes)
	sum.WorkingSetBytes = addPtr(sum.WorkingSetBytes, s.WorkingSetBytes)
	sum.RSSBytes = addPtr(sum.RSSBytes, s.RSSBytes)
	sum.PageFaults = addPtr(sum.PageFaults, s.PageFaults)
	sum.MajorPageFaults = addPtr(sum.MajorPageFaults, s.MajorPageFaults)
	if s.Time.After(sum.Time.Time) {
		sum.Time = s.Time
	}
	return sum
}

// addPtr adds optional counters; a sum is only known when both parts are
// (a rate missing for one container leaves the pod's rate unknown).
func addPtr(a, b *uint64) *uint64 {
	if a == nil || b == nil {
		return nil
	}
	return ptr.To(*a + *b)
}
