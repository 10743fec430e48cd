package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// results is everything a successful run measured.
type results struct {
	opts    options
	pods    *podResults
	stats   *statsResults // pods mode
	deleted *deleteResults
	docker  *dockerResults   // the baseline: the sweep's best wall time
	sweep   []*dockerResults // every baseline concurrency tried

	exits1, exitsN []time.Duration // exit -> status (watch), alone and with every pod running
	nodeMetrics    *nodeMetrics    // the node's /metrics over the pod phase
	probes         *probeResults   // probes mode
	kubelet        *podResults     // the pod phase on -kubelet-node
	restart        *restartResults // restart mode

	loadBefore, loadAfter string
}

// nodeMetrics is what the node's /metrics said about the pod phase.
type nodeMetrics struct {
	startP50, startP99 float64 // vk_docker_pod_start_duration_seconds, s
	started            uint64
	queueWaitP99       float64 // vk_docker_start_queue_wait_seconds
	exitToStatusP99    float64 // vk_docker_container_exit_to_status_seconds, whole run so far
	engine             string
}

func podMetrics(before, after scrape) *nodeMetrics {
	start := after.hist("vk_docker_pod_start_duration_seconds", nil).minus(before.hist("vk_docker_pod_start_duration_seconds", nil))
	wait := after.hist("vk_docker_start_queue_wait_seconds", nil).minus(before.hist("vk_docker_start_queue_wait_seconds", nil))
	return &nodeMetrics{
		startP50: start.quantile(.5), startP99: start.quantile(.99), started: start.count,
		queueWaitP99:    wait.quantile(.99),
		exitToStatusP99: after.hist("vk_docker_container_exit_to_status_seconds", nil).quantile(.99),
		engine:          engineSummary(before, after),
	}
}

