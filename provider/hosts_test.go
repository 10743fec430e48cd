package provider

import (
	"context"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	"github.com/vk-docker/vk-docker/hostpool"
	"github.com/vk-docker/vk-docker/lifecycle"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/record"
)

// With two hosts, each pod's containers all go to the host chosen for it,
// labelled with it, and its status names that host's address; a provider
// started again finds each pod on its host.
func TestPodsRunWhollyOnTheirHost(t *testing.T) {
	a, b := dockerfake.New(), dockerfake.New()
	for _, d := range []*dockerfake.Client{a, b} {
		d.AddImage("vk-docker/pause:test", "", "")
		d.AddImage("example.com/app:1", "", "")
		d.SetInfo(2, 8<<30)
	}
	newProvider := func() (*Provider, func()) {
		pool := hostpool.New(nil, &hostpool.Host{Spec: hostpool.Spec{URL: "unix:///a.sock"}, Docker: a}, &hostpool.Host{Spec: hostpool.Spec{URL: "tcp://192.0.2.9:2376"}, Docker: b})
		pool.Check(context.Background())
		p, err := New(Config{
			Runtime: lifecycle.Runtime{Docker: a, Node: translate.Node{NodeName: "vk-hosts", PauseImage: "vk-docker/pause:test"}, HostIP: "192.0.2.1", Recorder: record.NewFakeRecorder(100)},
			Pool:    pool,
			HostSettings: func(h *hostpool.Host) HostSettings {
				ip := h.Address()
				if ip == "" {
					ip = "192.0.2.1"
				}
				return HostSettings{HostIP: ip}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		return p, func() { cancel(); <-done }
	}
	p, stop := newProvider()
	ctx := context.Background()
	mk := func(name, cpu string) *v1.Pod {
		pod := &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)},
			Spec:       v1.PodSpec{NodeName: "vk-hosts", RestartPolicy: v1.RestartPolicyAlways, Containers: []v1.Container{{Name: "app", Image: "example.com/app:1"}}},
		}
		if cpu != "" {
			pod.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}
		}
		return pod
	}
	want := map[string]*dockerfake.Client{"big": a, "small": b}
	wantIP := map[string]string{"big": "192.0.2.1", "small": "192.0.2.9"}
	for _, name := range []string{"big", "small"} {
		if err := p.CreatePod(ctx, mk(name, map[string]string{"big": "1"}[name])); err != nil {
			t.Fatal(err)
		}
	}
	for name, d := range want {
		other := a
		if d == a {
			other = b
		}
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			pod, err := p.GetPod(ctx, "ns", name)
			return err == nil && pod.Status.HostIP == wantIP[name] && pod.Status.Phase == v1.PodRunning, nil
		})
		if err != nil {
			pod, _ := p.GetPod(ctx, "ns", name)
			t.Fatalf("pod %s never ran with hostIP %s: %+v", name, wantIP[name], pod.Status)
		}
		on, _ := d.ContainerList(ctx, dockerhost.PodSelector("uid-"+name))
		off, _ := other.ContainerList(ctx, dockerhost.PodSelector("uid-"+name))
		if len(on) != 2 || len(off) != 0 {
			t.Errorf("pod %s: %d containers on its host, %d on the other; want 2 and 0", name, len(on), len(off))
		}
		for _, c := range on {
			if c.Labels[dockerhost.LabelDockerHost] == "" {
				t.Errorf("container %v of %s carries no host label", c.Names, name)
			}
		}
	}
	stop()
	p, stop = newProvider()
	defer stop()
	for name := range want {
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			pod, err := p.GetPod(ctx, "ns", name)
			return err == nil && pod.Status.HostIP == wantIP[name], nil
		})
		if err != nil {
			t.Errorf("restarted provider did not find pod %s on its host", name)
		}
	}
}
