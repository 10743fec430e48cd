package lifecycle

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// A container's requests and limits reach the engine as the kubelet's
// runtime would set them: shares from the CPU request, a CFS quota over a
// 100 ms period from the CPU limit, and a memory limit without extra swap.
func TestResourcesBecomeEngineLimits(t *testing.T) {
	q := resource.MustParse
	cases := []struct {
		name                   string
		requests, limits       v1.ResourceList
		shares, period, quota  int64
		memory, memoryWithSwap int64
	}{
		{name: "best effort gets the minimum shares and no limits", shares: 2},
		{name: "the seed's 200m/100Mi", requests: v1.ResourceList{v1.ResourceCPU: q("200m"), v1.ResourceMemory: q("100Mi")},
			limits: v1.ResourceList{v1.ResourceCPU: q("200m"), v1.ResourceMemory: q("100Mi")},
			shares: 204, period: 100000, quota: 20000, memory: 100 << 20, memoryWithSwap: 100 << 20},
		{name: "a limit alone also sets the shares", limits: v1.ResourceList{v1.ResourceCPU: q("2")},
			shares: 2048, period: 100000, quota: 200000},
		{name: "a request alone sets no quota", requests: v1.ResourceList{v1.ResourceCPU: q("500m")}, shares: 512},
		{name: "tiny CPU values hit the kubelet's floors", requests: v1.ResourceList{v1.ResourceCPU: q("1m")},
			limits: v1.ResourceList{v1.ResourceCPU: q("1m")}, shares: 2, period: 100000, quota: 1000},
		{name: "memory limit only", limits: v1.ResourceList{v1.ResourceMemory: q("50Mi")},
			shares: 2, memory: 50 << 20, memoryWithSwap: 50 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			app := appContainer()
			app.Resources = v1.ResourceRequirements{Requests: c.requests, Limits: c.limits}
			pod := newPod(app)
			h.running(pod)
			got := h.inspect(dockerName(pod, "app", 0)).HostConfig
			if got.CPUShares != c.shares || got.CPUPeriod != c.period || got.CPUQuota != c.quota ||
				got.Memory != c.memory || got.MemorySwap != c.memoryWithSwap {
				t.Errorf("shares, period, quota, memory, memory+swap = %d %d %d %d %d, want %d %d %d %d %d",
					got.CPUShares, got.CPUPeriod, got.CPUQuota, got.Memory, got.MemorySwap,
					c.shares, c.period, c.quota, c.memory, c.memoryWithSwap)
			}
		})
	}
}
