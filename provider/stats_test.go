package provider

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/ptr"
)

func TestCPUStatsRateNeedsAnEarlierSample(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		prev      cpuSample
		total     uint64
		wantCores *uint64
	}{
		{name: "first sample: cumulative only", total: 5e9},
		{name: "half a core over 2s", prev: cpuSample{at: t0.Add(-2 * time.Second), total: 4e9}, total: 5e9, wantCores: ptr.To(uint64(5e8))},
		{name: "counter went back (new container): no rate", prev: cpuSample{at: t0.Add(-time.Second), total: 9e9}, total: 5e9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := cpuStats(t0, tc.total, tc.prev)
			if *s.UsageCoreNanoSeconds != tc.total {
				t.Errorf("usageCoreNanoSeconds = %d, want %d", *s.UsageCoreNanoSeconds, tc.total)
			}
			if (s.UsageNanoCores == nil) != (tc.wantCores == nil) || (s.UsageNanoCores != nil && *s.UsageNanoCores != *tc.wantCores) {
				t.Errorf("usageNanoCores = %v, want %v", ptr.Deref(s.UsageNanoCores, 0), ptr.Deref(tc.wantCores, 0))
			}
		})
	}
}

func TestMemoryWorkingSetExcludesInactiveFileCache(t *testing.T) {
	cases := []struct {
		name       string
		m          container.MemoryStats
		wantWS     uint64
		wantRSS    uint64
		wantFaults *uint64
	}{
		{name: "cgroup v2", m: container.MemoryStats{Usage: 100, Stats: map[string]uint64{"inactive_file": 30, "anon": 50, "pgfault": 7}}, wantWS: 70, wantRSS: 50, wantFaults: ptr.To(uint64(7))},
		{name: "cgroup v1", m: container.MemoryStats{Usage: 100, Stats: map[string]uint64{"total_inactive_file": 40, "rss": 20}}, wantWS: 60, wantRSS: 20},
		{name: "more cache than usage", m: container.MemoryStats{Usage: 10, Stats: map[string]uint64{"inactive_file": 30}}, wantWS: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := memoryStats(time.Now(), tc.m)
			if *s.UsageBytes != tc.m.Usage || *s.WorkingSetBytes != tc.wantWS || *s.RSSBytes != tc.wantRSS {
				t.Errorf("usage/workingSet/rss = %d/%d/%d, want %d/%d/%d", *s.UsageBytes, *s.WorkingSetBytes, *s.RSSBytes, tc.m.Usage, tc.wantWS, tc.wantRSS)
			}
			if !ptrEqual(s.PageFaults, tc.wantFaults) {
				t.Errorf("pageFaults = %v, want %v", s.PageFaults, tc.wantFaults)
			}
		})
	}
}

