//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// State lives on the engine: a provider killed with SIGKILL and started again
// adopts its running pods without restarting a container, and cleans up the
// pods deleted while it was down — force-deleted ones and gracefully deleted
// ones alike.
func TestProviderRestartKeepsRunningPods(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t) // cleaned up after the node closes
	n := startNode(t, framework.NodeOptions{Name: "e2e-restart-" + framework.RandomSuffix()})
	onNode := func(name string) *v1.Pod {
		return framework.OnNode(pod(name, sleeper("app"), sleeper("sidecar")), n.Name)
	}
	uids := map[string]types.UID{}
	for _, name := range []string{"survivor", "force-deleted", "gracefully-deleted"} {
		uids[name] = createPod(t, ns, onNode(name)).UID
	}
	before := map[string]*v1.Pod{}
	for name := range uids {
		before[name] = waitRunning(t, ns, name)
	}
	sandboxBefore := env.ContainerIDs(t, uids["survivor"])

	n.Kill()
	zero := int64(0)
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, "force-deleted", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, "gracefully-deleted", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"force-deleted", "gracefully-deleted"} {
		if err := env.WaitNoContainers(ctx, uids[name], 30*time.Second); err != nil {
			t.Errorf("pod %s deleted while the provider was down: %v", name, err)
		}
	}
	if err := framework.WaitForPodGone(ctx, env, ns, "gracefully-deleted", 30*time.Second); err != nil {
		t.Errorf("gracefully deleted pod still in the API: %v", err)
	}

	// Give the restarted provider time to resync, then compare.
	time.Sleep(3 * time.Second)
	after := waitRunning(t, ns, "survivor")
	if got := env.ContainerIDs(t, uids["survivor"]); !equalSets(got, sandboxBefore) {
		t.Errorf("containers of the surviving pod changed across the restart: before %v, after %v", sandboxBefore, got)
	}
	for i, cs := range after.Status.ContainerStatuses {
		old := before["survivor"].Status.ContainerStatuses[i]
		if cs.ContainerID != old.ContainerID || cs.RestartCount != 0 || cs.State.Running == nil ||
			!cs.State.Running.StartedAt.Equal(&old.State.Running.StartedAt) {
			t.Errorf("container %s: before %+v, after %+v; want the same running container", cs.Name, old, cs)
		}
	}
	if !after.Status.StartTime.Equal(before["survivor"].Status.StartTime) {
		t.Errorf("startTime changed across the restart: %v → %v", before["survivor"].Status.StartTime, after.Status.StartTime)
	}
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, "survivor", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if err := env.WaitNoContainers(ctx, uids["survivor"], 30*time.Second); err != nil {
		t.Error(err)
	}
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s] == 0 {
			return false
		}
		seen[s]--
	}
	return true
}
