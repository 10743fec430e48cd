package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probePodSpec is a pod with a 1 s readiness probe, of the handler
// kinds[index % len(kinds)]. The tcp and http probes hit a Go HTTP server (the grpc-health test
// image, :8080), whose cost per connection is a goroutine: busybox httpd
// forks one process per connection, and 333 of those a second were most of
// this 2-core machine's CPU, the pods' workload and not the node's. The exec
// probes run `true` in a busybox container.
func probePodSpec(env *framework.Env, ns, name, node string, index int, kinds []string) *v1.Pod {
	pod := benchPodSpec(env, ns, name, node)
	c := &pod.Spec.Containers[0]
	var h v1.ProbeHandler
	switch kinds[index%len(kinds)] {
	case "tcp":
		h.TCPSocket = &v1.TCPSocketAction{Port: intstr.FromInt32(8080)}
	case "http":
		h.HTTPGet = &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}
	case "exec":
		h.Exec = &v1.ExecAction{Command: []string{"true"}}
	}
	if h.Exec == nil {
		c.Name, c.Image, c.Command = "web", "vk-docker/grpc-health:"+env.Version, nil
		c.Ports = []v1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	}
	c.ReadinessProbe = &v1.Probe{ProbeHandler: h, PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}
	return pod
}

// probeResults is the steady state of a node whose pods all probe every
// second.
type probeResults struct {
	window time.Duration
	// cpu is the node process's CPU time over the window, as a fraction of
	// one core; rssMB its resident memory at the end.
	cpu   float64
	rssMB float64
	// dockerdCPU is the engine's over the window (shared by every user of
	// the engine: an upper bound of the exec probes' engine cost).
	dockerdCPU float64
	// stretch p50/p99 of the interval between attempts over the period, by
	// handler kind of the readiness probes (all 1 s).
	stretchP50, stretchP99 float64
	// attempts per handler, and their mean duration, over the window.
	attempts map[string]uint64
	meanMS   map[string]float64
	p99MS    map[string]float64
}

// measureProbes lets the probes run for a warm-up and then o.window, and
// reads the node's CPU, RSS and probe metrics over the window.
func measureProbes(ctx context.Context, env *framework.Env, node *framework.Node, o options) (*probeResults, error) {
	// Let the starts' aftermath settle (every readiness probe started).
	select {
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	dockerd := pidOf("dockerd")
	before, err := scrapeMetrics(ctx, env, node.Name)
	if err != nil {
		return nil, err
	}
	cpu0, err := processCPU(node.Pid())
	if err != nil {
		return nil, err
	}
	var d0 time.Duration
	if dockerd > 0 {
		d0, _ = processCPU(dockerd)
	}
	t0 := time.Now()
	select {
	case <-time.After(o.window):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	cpu1, err := processCPU(node.Pid())
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(t0)
	var d1 time.Duration
	if dockerd > 0 {
		d1, _ = processCPU(dockerd)
	}
	after, err := scrapeMetrics(ctx, env, node.Name)
	if err != nil {
		return nil, err
	}
	rss, err := processRSS(node.Pid())
	if err != nil {
		return nil, err
	}
	res := &probeResults{
		window: elapsed, cpu: float64(cpu1-cpu0) / float64(elapsed), rssMB: rss,
		dockerdCPU: float64(d1-d0) / float64(elapsed),
		attempts:   map[string]uint64{}, meanMS: map[string]float64{}, p99MS: map[string]float64{},
	}
	const ratio = "vk_docker_probe_interval_ratio"
	want := map[string]string{"probe_type": "Readiness"}
	h := after.hist(ratio, want).minus(before.hist(ratio, want))
	res.stretchP50, res.stretchP99 = h.quantile(.5), h.quantile(.99)
	for _, kind := range o.probeKinds {
		want := map[string]string{"probe_type": "Readiness", "handler": kind}
		const dur = "vk_docker_probe_duration_seconds"
		h := after.hist(dur, want).minus(before.hist(dur, want))
		res.attempts[kind] = h.count
		res.meanMS[kind] = h.mean() * 1000
		res.p99MS[kind] = h.quantile(.99) * 1000
	}
	return res, nil
}

// processRSS is pid's resident memory in MB (VmRSS).
func processRSS(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("node process RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return 0, fmt.Errorf("node process RSS: %w", err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("node process RSS: no VmRSS in /proc/%d/status", pid)
}

// pidOf is the pid of the oldest process named name, 0 if none is visible.
func pidOf(name string) int {
	out, err := exec.Command("pgrep", "-o", "-x", name).Output()
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(string(bytes.TrimSpace(out)))
	return pid
}