func ptrEqual(a, b *uint64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

func TestNetworkStatsDefaultInterfaceIsEth0(t *testing.T) {
	s := networkStats(time.Now(), map[string]container.NetworkStats{
		"eth0": {RxBytes: 10, TxBytes: 20},
		"aaa1": {RxBytes: 1, TxBytes: 2},
	})
	if s.Name != "eth0" || *s.RxBytes != 10 || *s.TxBytes != 20 || len(s.Interfaces) != 2 {
		t.Errorf("network = %+v, want eth0 as default with both interfaces listed", s)
	}
	if networkStats(time.Now(), nil) != nil {
		t.Error("a sandbox without networks has no network stats")
	}
}

func TestSumsAreUnknownWhenAPartIs(t *testing.T) {
	a := &statsv1alpha1.CPUStats{UsageCoreNanoSeconds: ptr.To(uint64(3)), UsageNanoCores: ptr.To(uint64(1))}
	b := &statsv1alpha1.CPUStats{UsageCoreNanoSeconds: ptr.To(uint64(4))}
	sum := addCPU(addCPU(nil, a), b)
	if *sum.UsageCoreNanoSeconds != 7 || sum.UsageNanoCores != nil {
		t.Errorf("sum = %d cores %v, want 7 and an unknown rate", *sum.UsageCoreNanoSeconds, sum.UsageNanoCores)
	}
	if *a.UsageCoreNanoSeconds != 3 {
		t.Error("summing modified its first part")
	}
}

func TestResourceMetricsUseTheKubeletNames(t *testing.T) {
	at := metav1.NewTime(time.Unix(1000, 0))
	s := &statsv1alpha1.Summary{
		Node: statsv1alpha1.NodeStats{CPU: &statsv1alpha1.CPUStats{Time: at, UsageCoreNanoSeconds: ptr.To(uint64(2e9))}, Memory: &statsv1alpha1.MemoryStats{Time: at, WorkingSetBytes: ptr.To(uint64(300))}},
		Pods: []statsv1alpha1.PodStats{{
			PodRef: statsv1alpha1.PodReference{Namespace: "shop", Name: "web"},
			CPU:    &statsv1alpha1.CPUStats{Time: at, UsageCoreNanoSeconds: ptr.To(uint64(1e9))},
			Memory: &statsv1alpha1.MemoryStats{Time: at, WorkingSetBytes: ptr.To(uint64(200))},
			Containers: []statsv1alpha1.ContainerStats{{
				Name: "app", StartTime: metav1.NewTime(time.Unix(900, 0)),
				CPU:    &statsv1alpha1.CPUStats{Time: at, UsageCoreNanoSeconds: ptr.To(uint64(5e8))},
				Memory: &statsv1alpha1.MemoryStats{Time: at, WorkingSetBytes: ptr.To(uint64(100))},
			}},
		}},
	}
	got := map[string]float64{}
	for _, f := range resourceMetrics(s) {
		for _, m := range f.Metric {
			key := f.GetName()
			for _, l := range m.Label {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"node_cpu_usage_seconds_total":                                            2,
		"node_memory_working_set_bytes":                                           300,
		"pod_cpu_usage_seconds_total,namespace=shop,pod=web":                      1,
		"pod_memory_working_set_bytes,namespace=shop,pod=web":                     200,
		"container_cpu_usage_seconds_total,container=app,namespace=shop,pod=web":  0.5,
		"container_memory_working_set_bytes,container=app,namespace=shop,pod=web": 100,
		"container_start_time_seconds,container=app,namespace=shop,pod=web":       900,
		"scrape_error": 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("metrics = %v, want exactly %v", got, want)
	}
}

// The node's CPU counter never goes down (metrics-server, like Prometheus,
// takes a lower value for a reset and shows no usage): the CPU time of a
// container that is gone, or that gave no sample this time, still counts.
func TestNodeCPUTimeOnlyGrows(t *testing.T) {
	p := &Provider{}
	pods := map[string]*v1.Pod{
		"uid-a": {ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", UID: "uid-a"}},
		"uid-b": {ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns", UID: "uid-b"}},
	}
	ct := func(id, uid string) container.Summary {
		return container.Summary{ID: id, Labels: map[string]string{dockerhost.LabelPodUID: uid, dockerhost.LabelContainerName: "app"}}
	}
	sample := func(total uint64) *container.StatsResponse {
		return &container.StatsResponse{CPUStats: container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: total}}}
	}
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := ct("a", "uid-a"), ct("b", "uid-b")
	passes := []struct {
		name    string
		running []container.Summary
		samples []*container.StatsResponse
		want    uint64
	}{
		{"a and b run", []container.Summary{a, b}, []*container.StatsResponse{sample(2e9), sample(3e9)}, 5e9},
		{"b is gone", []container.Summary{a}, []*container.StatsResponse{sample(4e9)}, 7e9},
		{"a gave no sample", []container.Summary{a}, []*container.StatsResponse{nil}, 7e9},
		{"a again", []container.Summary{a}, []*container.StatsResponse{sample(5e9)}, 8e9},
	}
	for i, pass := range passes {
		s := p.summarize(t0.Add(time.Duration(i)*10*time.Second), pods, pass.running, pass.samples)
		if got := *s.Node.CPU.UsageCoreNanoSeconds; got != pass.want {
			t.Errorf("%s: node CPU time = %d ns, want %d", pass.name, got, pass.want)
		}
	}
}
