// Command bench measures how long vk-docker takes to run and to delete pods,
// and compares it with doing the same container work directly against the
// Docker engine, in the same run, at the engine's best concurrency (a
// sweep). It is a benchmark program, not a test: it prints numbers and fails
// (exit status 1) only when the work itself does not succeed or leaves
// something behind.
//
// It needs what `make bench` sets up (KUBECONFIG, VK_DOCKER_BIN,
// VK_DOCKER_VERSION, APISERVER_PORT; see test/e2e/framework.LoadEnv):
//
//	go run ./test/bench -pods 20 [-mode pods|probes|restart] [-docker-concurrency 2,4,8,all]
//
// Modes: pods (create -> Running, exit -> status alone and with every pod
// running, stats, delete; with -kubelet-node, create -> Running on a real
// kubelet's node too), probes (every pod has a 1 s readiness probe, tcp,
// http and exec in turn: the node's CPU, RSS and probe periods in steady
// state) and restart (the node SIGKILLed with every pod running and
// started again: time until every status is correct, restarts). Numbers
// come from API watches, the engine's events and the node's own /metrics.
// Each measure gets a "measure:" line with its ratio to the baseline and
// its goal (issue #18); a successful run ends with machine-readable lines,
// the second only with -kubelet-node:
//
//	bench: mode=.. pods=N running_p50_ms=.. running_p99_ms=.. docker_p50_ms=.. ratio=.. wall_ratio=.. exit1_p99_ms=.. exitn_p99_ms=.. delete_p99_ms=..
//	bench: kubelet pods=N running_p50_ms=.. running_p99_ms=.. wall_ms=..
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
)

type options struct {
	pods        int
	concurrency int
	timeout     time.Duration
	// mode is pods (the default), probes (every pod has a 1 s readiness
	// probe; steady-state cost) or restart (SIGKILL the node, time its
	// recovery).
	mode string
	// dockerConcurrency lists the baseline's concurrencies; the best wall
	// time is the baseline.
	dockerConcurrency []int
	// maxParallelStarts, when >= 0, is the node's --max-parallel-starts.
	maxParallelStarts int
	// window is how long the probes mode measures the steady state.
	window time.Duration
	// probeKinds are the probes mode's handlers, one per pod in turn;
	// execProbes is the node's --exec-probes.
	probeKinds []string
	execProbes string
	// exits is how many containers each exit phase kills, one at a time.
	exits int
	// profile, when set, is where a CPU profile of the node taken during
	// the pod phase (create -> Running) is written.
	profile string
	// kubeletNode, when set, names a node run by a real kubelet on this
	// machine: the pod phase runs there too, for the comparison.
	kubeletNode string
}

