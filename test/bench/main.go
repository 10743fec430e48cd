// Command bench measures how long vk-docker takes to run and to delete pods,
// and compares it with doing the same container work directly against the
// Docker engine. It is a benchmark program, not a test: it prints numbers and
// fails (exit status 1) only when the work itself does not succeed or leaves
// something behind.
//
// It needs what `make bench` sets up (KUBECONFIG, VK_DOCKER_BIN,
// VK_DOCKER_VERSION, APISERVER_PORT; see test/e2e/framework.LoadEnv):
//
//	go run ./test/bench -pods 20 [-concurrency 20] [-timeout 2m]
//
// The last line of a successful run is machine-readable:
//
//	bench: pods=N running_p50_ms=.. running_p99_ms=.. docker_p50_ms=.. ratio=.. delete_p99_ms=.. stats_p50_ms=..
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
)

type options struct {
	pods        int
	concurrency int
	timeout     time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.pods, "pods", 20, "number of pods (and of Docker baseline container groups)")
	flag.IntVar(&o.concurrency, "concurrency", 0, "how many creates/deletes run at once (default: -pods, i.e. all at once)")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long each phase may take before the run fails")
	flag.Parse()
	if o.concurrency <= 0 {
		o.concurrency = o.pods
	}
	if o.pods <= 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: bench [-pods N] [-concurrency C] [-timeout D]")
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
	args := append(proxied, "--max-pods", strconv.Itoa(max(110, o.pods)))
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
	fmt.Printf("  pods=%d concurrency=%d, %s\n", o.pods, o.concurrency, engine)

	// 1. Pods: create -> Running and Ready, as seen by one watch.
	pods, err := runPods(ctx, env, ns, nodeName, o)
	if err != nil {
		return nil, fmt.Errorf("pod phase: %w (node log: %s)", err, node.LogPath)
	}

	// Stats: full /stats/summary passes while every pod runs.
	stats, err := measureStats(ctx, env, node, o.pods)
	if err != nil {
		return nil, fmt.Errorf("stats phase: %w (node log: %s)", err, node.LogPath)
	}

	// 2. Delete: delete call -> no container of the pod left on the engine.
	deleted, err := deletePods(ctx, env, ns, nodeName, pods, o)
	if err != nil {
		return nil, fmt.Errorf("delete phase: %w (node log: %s)", err, node.LogPath)
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
	base, err := runDocker(ctx, env, dockerNode, o)
	if err != nil {
		return nil, fmt.Errorf("docker baseline: %w", err)
	}

	return &results{opts: o, pods: pods, stats: stats, deleted: deleted, docker: base}, nil
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