// percentile is the nearest-rank percentile of samples: the smallest sample
// such that at least p percent of the samples are less than or equal to it.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = max(1, min(rank, len(s)))
	return s[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// msInt is d in whole milliseconds, rounded.
func msInt(d time.Duration) int64 { return int64(math.Round(ms(d))) }

// print writes the table, one line per measure (with its ratio to the
// baseline where it has one) and, last, the one-line summary.
func (r *results) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measurement\tn\tp50 ms\tp99 ms\tmin ms\tmax ms\t")
	row := func(name string, s []time.Duration) {
		if len(s) == 0 {
			return
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", name, len(s),
			ms(percentile(s, 50)), ms(percentile(s, 99)), ms(slices.Min(s)), ms(slices.Max(s)))
	}
	row("pod create -> scheduled (watch)", r.pods.scheduled)
	row("pod create -> Running+Ready (watch)", r.pods.running)
	row("exit -> status, 1 pod (die event -> watch)", r.exits1)
	row(fmt.Sprintf("exit -> status, %d running", r.opts.pods), r.exitsN)
	if r.stats != nil {
		row("stats/summary full pass (API proxy)", r.stats.fetch)
		row("  node CPU time per pass", r.stats.cpu)
	}
	if r.kubelet != nil {
		row("kubelet: pod create -> Running+Ready", r.kubelet.running)
	}
	row("pod delete -> no container on engine", r.deleted.gone)
	row(fmt.Sprintf("docker sandbox+app started (c=%d)", r.docker.concurrency), r.docker.started)
	row("docker burst start -> app started", r.docker.fromBurst)
	for _, s := range dockerSteps {
		row("  docker "+s, r.docker.steps[s])
	}
	row("docker force-remove app+sandbox", r.docker.removed)
	tw.Flush()
	for _, d := range r.sweep {
		if d.unfinished != nil {
			fmt.Fprintf(w, "docker baseline concurrency %d: not done within %v (%v)\n", d.concurrency, r.opts.timeout, d.unfinished)
			continue
		}
		fmt.Fprintf(w, "docker baseline concurrency %d: wall %.0f ms, burst->started p50 %.0f p99 %.0f ms\n",
			d.concurrency, ms(d.wall), ms(percentile(d.fromBurst, 50)), ms(percentile(d.fromBurst, 99)))
	}
	if m := r.nodeMetrics; m != nil {
		fmt.Fprintf(w, "node /metrics: pod start p50 <= %.0f ms p99 <= %.0f ms (%d pods), start queue wait p99 <= %.0f ms, exit->status p99 <= %.0f ms\n",
			m.startP50*1000, m.startP99*1000, m.started, m.queueWaitP99*1000, m.exitToStatusP99*1000)
		fmt.Fprintf(w, "node /metrics engine calls p50/p99 (n): %s\n", m.engine)
	}
	fmt.Fprintf(w, "load average: %s before, %s after\n", r.loadBefore, r.loadAfter)

	// One line per measure: value, baseline, ratio, goal (issue #18).
	measure := func(name string, v, base float64, unit, goal string) {
		ratio := "-"
		if base > 0 && !math.IsNaN(v) {
			ratio = fmt.Sprintf("%.2f", v/base)
		}
		b := "-"
		if base > 0 {
			b = fmt.Sprintf("%.0f %s", base, unit)
		}
		fmt.Fprintf(w, "measure: %-34s %8.0f %s  baseline %-10s ratio %-5s goal %s\n", name, v, unit, b, ratio, goal)
	}
	n := r.opts.pods
	dockerP50, dockerP99 := ms(percentile(r.docker.fromBurst, 50)), ms(percentile(r.docker.fromBurst, 99))
	measure(fmt.Sprintf("pods=%d create->Running p50", n), ms(percentile(r.pods.running, 50)), dockerP50, "ms", kubeletGoal(n, 50))
	measure(fmt.Sprintf("pods=%d create->Running p99", n), ms(percentile(r.pods.running, 99)), dockerP99, "ms", kubeletGoal(n, 99)+"; <= 1.5x baseline")
	measure(fmt.Sprintf("pods=%d all Running wall", n), ms(r.pods.wall), ms(r.docker.wall), "ms", "<= 1.2x baseline")
	if k := r.kubelet; k != nil {
		goal := "<= 0.8x kubelet"
		if n == 1 {
			goal = "<= 0.6x kubelet"
		}
		kp50, kp99 := ms(percentile(k.running, 50)), ms(percentile(k.running, 99))
		fmt.Fprintf(w, "kubelet node %s: create->Running p50 %.0f p99 %.0f ms, wall %.0f ms (the baseline of the next three lines)\n", r.opts.kubeletNode, kp50, kp99, ms(k.wall))
		measure(fmt.Sprintf("pods=%d vs kubelet p50", n), ms(percentile(r.pods.running, 50)), kp50, "ms", goal)
		measure(fmt.Sprintf("pods=%d vs kubelet p99", n), ms(percentile(r.pods.running, 99)), kp99, "ms", goal)
		measure(fmt.Sprintf("pods=%d vs kubelet wall", n), ms(r.pods.wall), ms(k.wall), "ms", "-")
	}
	if len(r.exits1) > 0 {
		measure("exit->status p99, 1 pod", ms(percentile(r.exits1, 99)), 0, "ms", "<= 300 ms")
	}
	if len(r.exitsN) > 0 {
		measure(fmt.Sprintf("exit->status p99, %d running", n), ms(percentile(r.exitsN, 99)), 0, "ms", "<= 1000 ms")
	}
	if p := r.probes; p != nil {
		measure("probes: node CPU, % of a core", p.cpu*100, 0, "%", "<= 15 %")
		measure("probes: node RSS", p.rssMB, 0, "MB", "<= 150 MB")
		measure("probes: interval/period p99 (%)", (p.stretchP99-1)*100, 0, "%", "<= 10 % stretch")
		for _, k := range r.opts.probeKinds {
			measure("probes: "+k+" attempt mean", p.meanMS[k], 0, "ms", fmt.Sprintf("(%d attempts, p99 <= %.0f ms)", p.attempts[k], p.p99MS[k]))
		}
		measure("probes: dockerd CPU (shared), %", p.dockerdCPU*100, 0, "%", "(exec probes' engine cost, upper bound)")
	}
	if rs := r.restart; rs != nil {
		measure("restart: node Ready again", ms(rs.ready), 0, "ms", "-")
		measure("restart: all statuses correct", ms(rs.correct), 0, "ms", "<= 5000 ms")
		measure("restart: container restarts", float64(rs.restarts+rs.replaced), 0, "", "0")
	}

	runP50 := percentile(r.pods.running, 50)
	ratio := math.NaN()
	if dockerP50 > 0 {
		ratio = ms(runP50) / dockerP50
	}
	fmt.Fprintf(w, "bench: mode=%s pods=%d running_p50_ms=%d running_p99_ms=%d docker_p50_ms=%.0f ratio=%.2f wall_ratio=%.2f exit1_p99_ms=%d exitn_p99_ms=%d delete_p99_ms=%d\n",
		r.opts.mode, n, msInt(runP50), msInt(percentile(r.pods.running, 99)), dockerP50, ratio, ms(r.pods.wall)/ms(r.docker.wall),
		msInt(percentile(r.exits1, 99)), msInt(percentile(r.exitsN, 99)), msInt(percentile(r.deleted.gone, 99)))
	if k := r.kubelet; k != nil {
		fmt.Fprintf(w, "bench: kubelet pods=%d running_p50_ms=%d running_p99_ms=%d wall_ms=%d\n", n,
			msInt(percentile(k.running, 50)), msInt(percentile(k.running, 99)), msInt(k.wall))
	}
}

// kubeletGoal is issue #18's goal for n pods against the kubelet v1.37.2 +
// cri-dockerd figures measured on this machine (1 pod p50/p99 649/718 ms,
// 20 pods 4558/4779 ms): 0.6x for one pod, 0.8x for more.
func kubeletGoal(n, p int) string {
	switch {
	case n == 1 && p == 50:
		return "<= 389 ms (0.6x kubelet 649)"
	case n == 1:
		return "<= 431 ms (0.6x kubelet 718)"
	case n == 20 && p == 50:
		return "<= 3646 ms (0.8x kubelet 4558)"
	case n == 20:
		return "<= 3823 ms (0.8x kubelet 4779)"
	}
	return "0.8x kubelet"
}
