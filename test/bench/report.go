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
	stats   *statsResults
	deleted *deleteResults
	docker  *dockerResults
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

// print writes the table and, last, the one-line summary.
func (r *results) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measurement\tn\tp50 ms\tp99 ms\tmin ms\tmax ms\t")
	row := func(name string, s []time.Duration) {
		if len(s) == 0 {
			fmt.Fprintf(tw, "%s\t0\t-\t-\t-\t-\t\n", name)
			return
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", name, len(s),
			ms(percentile(s, 50)), ms(percentile(s, 99)), ms(slices.Min(s)), ms(slices.Max(s)))
	}
	row("pod create -> scheduled (watch)", r.pods.scheduled)
	row("pod create -> Running+Ready (watch)", r.pods.running)
	row("stats/summary full pass (API proxy)", r.stats.fetch)
	row("  node CPU time per pass", r.stats.cpu)
	row("pod delete -> no container on engine", r.deleted.gone)
	row("docker sandbox+app started", r.docker.started)
	for _, s := range dockerSteps {
		row("  docker "+s, r.docker.steps[s])
	}
	row("docker force-remove app+sandbox", r.docker.removed)
	tw.Flush()
	fmt.Fprintf(w, "wall: all pods Running %.0f ms, all pods gone %.0f ms, docker all started %.0f ms (delete phase: %d engine polls, p50 %.1f ms each)\n",
		ms(r.pods.wall), ms(r.deleted.wall), ms(r.docker.wall), r.deleted.polls, ms(r.deleted.pollP50))

	runP50 := percentile(r.pods.running, 50)
	dockerP50 := percentile(r.docker.started, 50)
	ratio := math.NaN()
	if dockerP50 > 0 {
		ratio = float64(runP50) / float64(dockerP50)
	}
	fmt.Fprintf(w, "bench: pods=%d running_p50_ms=%d running_p99_ms=%d docker_p50_ms=%d ratio=%.2f delete_p99_ms=%d stats_p50_ms=%d\n",
		r.opts.pods, msInt(runP50), msInt(percentile(r.pods.running, 99)),
		msInt(dockerP50), ratio, msInt(percentile(r.deleted.gone, 99)), msInt(percentile(r.stats.fetch, 50)))
}