func main() {
	var o options
	flag.IntVar(&o.pods, "pods", 20, "number of pods (and of Docker baseline container groups)")
	flag.IntVar(&o.concurrency, "concurrency", 0, "how many creates/deletes run at once (default: -pods, i.e. all at once)")
	flag.DurationVar(&o.timeout, "timeout", 0, "how long each phase may take before the run fails (default 2m, or 1.5 s per pod when more)")
	flag.StringVar(&o.mode, "mode", "pods", "pods, probes (1 s readiness probes: steady-state CPU, RSS, probe periods) or restart (SIGKILL the node with the pods running)")
	dockerConc := flag.String("docker-concurrency", "2,4,8,all", "comma-separated concurrencies of the bare-engine baseline; its best wall time is the baseline")
	flag.IntVar(&o.maxParallelStarts, "max-parallel-starts", -1, "the node's --max-parallel-starts (default: the node's own default)")
	flag.IntVar(&o.exits, "exits", 10, "pods mode: containers killed, one at a time, to time exit -> status (alone and with every pod running)")
	flag.DurationVar(&o.window, "window", 30*time.Second, "probes mode: the steady-state window")
	kinds := flag.String("probe-kinds", "tcp,http,exec", "probes mode: the readiness probes' handlers, one per pod in turn")
	flag.StringVar(&o.execProbes, "exec-probes", "shell", "the node's --exec-probes: shell or exec")
	flag.StringVar(&o.profile, "profile", "", "write a CPU profile of the node during the pod phase to this file (go tool pprof)")
	flag.StringVar(&o.kubeletNode, "kubelet-node", "", "pods mode: a Ready node run by a real kubelet on this machine; the pod phase runs there too, after vk-docker's, and is compared")
	flag.Parse()
	o.probeKinds = strings.Split(*kinds, ",")
	if o.concurrency <= 0 {
		o.concurrency = o.pods
	}
	if o.timeout <= 0 {
		o.timeout = max(2*time.Minute, time.Duration(o.pods)*1500*time.Millisecond)
	}
	var err error
	if o.dockerConcurrency, err = parseConcurrencies(*dockerConc, o.pods); err != nil || o.pods <= 0 || flag.NArg() > 0 ||
		(o.mode != "pods" && o.mode != "probes" && o.mode != "restart") || !validProbeKinds(o.probeKinds) {
		fmt.Fprintln(os.Stderr, "usage: bench [-pods N] [-mode pods|probes|restart] [-concurrency C] [-docker-concurrency 2,4,all] [-max-parallel-starts N] [-timeout D] [-probe-kinds tcp,http,exec] [-exec-probes shell|exec]", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal cancels the run and lets it clean up; a second one
	// kills the program as usual.
	context.AfterFunc(ctx, stop)
	res, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: FAIL: %v\n", err)
		os.Exit(1)
	}
	// Printed only once everything is cleaned up, so that the summary line
	// is the last one of a run that fully succeeded.
	res.print(os.Stdout)
}

// validProbeKinds reports whether every kind is tcp, http or exec.
func validProbeKinds(kinds []string) bool {
	for _, k := range kinds {
		if k != "tcp" && k != "http" && k != "exec" {
			return false
		}
	}
	return len(kinds) > 0
}

// cleanupTimeout bounds every cleanup step; cleanups run on a fresh context
// so that an interrupted run still removes what it made.
const cleanupTimeout = 3 * time.Minute

func run(ctx context.Context, o options) (res *results, err error) {
	env, err := framework.LoadEnv(ctx)
	if err != nil {
		return nil, err
	}
	defer env.Docker.Close()

	engine := "unknown engine"
	if info, ierr := env.Docker.Info(ctx); ierr == nil {
		engine = fmt.Sprintf("Docker %s, %d CPUs, %s", info.ServerVersion, info.NCPU, info.OperatingSystem)
	}

	nodeName := "bench-" + framework.RandomSuffix()
	proxied, err := framework.ProxiedArgs(env) // for /stats/summary
	if err != nil {
		return nil, err
	}
	nodeStart := time.Now()
	// Room for every pod: the node's default capacity is the kubelet's 110.
	// Info logs: the node's debug logging would be part of what is measured.
	args := append(proxied, "--max-pods", strconv.Itoa(max(110, o.pods)), "--log-level", "info", "--exec-probes", o.execProbes)
	if o.maxParallelStarts >= 0 {
		args = append(args, "--max-parallel-starts", strconv.Itoa(o.maxParallelStarts))
	}
	node, err := framework.StartNode(ctx, env, framework.NodeOptions{Name: nodeName, Args: args})
	if err != nil {
		return nil, err
	}
	nodeReady := time.Since(nodeStart)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if cerr := node.Close(cctx); cerr != nil {
			res, err = nil, errors.Join(err, cerr)
		}
	}()

	ns, nsCleanup, err := framework.CreateNamespace(ctx, env, "bench")
	if err != nil {
		return nil, err
	}
	// Runs before node.Close (defers are LIFO), so the node can remove the
	// pods' containers before it stops.
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if cerr := nsCleanup(cctx); cerr != nil {
			res, err = nil, errors.Join(err, cerr)
		}
	}()

	fmt.Printf("vk-docker bench: node %s (Ready in %v, log %s), namespace %s\n", nodeName, nodeReady.Round(time.Millisecond), node.LogPath, ns)
	fmt.Printf("  mode=%s pods=%d concurrency=%d, %s, load average %s\n", o.mode, o.pods, o.concurrency, engine, loadAverage())
	res = &results{opts: o, loadBefore: loadAverage()}

	// 0. Exit -> status with no other pod on the node.
	if o.mode == "pods" {
		if res.exits1, err = measureExits(ctx, env, ns, nodeName, "exit1", o.exits); err != nil {
			return nil, fmt.Errorf("exit phase (1 pod): %w (node log: %s)", err, node.LogPath)
		}
	}

	// 1. Pods: create -> Running and Ready, as seen by one watch, and as
	// the node's /metrics saw them.
	before, err := scrapeMetrics(ctx, env, nodeName)
	if err != nil {
		return nil, err
	}
	profiled := make(chan error, 1)
	if o.profile != "" {
		go func() { profiled <- profileNode(ctx, env, nodeName, o.timeout/4, o.profile) }()
	}
	pods, err := runPods(ctx, env, ns, nodeName, o)
	if o.profile != "" {
		if perr := <-profiled; perr != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", perr)
		} else {
			fmt.Printf("  CPU profile of the node over the pod phase's first %v: go tool pprof -top %s\n", o.timeout/4, o.profile)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pod phase: %w (node log: %s)", err, node.LogPath)
	}
	res.pods = pods
	after, err := scrapeMetrics(ctx, env, nodeName)
	if err != nil {
		return nil, err
	}
	res.nodeMetrics = podMetrics(before, after)

	var stats *statsResults
	switch o.mode {
	case "pods":
		// Exit -> status with every pod running.
		if res.exitsN, err = measureExits(ctx, env, ns, nodeName, "exitn", o.exits); err != nil {
			return nil, fmt.Errorf("exit phase (%d pods running): %w (node log: %s)", o.pods, err, node.LogPath)
		}
		// Stats: full /stats/summary passes while every pod runs.
		stats, err = measureStats(ctx, env, node, o.pods)
		if err != nil {
			return nil, fmt.Errorf("stats phase: %w (node log: %s)", err, node.LogPath)
		}
	case "probes":
		if res.probes, err = measureProbes(ctx, env, node, o); err != nil {
			return nil, fmt.Errorf("probes phase: %w (node log: %s)", err, node.LogPath)
		}
	case "restart":
		if res.restart, err = measureRestart(ctx, env, ns, node, pods, o); err != nil {
			return nil, fmt.Errorf("restart phase: %w (node log: %s)", err, node.LogPath)
		}
	}
	res.stats = stats

	// 2. Delete: delete call -> no container of the pod left on the engine.
	deleted, err := deletePods(ctx, env, ns, nodeName, pods, o)
	if err != nil {
		return nil, fmt.Errorf("delete phase: %w (node log: %s)", err, node.LogPath)
	}

	// The same pods on a real kubelet's node.
	if o.kubeletNode != "" && o.mode == "pods" {
		if res.kubelet, err = runOnKubelet(ctx, env, o); err != nil {
			return nil, fmt.Errorf("kubelet pod phase on %s: %w", o.kubeletNode, err)
		}
	}

	// 3. Baseline: the same container work straight against the engine.
	dockerNode := "bench-docker-" + framework.RandomSuffix()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		left, cerr := removeAll(cctx, env.Docker, dockerNode)
		if len(left) > 0 {
			cerr = errors.Join(cerr, fmt.Errorf("%w (removed now)", leftoverError(dockerNode, left)))
		}
		if cerr != nil {
			res, err = nil, errors.Join(err, cerr)
		}
	}()
	for _, c := range o.dockerConcurrency {
		oc := o
		oc.concurrency = c
		base, err := runDocker(ctx, env, dockerNode, oc)
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			// Too much at once for the engine: a point of the sweep, not a
			// failure of the run. What it made goes before the next point.
			res.sweep = append(res.sweep, &dockerResults{concurrency: c, unfinished: err})
			cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			_, err = removeAll(cctx, env.Docker, dockerNode)
			cancel()
		}
		if err != nil {
			return nil, fmt.Errorf("docker baseline at concurrency %d: %w", c, err)
		}
		if base == nil {
			continue
		}
		base.concurrency = c
		res.sweep = append(res.sweep, base)
		if res.docker == nil || base.wall < res.docker.wall {
			res.docker = base
		}
	}
	if res.docker == nil {
		return nil, fmt.Errorf("the docker baseline finished at none of the concurrencies %v within %v", o.dockerConcurrency, o.timeout)
	}
	res.deleted = deleted
	res.loadAfter = loadAverage()
	return res, nil
}

// parseConcurrencies reads "2,4,all" ("all" is pods).
func parseConcurrencies(s string, pods int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "all" {
			out = append(out, pods)
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad concurrency %q", f)
		}
		out = append(out, min(n, pods))
	}
	return slices.Compact(out), nil
}

// loadAverage is the machine's 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func leftoverError(owner string, left []string) error {
	if len(left) == 0 {
		return nil
	}
	return fmt.Errorf("%s left %d containers on the engine: %v", owner, len(left), left)
}

// joinErrors joins the non-nil errors, the first few in full: concurrent
// calls tend to fail all alike.
func joinErrors(errs []error) error {
	const shown = 3
	var out []error
	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		if n++; n <= shown {
			out = append(out, err)
		}
	}
	if n > shown {
		out = append(out, fmt.Errorf("... and %d more errors", n-shown))
	}
	return errors.Join(out...)
}
