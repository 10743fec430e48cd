//go:build soak

package faults

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Soak: SOAK_CYCLES (1000) create → Running → delete → gone cycles of the
// churn pod (two containers, two emptyDirs), SOAK_PARALLEL (4) at a time.
// Afterwards the node has no container, volume, network or file left, and
// the provider's own goroutines and open file descriptors (its /metrics) are
// back to what they were after a warm-up with no pods.
func TestSoak(t *testing.T) {
	cycles, parallel := envInt(t, "SOAK_CYCLES", 1000), envInt(t, "SOAK_PARALLEL", 4)
	const warmup = 8
	fig := summary(t, "soak")
	ctx := context.Background()
	start := time.Now()
	node := startNode(t, framework.NodeOptions{Name: "faults-soak-" + framework.RandomSuffix()})
	ns := namespace(t, "faults-soak")

	var failures atomic.Int32
	var slowest atomic.Int64
	cycle := func(name string) {
		t0 := time.Now()
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, churnPod(node.Name, name), metav1.CreateOptions{}); err != nil {
			t.Errorf("create %s: %v", name, err)
			failures.Add(1)
			return
		}
		if _, err := framework.WaitForPod(ctx, env, ns, name, 2*time.Minute, "Running", framework.Running); err != nil {
			t.Error(err)
			failures.Add(1)
		}
		if err := env.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete %s: %v", name, err)
			failures.Add(1)
			return
		}
		if err := framework.WaitForPodGone(ctx, env, ns, name, time.Minute); err != nil {
			t.Error(err)
			failures.Add(1)
		}
		if d := int64(time.Since(t0)); d > slowest.Load() {
			slowest.Store(d)
		}
	}
	for i := range warmup {
		cycle(fmt.Sprintf("warmup-%d", i))
	}
	if left := waitNoLeftovers(ctx, t, node, "", time.Minute); !left.empty() {
		t.Fatalf("left after the warm-up: %s", left)
	}
	base := settledFigures(ctx, t, node, processFigures{}, 10*time.Second)

	next := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cycle(fmt.Sprintf("soak-%04d", i))
			}
		}()
	}
	for i := range cycles {
		next <- i
	}
	close(next)
	wg.Wait()
	fig.set("cycles", "%d", cycles)
	fig.set("failed_cycles", "%d", failures.Load())
	fig.set("slowest_cycle", "%s", seconds(time.Duration(slowest.Load())))

	left := waitNoLeftovers(ctx, t, node, "", time.Minute)
	end := settledFigures(ctx, t, node, base, time.Minute)
	fig.set("leaked_containers", "%d", len(left.Containers))
	fig.set("leaked_volumes", "%d", len(left.Volumes))
	fig.set("leaked_networks", "%d", len(left.Networks))
	fig.set("leaked_files", "%d", len(left.Files))
	fig.set("goroutines", "%d→%d", base.Goroutines, end.Goroutines)
	fig.set("fds", "%d→%d", base.OpenFDs, end.OpenFDs)
	fig.set("rss_MiB", "%d→%d", base.RSSBytes>>20, end.RSSBytes>>20)
	fig.set("took", "%s", seconds(time.Since(start)))
	if !left.empty() {
		t.Errorf("left on the engine after %d cycles: %s", cycles, left)
	}
	if end.Goroutines > base.Goroutines || end.OpenFDs > base.OpenFDs {
		t.Errorf("the provider grew from %d goroutines and %d open files to %d and %d over %d cycles", base.Goroutines, base.OpenFDs, end.Goroutines, end.OpenFDs, cycles)
	}
	checkNoPanic(t, fig, node)
}

// settledFigures reads the provider's figures until they are no higher
// than atMost (any, when it is zero) or timeout passes, and returns the
// lowest seen: goroutines of finished work may take a moment to end, and
// idle connections to close.
func settledFigures(ctx context.Context, t *testing.T, n *framework.Node, atMost processFigures, timeout time.Duration) processFigures {
	t.Helper()
	var low processFigures
	_ = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		f, err := providerFigures(ctx, n)
		if err != nil {
			t.Logf("provider figures: %v", err)
			return false, nil
		}
		if low.Goroutines == 0 || f.Goroutines < low.Goroutines {
			low.Goroutines = f.Goroutines
		}
		if low.OpenFDs == 0 || f.OpenFDs < low.OpenFDs {
			low.OpenFDs = f.OpenFDs
		}
		low.RSSBytes = f.RSSBytes
		return atMost.Goroutines > 0 && low.Goroutines <= atMost.Goroutines && low.OpenFDs <= atMost.OpenFDs, nil
	})
	if low.Goroutines == 0 {
		t.Fatalf("could not read the provider's figures from node %s", n.Name)
	}
	return low
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
