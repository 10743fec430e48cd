package provider

import (
	"context"

	dto "github.com/prometheus/client_model/go"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/ptr"
)

// GetMetricsResource serves the kubelet's /metrics/resource (what
// metrics-server scrapes) from the same summary as /stats/summary, with the
// kubelet's metric names and labels.
func (p *Provider) GetMetricsResource(ctx context.Context) ([]*dto.MetricFamily, error) {
	s, err := p.GetStatsSummary(ctx)
	if err != nil {
		return nil, err
	}
	return resourceMetrics(s), nil
}

func resourceMetrics(s *statsv1alpha1.Summary) []*dto.MetricFamily {
	counter, gauge := dto.MetricType_COUNTER, dto.MetricType_GAUGE
	family := func(name, help string, t dto.MetricType) *dto.MetricFamily {
		return &dto.MetricFamily{Name: &name, Help: &help, Type: &t}
	}
	nodeCPU := family("node_cpu_usage_seconds_total", "Cumulative cpu time consumed by the node in core-seconds", counter)
	nodeMem := family("node_memory_working_set_bytes", "Current working set of the node in bytes", gauge)
	podCPU := family("pod_cpu_usage_seconds_total", "Cumulative cpu time consumed by the pod in core-seconds", counter)
	podMem := family("pod_memory_working_set_bytes", "Current working set of the pod in bytes", gauge)
	ctCPU := family("container_cpu_usage_seconds_total", "Cumulative cpu time consumed by the container in core-seconds", counter)
	ctMem := family("container_memory_working_set_bytes", "Current working set of the container in bytes", gauge)
	ctStart := family("container_start_time_seconds", "Start time of the container since unix epoch in seconds", gauge)
	scrapeErr := family("scrape_error", "1 if there was an error while getting container metrics, 0 otherwise", gauge)
	scrapeErr.Metric = []*dto.Metric{{Gauge: &dto.Gauge{Value: ptr.To(0.0)}}}

	add := func(f *dto.MetricFamily, labels []*dto.LabelPair, v float64, ms int64) {
		m := &dto.Metric{Label: labels, TimestampMs: &ms}
		if f.GetType() == counter {
			m.Counter = &dto.Counter{Value: &v}
		} else {
			m.Gauge = &dto.Gauge{Value: &v}
		}
		f.Metric = append(f.Metric, m)
	}
	addCPUAndMemory := func(cpuF, memF *dto.MetricFamily, labels []*dto.LabelPair, cpu *statsv1alpha1.CPUStats, mem *statsv1alpha1.MemoryStats) {
		if cpu != nil && cpu.UsageCoreNanoSeconds != nil {
			add(cpuF, labels, float64(*cpu.UsageCoreNanoSeconds)/1e9, cpu.Time.UnixMilli())
		}
		if mem != nil && mem.WorkingSetBytes != nil {
			add(memF, labels, float64(*mem.WorkingSetBytes), mem.Time.UnixMilli())
		}
	}
	addCPUAndMemory(nodeCPU, nodeMem, nil, s.Node.CPU, s.Node.Memory)
	for _, ps := range s.Pods {
		podLabels := []*dto.LabelPair{label("namespace", ps.PodRef.Namespace), label("pod", ps.PodRef.Name)}
		addCPUAndMemory(podCPU, podMem, podLabels, ps.CPU, ps.Memory)
		for _, cs := range ps.Containers {
			labels := []*dto.LabelPair{label("container", cs.Name), label("namespace", ps.PodRef.Namespace), label("pod", ps.PodRef.Name)}
			addCPUAndMemory(ctCPU, ctMem, labels, cs.CPU, cs.Memory)
			start := cs.StartTime.Unix()
			add(ctStart, labels, float64(start), start*1000)
		}
	}
	return []*dto.MetricFamily{ctCPU, ctMem, ctStart, nodeCPU, nodeMem, podCPU, podMem, scrapeErr}
}

func label(name, value string) *dto.LabelPair { return &dto.LabelPair{Name: &name, Value: &value} }
