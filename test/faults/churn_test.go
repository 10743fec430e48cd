//go:build faults

package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Churn: pods with two containers and two emptyDirs are created and deleted
// without pause while the provider is SIGKILLed at random moments and
// started again. When the dust settles every pod that was not deleted runs
// with the containers it had before each kill (no restart), every deleted
// pod is gone from the API (none stuck Terminating), and once the rest are
// deleted the node has no container, volume or termination-message file
// left: what a crash interrupted, the next provider finished.
func TestProviderKilledDuringChurn(t *testing.T) {
	const (
		creations = 200
		kills     = 6
		maxLive   = 12 // pods kept alive while churning
	)
	fig := summary(t, "sigkill-churn")
	start := time.Now()
	defer func() { fig.set("took", "%s", seconds(time.Since(start))) }()
	ctx := context.Background()
	node := startNode(t, framework.NodeOptions{Name: "faults-churn-" + framework.RandomSuffix()})
	ns := namespace(t, "faults-churn")

	// Kills are triggered at random creations (not the first few, so some
	// pods run) and land a random moment later, while the churn goes on.
	killAt := map[int]bool{}
	for len(killAt) < kills {
		killAt[10+rand.IntN(creations-30)] = true
	}
	var (
		mu       sync.Mutex
		before   = map[string]map[string]string{} // pod → container → ID running before a kill
		killErrs []error
		killed   int
		down     time.Duration
	)
	snapshot := func() {
		pods, err := listPods(ctx, ns)
		if err != nil {
			t.Logf("pods before a kill: %v", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for name, p := range pods {
			if p.DeletionTimestamp != nil {
				continue
			}
			for c, id := range runningIDs(p) {
				if before[name] == nil {
					before[name] = map[string]string{}
				}
				if _, ok := before[name][c]; !ok {
					before[name][c] = id
				}
			}
		}
	}
	trigger := make(chan struct{}, kills)
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for range trigger {
			time.Sleep(jitter(0, 1500*time.Millisecond))
			snapshot()
			node.Kill()
			off := time.Now()
			time.Sleep(jitter(500*time.Millisecond, 3*time.Second))
			err := node.Start(ctx)
			mu.Lock()
			killed++
			down += time.Since(off)
			if err != nil {
				killErrs = append(killErrs, err)
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()

	var live []string
	deleted := map[string]bool{}
	for i := range creations {
		if killAt[i] {
			trigger <- struct{}{}
		}
		name := fmt.Sprintf("churn-%03d", i)
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, churnPod(node.Name, name), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", name, err)
		}
		live = append(live, name)
		if len(live) > maxLive {
			j := rand.IntN(len(live))
			victim := live[j]
			live = append(live[:j], live[j+1:]...)
			if err := env.Client.CoreV1().Pods(ns).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete pod %s: %v", victim, err)
			}
			deleted[victim] = true
		}
		time.Sleep(jitter(100*time.Millisecond, 500*time.Millisecond))
	}
	close(trigger)
	<-killerDone
	fig.set("pods", "%d", creations)
	fig.set("kills", "%d", killed)
	fig.set("provider_down", "%s", seconds(down))
	if len(killErrs) > 0 {
		t.Fatalf("the node did not come back after a kill: %v", killErrs)
	}
	if killed < kills {
		t.Errorf("%d kills, want %d", killed, kills)
	}

	// Every pod kept runs, every pod deleted is gone.
	settled := func(pods map[string]*v1.Pod) bool {
		for _, name := range live {
			if p, ok := pods[name]; !ok || !framework.Running(p) {
				return false
			}
		}
		for name := range deleted {
			if _, ok := pods[name]; ok {
				return false
			}
		}
		return true
	}
	pods, took, err := waitAll(ctx, ns, 3*time.Minute, settled)
	fig.set("settled_after", "%s", seconds(took))
	var lost, stuck []string
	var restarted []string
	for _, name := range live {
		p, ok := pods[name]
		switch {
		case !ok:
			lost = append(lost, name+" (gone from the API)")
			continue
		case !framework.Running(p):
			lost = append(lost, fmt.Sprintf("%s (%s, not running)", name, p.Status.Phase))
		}
		if n := restarts(p); n > 0 {
			restarted = append(restarted, fmt.Sprintf("%s restartCount %d", name, n))
		}
		now := runningIDs(p)
		for c, id := range before[name] {
			if now[c] != id {
				restarted = append(restarted, fmt.Sprintf("%s/%s was %s before a kill, now %q", name, c, id, now[c]))
			}
		}
	}
	for name := range deleted {
		if _, ok := pods[name]; ok {
			stuck = append(stuck, name)
		}
	}
	sort.Strings(stuck)
	if err != nil {
		t.Errorf("pods not settled after %v: %v", took, err)
	}

	// The rest goes too; then nothing may be left.
	for _, name := range live {
		if err := env.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete pod %s: %v", name, err)
		}
	}
	pods, took, _ = waitAll(ctx, ns, 2*time.Minute, func(pods map[string]*v1.Pod) bool { return len(pods) == 0 })
	fig.set("emptied_after", "%s", seconds(took))
	for name := range pods {
		stuck = append(stuck, name)
	}
	left := waitNoLeftovers(ctx, t, node, "", time.Minute)

	fig.set("lost", "%d", len(lost))
	fig.set("stuck_terminating", "%d", len(stuck))
	fig.set("restarts", "%d", len(restarted))
	fig.set("orphan_containers", "%d", len(left.Containers))
	fig.set("orphan_volumes", "%d", len(left.Volumes))
	fig.set("orphan_files", "%d", len(left.Files))
	if len(lost) > 0 {
		t.Errorf("lost pods (kept, but not running): %v", lost)
	}
	if len(stuck) > 0 {
		t.Errorf("pods stuck Terminating: %v", stuck)
	}
	if len(restarted) > 0 {
		t.Errorf("containers that were running restarted: %v", restarted)
	}
	if !left.empty() {
		t.Errorf("left on the node after every pod was deleted: %s", left)
	}
	checkNoPanic(t, fig, node)
}
