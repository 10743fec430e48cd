package provider

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	"github.com/vk-docker/vk-docker/lifecycle"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

// Only what belongs to a pod nobody knows, and is old enough, is reaped;
// containers go before the volumes they may use.
func TestOrphans(t *testing.T) {
	now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	old, young := now.Add(-2*time.Minute), now.Add(-10*time.Second)
	found := []leftover{
		{kind: leftoverFile, id: "/m/gone", uid: "gone", created: old},
		{kind: leftoverVolume, id: "gone-vol", uid: "gone", created: old},
		{kind: leftoverContainer, id: "gone-ctr", uid: "gone", created: old},
		{kind: leftoverVolume, id: "known-vol", uid: "known", created: old},
		{kind: leftoverVolume, id: "young-vol", uid: "young", created: young},
		{kind: leftoverVolume, id: "undated-vol", uid: "undated"},
		{kind: leftoverVolume, id: "anonymous-vol", created: old},
	}
	known := func(uid types.UID) bool { return uid == "known" }
	var got []string
	for _, l := range orphans(found, known, now, time.Minute) {
		got = append(got, l.id)
	}
	if want := []string{"gone-ctr", "gone-vol", "/m/gone"}; !slices.Equal(got, want) {
		t.Errorf("orphans = %q, want %q", got, want)
	}
}

// A pass of the reaper against the fake engine: the volumes, container and
// termination message files of a pod that is gone from the API and from
// the node go; those of a pod in the API, of a static pod and of a pod
// being set up right now (younger than the minimum age) stay.
func TestReapRemovesWhatGonePodsLeft(t *testing.T) {
	ctx := context.Background()
	clock := clocktesting.NewFakeClock(time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC))
	docker := dockerfake.New()
	docker.SetClock(clock)
	docker.AddImage("vk-docker/pause:test", "", "")
	messages := t.TempDir()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	p, err := New(Config{
		Runtime: lifecycle.Runtime{
			Docker: docker, Node: translate.Node{NodeName: "vk-reap", PauseImage: "vk-docker/pause:test"},
			Recorder: record.NewFakeRecorder(100), MessageDir: messages,
		},
		Clock:      clock,
		APIPods:    corev1listers.NewPodLister(indexer),
		ReapMinAge: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	labels := func(uid, name string) map[string]string {
		return map[string]string{
			dockerhost.LabelNode: "vk-reap", dockerhost.LabelPodUID: uid,
			dockerhost.LabelPodName: name, dockerhost.LabelPodNamespace: "default",
		}
	}
	objects := func(uid, name string) {
		t.Helper()
		if err := docker.VolumeCreate(ctx, dockerhost.VolumeName(uid, "data"), labels(uid, name)); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(messages, uid), 0o755); err != nil {
			t.Fatal(err)
		}
		// The directory's age is its modification time: as old as the volume.
		if err := os.Chtimes(filepath.Join(messages, uid), clock.Now(), clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	objects("gone-uid", "gone")
	if _, err := docker.ContainerCreate(ctx, &container.Config{Image: "vk-docker/pause:test", Labels: labels("gone-uid", "gone")}, &container.HostConfig{}, nil, "k8s_POD_gone_default_gone-uid_0"); err != nil {
		t.Fatal(err)
	}
	objects("api-uid", "in-api")
	if err := indexer.Add(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "in-api", Namespace: "default", UID: "api-uid"}}); err != nil {
		t.Fatal(err)
	}
	objects("static-uid", "static")
	p.SetStaticPods([]*v1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "static", Namespace: "default", UID: "static-uid"}}})
	// Another node's volume on the same engine is not this node's business.
	if err := docker.VolumeCreate(ctx, "other-node-volume", map[string]string{dockerhost.LabelNode: "vk-other", dockerhost.LabelPodUID: "gone-uid"}); err != nil {
		t.Fatal(err)
	}
	clock.Step(2 * time.Minute)
	objects("new-uid", "being-created") // its pod's worker is gone already, or not seen yet

	if err := p.reap(ctx); err != nil {
		t.Fatal(err)
	}
	vols, err := docker.VolumeList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range vols {
		names = append(names, v.Name)
	}
	want := []string{dockerhost.VolumeName("api-uid", "data"), dockerhost.VolumeName("new-uid", "data"), "other-node-volume", dockerhost.VolumeName("static-uid", "data")}
	slices.Sort(want)
	if slices.Sort(names); !slices.Equal(names, want) {
		t.Errorf("volumes after a pass = %q, want %q", names, want)
	}
	if cs, err := docker.ContainerList(ctx, dockerhost.PodSelector("gone-uid")); err != nil || len(cs) != 0 {
		t.Errorf("containers of the gone pod = %d (%v), want none", len(cs), err)
	}
	entries, err := os.ReadDir(messages)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		dirs = append(dirs, e.Name())
	}
	if want := []string{"api-uid", "new-uid", "static-uid"}; !slices.Equal(dirs, want) {
		t.Errorf("termination message dirs = %q, want %q", dirs, want)
	}

	// Once old enough, what nobody claimed goes too.
	clock.Step(2 * time.Minute)
	if err := p.reap(ctx); err != nil {
		t.Fatal(err)
	}
	if vols, _ := docker.VolumeList(ctx, dockerhost.PodSelector("new-uid")); len(vols) != 0 {
		t.Errorf("volumes of the unclaimed pod after its minimum age: %d, want none", len(vols))
	}
	if _, err := os.Stat(filepath.Join(messages, "new-uid")); !os.IsNotExist(err) {
		t.Errorf("termination message dir of the unclaimed pod: %v, want gone", err)
	}
}

// The reaper waits for the API's pods before its first pass: until then
// every pod of the API would look gone.
func TestReaperWaitsForTheAPIPods(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC))
	docker := dockerfake.New()
	docker.SetClock(clock)
	if err := docker.VolumeCreate(context.Background(), "vol", map[string]string{dockerhost.LabelNode: "vk-reap", dockerhost.LabelPodUID: "u"}); err != nil {
		t.Fatal(err)
	}
	clock.Step(time.Hour)
	synced := make(chan bool, 1)
	synced <- false
	p, err := New(Config{
		Runtime:       lifecycle.Runtime{Docker: docker, Node: translate.Node{NodeName: "vk-reap", PauseImage: "p"}, Recorder: record.NewFakeRecorder(10)},
		Clock:         clock,
		APIPods:       corev1listers.NewPodLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})),
		APIPodsSynced: func() bool { return len(synced) == 0 },
		ReapInterval:  time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.runReaper(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	for range 3 {
		waitFor(t, func() bool { return clock.HasWaiters() })
		clock.Step(reapSyncPoll)
	}
	if vols, _ := docker.VolumeList(context.Background()); len(vols) != 1 {
		t.Fatalf("volumes before the API's pods are known: %d, want 1", len(vols))
	}
	<-synced
	clock.Step(reapSyncPoll)
	waitFor(t, func() bool {
		vols, _ := docker.VolumeList(context.Background())
		return len(vols) == 0
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
