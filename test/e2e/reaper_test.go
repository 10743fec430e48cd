//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

// Issue 13 item 4: the reaper. A provider killed while it removes a pod
// leaves what it did not get to; the next run removes it within a reaper
// period, and never touches the pods that run.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

func TestReaperRemovesWhatACrashLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const period = 3 * time.Second
	n := startNode(t, framework.NodeOptions{
		Name: "e2e-reap-" + framework.RandomSuffix(),
		Args: []string{"--reap-interval", period.String(), "--reap-min-age", "1s"},
	})
	ns := namespace(t)
	withEmptyDir := func(name string) *v1.Pod {
		p := framework.OnNode(&v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1.PodSpec{
				Containers:                    []v1.Container{sleeper("app")},
				TerminationGracePeriodSeconds: ptr.To[int64](2),
			},
		}, n.Name)
		framework.WithSharedDir(p)
		return p
	}
	survivor := createPod(t, ns, withEmptyDir("survivor"))
	removed := createPod(t, ns, withEmptyDir("removed")) // its containers gone, then the crash
	deleted := createPod(t, ns, withEmptyDir("deleted")) // deleted, then the crash
	for _, p := range []*v1.Pod{survivor, removed, deleted} {
		waitRunning(t, ns, p.Name)
	}
	objects := func(uid string) (containers, volumes []string) {
		t.Helper()
		cs, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(uid)))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			containers = append(containers, c.ID)
		}
		vs, err := env.Docker.VolumeList(ctx, dockerhost.PodSelector(string(uid)))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			volumes = append(volumes, v.Name)
		}
		slices.Sort(containers)
		slices.Sort(volumes)
		return containers, volumes
	}
	survivorContainers, survivorVolumes := objects(string(survivor.UID))
	_, removedVolumes := objects(string(removed.UID))
	if len(removedVolumes) == 0 {
		t.Fatal("the pod has no volumes on the engine")
	}
	messages := filepath.Join("/var/lib/vk-docker", n.Name, "termination", string(removed.UID))
	if _, err := os.Stat(messages); err != nil {
		t.Fatalf("termination message files of the pod: %v", err)
	}

	// One pod is deleted and the provider killed right after, while it
	// stops the pod's containers.
	deletePod(t, ns, deleted.Name)
	time.Sleep(500 * time.Millisecond)
	n.Kill()
	// The other is left as a provider killed between removing a pod's
	// containers and its volumes leaves it: volumes and files, no
	// containers, no API object.
	cs, _ := objects(string(removed.UID))
	for _, id := range cs {
		if err := env.Docker.ContainerRemove(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, removed.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	if err := framework.WaitForPodGone(ctx, env, ns, removed.Name, 30*time.Second); err != nil {
		t.Fatal(err)
	}

	restarted := time.Now()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var left []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*period+10*time.Second, true, func(ctx context.Context) (bool, error) {
		left = nil
		for _, p := range []*v1.Pod{removed, deleted} {
			c, v := objects(string(p.UID))
			left = append(append(left, c...), v...)
		}
		if _, err := os.Stat(messages); err == nil {
			left = append(left, messages)
		}
		return len(left) == 0, nil
	})
	if err != nil {
		t.Fatalf("left on the engine and disk %s after the restart: %q", time.Since(restarted).Round(time.Millisecond), left)
	}
	t.Logf("leftovers gone %s after the restart", time.Since(restarted).Round(time.Millisecond))
	log, err := os.ReadFile(n.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range removedVolumes {
		if !strings.Contains(string(log), "Reaped leftover") || !strings.Contains(string(log), v) {
			t.Errorf("no log line for the reaped volume %s", v)
		}
	}

	// The pod that runs kept everything, without a restart.
	got := waitRunning(t, ns, survivor.Name)
	if cs := framework.StatusOf(got, "app"); cs == nil || cs.RestartCount != 0 {
		t.Errorf("survivor's container status %s, want running, no restart", framework.Dump(cs))
	}
	if c, v := objects(string(survivor.UID)); !slices.Equal(c, survivorContainers) || !slices.Equal(v, survivorVolumes) {
		t.Errorf("survivor's containers %q and volumes %q, want %q and %q", c, v, survivorContainers, survivorVolumes)
	}
	if err := framework.WaitForPodGone(ctx, env, ns, deleted.Name, 30*time.Second); err != nil {
		t.Error(err)
	}
}
