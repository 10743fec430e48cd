package provider

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	"github.com/vk-docker/vk-docker/lifecycle"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

// The summary has every running pod with its containers (not the sandbox),
// the pod's sums and its sandbox's network, and the node's sum; a second
// pass after the cache expires derives CPU rates from the counters.
func TestStatsSummaryFromTheEngine(t *testing.T) {
	docker := dockerfake.New()
	docker.AddImage("vk-docker/pause:test", "", "")
	docker.AddImage("example.com/app:1", "", "")
	clock := clocktesting.NewFakeClock(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	docker.SetClock(clock)
	p, err := New(Config{Runtime: lifecycle.Runtime{Docker: docker, Node: translate.Node{NodeName: "vk-stats", PauseImage: "vk-docker/pause:test"}, HostIP: "192.0.2.1", Recorder: record.NewFakeRecorder(100)}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-web"},
		Spec: v1.PodSpec{NodeName: "vk-stats", RestartPolicy: v1.RestartPolicyAlways, Containers: []v1.Container{
			{Name: "app", Image: "example.com/app:1"}, {Name: "side", Image: "example.com/app:1"},
		}},
	}
	if err := p.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	var running []container.Summary
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := docker.ContainerList(ctx, dockerhost.PodSelector("uid-web"))
		running = list
		n := 0
		for _, c := range list {
			if c.State == "running" {
				n++
			}
		}
		return err == nil && n == 3, nil
	}); err != nil {
		t.Fatalf("pod's sandbox and two containers never ran: %+v", running)
	}
	sample := func(cpu uint64) {
		for _, c := range running {
			s := container.StatsResponse{
				CPUStats:    container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: cpu}},
				MemoryStats: container.MemoryStats{Usage: 1000, Stats: map[string]uint64{"inactive_file": 100}},
			}
			if c.Labels[dockerhost.LabelContainerName] == dockerhost.SandboxContainerName {
				s.Networks = map[string]container.NetworkStats{"eth0": {RxBytes: 5, TxBytes: 7}}
			}
			if err := docker.SetStats(c.ID, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	sample(1e9)
	s, err := p.GetStatsSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pods) != 1 || len(s.Pods[0].Containers) != 2 || s.Pods[0].Containers[0].Name != "app" || s.Pods[0].Containers[1].Name != "side" {
		t.Fatalf("summary pods = %+v, want web with app and side", s.Pods)
	}
	ps := s.Pods[0]
	if ps.PodRef.Namespace != "shop" || *ps.Memory.WorkingSetBytes != 3*900 || ps.Network == nil || *ps.Network.RxBytes != 5 {
		t.Errorf("pod stats = %+v memory %d network %+v, want shop/web, 3×900 working set (with the sandbox) and eth0's counters", ps.PodRef, *ps.Memory.WorkingSetBytes, ps.Network)
	}
	if *s.Node.Memory.WorkingSetBytes != 3*900 || *s.Node.CPU.UsageCoreNanoSeconds != 3e9 || s.Node.CPU.UsageNanoCores != nil {
		t.Errorf("node stats = %d bytes %d ns %v cores, want the pods' sums and no rate yet", *s.Node.Memory.WorkingSetBytes, *s.Node.CPU.UsageCoreNanoSeconds, s.Node.CPU.UsageNanoCores)
	}

	calls := len(docker.Calls())
	sample(3e9)
	if again, _ := p.GetStatsSummary(ctx); again != s || len(docker.Calls()) != calls {
		t.Error("a second scrape within the cache time went to the engine")
	}
	clock.Step(statsMaxAge) // 2 cores' worth of CPU per container over 5 s: 0.4 cores each
	s, err = p.GetStatsSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Pods[0].Containers[0].CPU; c.UsageNanoCores == nil || *c.UsageNanoCores != 4e8 {
		t.Errorf("container CPU rate = %v, want 4e8 nano cores", c.UsageNanoCores)
	}
}
