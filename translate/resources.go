package translate

import (
	"github.com/docker/docker/api/types/container"
	v1 "k8s.io/api/core/v1"
)

// The kubelet's CPU arithmetic (pkg/kubelet/cm): a CFS period of 100 ms, a
// quota never under 1 ms, and 1024 shares per CPU with a floor of 2.
const (
	cpuQuotaPeriod = 100000
	minCPUQuota    = 1000
	sharesPerCPU   = 1024
	minCPUShares   = 2
	maxCPUShares   = 262144
)

// milliCPUToQuota is the kubelet's MilliCPUToQuota for a 100 ms period.
func milliCPUToQuota(milli int64) int64 {
	if milli == 0 {
		return 0
	}
	return max(milli*cpuQuotaPeriod/1000, minCPUQuota)
}

// milliCPUToShares is the kubelet's MilliCPUToShares: a container without a
// CPU request gets the minimum, as a BestEffort one does under a kubelet.
func milliCPUToShares(milli int64) int64 {
	return min(max(milli*sharesPerCPU/1000, minCPUShares), maxCPUShares)
}

// applyResources sets a container's CPU and memory limits as the kubelet
// asks its runtime to: requests.cpu becomes CPU shares (the limit when no
// request is given), limits.cpu a CFS quota, limits.memory the memory limit
// with no swap beyond it, so a container above its limit is OOM-killed.
func applyResources(c *v1.Container, host *container.HostConfig) {
	req, lim := c.Resources.Requests, c.Resources.Limits
	cpuReq, hasReq := req[v1.ResourceCPU]
	cpuLim, hasLim := lim[v1.ResourceCPU]
	switch {
	case hasReq:
		host.CPUShares = milliCPUToShares(cpuReq.MilliValue())
	case hasLim:
		host.CPUShares = milliCPUToShares(cpuLim.MilliValue())
	default:
		host.CPUShares = minCPUShares
	}
	if hasLim && cpuLim.MilliValue() > 0 {
		host.CPUPeriod = cpuQuotaPeriod
		host.CPUQuota = milliCPUToQuota(cpuLim.MilliValue())
	}
	if mem, ok := lim[v1.ResourceMemory]; ok && mem.Value() > 0 {
		host.Memory = mem.Value()
		host.MemorySwap = mem.Value()
	}
}
