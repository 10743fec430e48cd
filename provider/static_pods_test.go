package provider

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	"github.com/vk-docker/vk-docker/lifecycle"
	"github.com/vk-docker/vk-docker/staticpods"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/record"
)

// The pod controller only ever sees a static pod's mirror: the provider
// keeps static pods out of GetPods (or they would be deleted as dangling),
// treats the mirror's create, update and delete as views that never touch
// containers, and reports the static pod's status on the mirror.
func TestMirrorPodsAreViewsOfStaticPods(t *testing.T) {
	docker := dockerfake.New()
	docker.AddImage("vk-docker/pause:test", "", "")
	docker.AddImage("example.com/app:1", "", "")
	var resyncs atomic.Int32
	p, err := New(Config{
		Runtime: lifecycle.Runtime{
			Docker: docker, Node: translate.Node{NodeName: "vk-static", PauseImage: "vk-docker/pause:test"},
			Recorder: record.NewFakeRecorder(100),
		},
		ResyncMirrors: func() { resyncs.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notified []*v1.Pod
	p.NotifyPods(context.Background(), func(pod *v1.Pod) {
		mu.Lock()
		defer mu.Unlock()
		notified = append(notified, pod)
	})
	static := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-vk-static", Namespace: "default", UID: "0123456789abcdef",
			Annotations: map[string]string{staticpods.AnnotationSource: "file", staticpods.AnnotationHash: "0123456789abcdef"}},
		Spec: v1.PodSpec{NodeName: "vk-static", RestartPolicy: v1.RestartPolicyAlways, Containers: []v1.Container{{Name: "app", Image: "example.com/app:1"}}},
	}
	p.SetStaticPods([]*v1.Pod{static}) // before Run, as at start-up
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	running := func() bool {
		list, err := docker.ContainerList(ctx, dockerhost.PodSelector(string(static.UID)))
		n := 0
		for _, c := range list {
			if c.State == "running" {
				n++
			}
		}
		return err == nil && n == 2
	}
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) { return running(), nil }); err != nil {
		t.Fatal("the static pod never ran")
	}
	pods, _ := p.GetPods(ctx)
	if len(pods) != 0 {
		t.Errorf("GetPods lists %d pods, want static pods left out", len(pods))
	}
	mu.Lock()
	before := len(notified)
	mu.Unlock()
	if before != 0 {
		t.Errorf("%d status reports before the mirror exists, want none (no API object to write)", before)
	}

	mirror := static.DeepCopy()
	mirror.UID = types.UID("mirror-uid-1")
	mirror.Annotations[staticpods.AnnotationMirror] = "0123456789abcdef"
	if err := p.CreatePod(ctx, mirror); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return len(notified) > 0 && notified[len(notified)-1].UID == mirror.UID && notified[len(notified)-1].Status.Phase == v1.PodRunning, nil
	}); err != nil {
		t.Errorf("no Running status reported under the mirror's UID: %v", notified)
	}

	deleted := mirror.DeepCopy()
	now := metav1.Now()
	deleted.DeletionTimestamp = &now
	for _, pod := range []*v1.Pod{deleted, static} { // the mirror, then the static pod found by its name
		if err := p.DeletePod(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	if resyncs.Load() < 2 {
		t.Errorf("%d mirror resyncs after two deletions, want the mirror recreated", resyncs.Load())
	}
	time.Sleep(200 * time.Millisecond)
	if w := p.lookup(static); w == nil || w.Terminating() || !running() {
		t.Fatal("deleting the mirror pod stopped the static pod")
	}

	p.SetStaticPods(nil) // the manifest is gone
	if err := waitNoFakeContainers(ctx, docker, static.UID); err != nil {
		t.Errorf("static pod still on the engine after its manifest was removed: %v", err)
	}
}

func waitNoFakeContainers(ctx context.Context, docker dockerhost.Client, uid types.UID) error {
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := docker.ContainerList(ctx, dockerhost.PodSelector(string(uid)))
		return err == nil && len(list) == 0, nil
	})
}
