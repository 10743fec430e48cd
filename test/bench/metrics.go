package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
)

// scrape is one read of the node's /metrics, through the API server's node
// proxy (so with the node's authentication and nodes/metrics authorization).
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(ctx context.Context, env *framework.Env, node string) (scrape, error) {
	raw, err := env.Client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/" + node + "/proxy/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("get /metrics of %s: %w", node, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse /metrics of %s: %w", node, err)
	}
	return fams, nil
}

// histogram is a histogram's cumulative buckets (upper bound → count).
type histogram struct {
	count   uint64
	sum     float64
	buckets []bucket
}

type bucket struct {
	le    float64
	count uint64
}

// hist sums the histograms of family name whose labels include want.
func (s scrape) hist(name string, want map[string]string) histogram {
	var h histogram
	f := s[name]
	if f == nil {
		return h
	}
	byLE := map[float64]uint64{}
	for _, m := range f.Metric {
		if !labelsMatch(m, want) || m.Histogram == nil {
			continue
		}
		h.count += m.Histogram.GetSampleCount()
		h.sum += m.Histogram.GetSampleSum()
		for _, b := range m.Histogram.Bucket {
			byLE[b.GetUpperBound()] += b.GetCumulativeCount()
		}
	}
	for le, c := range byLE {
		h.buckets = append(h.buckets, bucket{le, c})
	}
	sort.Slice(h.buckets, func(i, j int) bool { return h.buckets[i].le < h.buckets[j].le })
	return h
}

// minus is h's samples since earlier.
func (h histogram) minus(earlier histogram) histogram {
	out := histogram{count: h.count - earlier.count, sum: h.sum - earlier.sum}
	prev := map[float64]uint64{}
	for _, b := range earlier.buckets {
		prev[b.le] = b.count
	}
	for _, b := range h.buckets {
		out.buckets = append(out.buckets, bucket{b.le, b.count - prev[b.le]})
	}
	return out
}

// quantile is the upper bound of the bucket holding quantile q (0..1): an
// upper estimate, as precise as the buckets; NaN without samples.
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	for _, b := range h.buckets {
		if b.count >= rank {
			return b.le
		}
	}
	return math.Inf(1)
}

func (h histogram) mean() float64 {
	if h.count == 0 {
		return math.NaN()
	}
	return h.sum / float64(h.count)
}

// gauge is the value of the first sample of a gauge or counter family.
func (s scrape) gauge(name string) float64 {
	f := s[name]
	if f == nil || len(f.Metric) == 0 {
		return math.NaN()
	}
	m := f.Metric[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return math.NaN()
}

// labelValues lists the values label takes in family name.
func (s scrape) labelValues(name, label string) []string {
	seen := map[string]bool{}
	if f := s[name]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == label {
					seen[l.GetValue()] = true
				}
			}
		}
	}
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.Label {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// engineSummary is "op p50/p99 ms (n)" for every engine operation seen
// between two scrapes.
func engineSummary(before, after scrape) string {
	const name = "vk_docker_engine_operation_duration_seconds"
	var parts []string
	for _, op := range after.labelValues(name, "operation") {
		want := map[string]string{"operation": op}
		h := after.hist(name, want).minus(before.hist(name, want))
		if h.count == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.0f/%.0f ms (%d)", op, h.quantile(.5)*1000, h.quantile(.99)*1000, h.count))
	}
	return strings.Join(parts, ", ")
}
