package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/vk-docker/vk-docker/dockerhost"
	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// configMapPod mounts the ConfigMap "settings" at /etc/config.
func configMapPod() *v1.Pod {
	app := appContainer()
	app.VolumeMounts = []v1.VolumeMount{{Name: "config", MountPath: "/etc/config"}}
	pod := newPod(app)
	pod.Spec.Volumes = []v1.Volume{{Name: "config", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{
		LocalObjectReference: v1.LocalObjectReference{Name: "settings"}}}}}
	return pod
}

func (h *harness) withConfigMaps(cms ...*v1.ConfigMap) cache.Indexer {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, cm := range cms {
		if err := idx.Add(cm); err != nil {
			h.t.Fatal(err)
		}
	}
	h.rt.ConfigMaps = corev1listers.NewConfigMapLister(idx)
	return idx
}

// writeConfig is the first content of the "config" volume, written with the
// sandbox's set-up.
const writeConfig = "ExecCreate %s /pause setup --hosts --volume /vk-docker/volumes/config"

// volumeWrites counts the pause program's volume writes: those of the
// sandbox's set-up and those of write-volume later.
func (h *harness) volumeWrites() int {
	n := 0
	for _, c := range h.calls("ExecCreate") {
		n += strings.Count(c, " write-volume ") + strings.Count(c, " --volume ")
	}
	return n
}

// A configMap volume is a tmpfs Docker volume, mounted in the sandbox and
// filled through it before the container starts, which sees it read-only;
// it is rendered again every 30 s and rewritten only when it changed.
func TestConfigMapVolumeIsWrittenThroughTheSandbox(t *testing.T) {
	h := newHarness(t)
	cm := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "default"}, Data: map[string]string{"k": "v1"}}
	idx := h.withConfigMaps(cm)
	pod := configMapPod()
	w := NewWorker(h.rt, pod, true)
	next := h.sync(w)

	vol := dockerhost.VolumeName(string(testUID), "config")
	vols, _ := h.docker.VolumeList(h.ctx, dockerhost.PodSelector(string(testUID)))
	if len(vols) != 1 || vols[0].Name != vol || vols[0].Options["type"] != "tmpfs" || vols[0].Options["device"] != "tmpfs" {
		t.Fatalf("volumes = %+v, want one tmpfs volume %s", vols, vol)
	}
	sb := h.inspect(dockerName(pod, "POD", 0))
	if want := (mount.Mount{Type: mount.TypeVolume, Source: vol, Target: "/vk-docker/volumes/config"}); !slices.Contains(sb.HostConfig.Mounts, want) {
		t.Errorf("sandbox mounts = %+v, want %+v", sb.HostConfig.Mounts, want)
	}
	app := h.inspect(dockerName(pod, "app", 0))
	if want := []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/etc/config", ReadOnly: true}}; !slices.Equal(app.HostConfig.Mounts, want) {
		t.Errorf("app mounts = %+v, want %+v", app.HostConfig.Mounts, want)
	}
	calls := h.calls("ExecCreate", "ContainerCreate")
	write := strings.Replace(writeConfig, "%s", sb.ID, 1)
	i, j := slices.Index(calls, write), slices.Index(calls, "ContainerCreate "+dockerName(pod, "app", 0))
	if i < 0 || j < 0 || i > j {
		t.Fatalf("calls = %q, want %q before the app is created", calls, write)
	}
	if next <= 0 || next > volumeResync {
		t.Errorf("next sync in %v, want within the %v resync", next, volumeResync)
	}

	h.clock.Step(volumeResync)
	h.sync(w)
	if n := h.volumeWrites(); n != 1 {
		t.Errorf("%d writes after an unchanged resync, want still 1", n)
	}
	cm = cm.DeepCopy()
	cm.Data["k"] = "v2"
	if err := idx.Update(cm); err != nil {
		t.Fatal(err)
	}
	h.clock.Step(volumeResync)
	h.sync(w)
	if n := h.volumeWrites(); n != 2 {
		t.Errorf("%d writes after the ConfigMap changed, want 2", n)
	}
	if got := h.calls("ContainerCreate"); len(got) != 2 {
		t.Errorf("creates = %q, want only the sandbox and app (an update restarts nothing)", got)
	}
}

// A missing ConfigMap keeps the containers from starting, with one
// FailedMount event as the kubelet words it, until it appears.
func TestMissingConfigMapHoldsThePod(t *testing.T) {
	h := newHarness(t)
	idx := h.withConfigMaps()
	pod := configMapPod()
	w := NewWorker(h.rt, pod, true)
	for range 3 {
		if next := h.sync(w); next != retryAfterError {
			t.Errorf("next sync in %v, want a retry in %v", next, retryAfterError)
		}
		h.clock.Step(retryAfterError)
	}
	want := []string{`Warning FailedMount MountVolume.SetUp failed for volume "config" : configmap "settings" not found`}
	if got := h.events(); !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q once", got, want)
	}
	if got := h.calls("ContainerCreate"); len(got) != 1 {
		t.Errorf("creates = %q, want the sandbox only", got)
	}
	s := h.status()
	if s.Phase != v1.PodPending || s.ContainerStatuses[0].State.Waiting == nil || s.ContainerStatuses[0].State.Waiting.Reason != ReasonContainerCreating {
		t.Errorf("status = %s %+v, want Pending, ContainerCreating", s.Phase, s.ContainerStatuses)
	}

	if err := idx.Add(&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "default"}}); err != nil {
		t.Fatal(err)
	}
	h.sync(w)
	if h.status().Phase != v1.PodRunning {
		t.Errorf("phase = %s once the ConfigMap exists, want Running", h.status().Phase)
	}
}

// Deleting the pod removes its tmpfs volumes with it.
func TestAPIDataVolumesGoWithThePod(t *testing.T) {
	h := newHarness(t)
	h.withConfigMaps(&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "default"}})
	pod := configMapPod()
	w := h.running(pod)
	w.Delete(deleted(pod, t0, 0))
	for range 5 {
		h.sync(w)
		h.clock.Step(time.Second)
	}
	if w.Pod() != nil {
		t.Fatal("the pod was not removed")
	}
	if got := h.podVolumes(testUID); len(got) != 0 {
		t.Errorf("volumes left: %q", got)
	}
}

// The API server's service-account volume gets a token bound to the pod;
// past 80% of its lifetime the token is renewed and written again.
func TestServiceAccountVolumeTokenIsRenewed(t *testing.T) {
	h := newHarness(t)
	h.withConfigMaps(&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: "default"}, Data: map[string]string{"ca.crt": "CA"}})
	kube := fake.NewClientset()
	var issued []*authenticationv1.TokenRequest
	kube.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		issued = append(issued, tr)
		tr.Status = authenticationv1.TokenRequestStatus{Token: fmt.Sprintf("token-%d", len(issued)),
			ExpirationTimestamp: metav1.NewTime(h.clock.Now().Add(time.Duration(*tr.Spec.ExpirationSeconds) * time.Second))}
		return true, tr, nil
	})
	h.rt.Kube = kube
	app := appContainer()
	app.VolumeMounts = []v1.VolumeMount{{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}}
	pod := newPod(app)
	pod.Spec.ServiceAccountName = "default"
	pod.Spec.Volumes = []v1.Volume{{Name: "kube-api-access-x7k2p", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{
		DefaultMode: ptr.To[int32](0o644),
		Sources: []v1.VolumeProjection{
			{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
			{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []v1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &v1.DownwardAPIProjection{Items: []v1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
		},
	}}}}
	w := h.running(pod)
	if len(issued) != 1 || issued[0].Spec.BoundObjectRef == nil || issued[0].Spec.BoundObjectRef.UID != testUID || *issued[0].Spec.ExpirationSeconds != 3607 {
		t.Fatalf("token requests = %+v, want one bound to the pod for 3607 s", issued)
	}
	writes := func() int { return h.volumeWrites() }
	if writes() != 1 {
		t.Fatalf("%d volume writes, want 1", writes())
	}
	// 80% of 3607 s is 2885.6 s; the resyncs before keep the token.
	for elapsed := time.Duration(0); elapsed < 2880*time.Second; elapsed += volumeResync {
		h.clock.Step(volumeResync)
		h.sync(w)
	}
	if len(issued) != 1 || writes() != 1 {
		t.Fatalf("before 80%% of the lifetime: %d requests, %d writes; want 1 and 1", len(issued), writes())
	}
	h.clock.Step(volumeResync)
	h.sync(w)
	if len(issued) != 2 || writes() != 2 {
		t.Errorf("past 80%% of the lifetime: %d requests, %d writes; want the token renewed and written", len(issued), writes())
	}
	if got := h.calls("ContainerCreate"); len(got) != 2 {
		t.Errorf("creates = %q, want the sandbox and the app only", got)
	}
}

// A label change (UpdatePod) reaches a downwardAPI volume at once, not at
// the next resync.
func TestDownwardAPIVolumeFollowsLabelsAtOnce(t *testing.T) {
	h := newHarness(t)
	app := appContainer()
	app.VolumeMounts = []v1.VolumeMount{{Name: "podinfo", MountPath: "/podinfo"}}
	pod := newPod(app)
	pod.Labels = map[string]string{"tier": "front"}
	pod.Spec.Volumes = []v1.Volume{{Name: "podinfo", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{
		Items: []v1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}}}
	w := h.running(pod)
	writes := func() int { return h.volumeWrites() }
	if writes() != 1 {
		t.Fatalf("%d writes, want 1", writes())
	}
	h.sync(w)
	if writes() != 1 {
		t.Fatalf("%d writes after a sync without changes, want 1", writes())
	}
	pod = pod.DeepCopy()
	pod.Labels["tier"] = "back"
	w.Update(pod)
	h.sync(w)
	if writes() != 2 {
		t.Errorf("%d writes right after the label change, want 2", writes())
	}
}

// After a provider restart, an adopted pod's volumes are not all written
// again before its status is reported: the previous run wrote them, and
// with many pods those execs held every status back. They are rendered
// again at the next resync.
func TestAnAdoptedPodsVolumesAreRefreshedAtTheNextResync(t *testing.T) {
	h := newHarness(t)
	cm := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "default"}, Data: map[string]string{"k": "v1"}}
	h.withConfigMaps(cm)
	pod := configMapPod()
	h.running(pod)
	apiPod := pod.DeepCopy()
	apiPod.Status = h.status()
	h.docker.ResetCalls()

	w := NewWorker(h.rt, skeleton(pod, "app"), false)
	h.sync(w)
	w.Update(apiPod)
	next := h.sync(w)
	if n := h.volumeWrites(); n != 0 {
		t.Errorf("%d volume writes on adoption, want none before the resync", n)
	}
	if s := h.status(); s.Phase != v1.PodRunning {
		t.Errorf("adopted pod's phase %s, want Running", s.Phase)
	}
	if next <= 0 || next > volumeResync {
		t.Fatalf("next sync in %v, want within the %v resync", next, volumeResync)
	}
	h.clock.Step(volumeResync)
	h.sync(w)
	if n := h.volumeWrites(); n != 1 {
		t.Errorf("%d volume writes at the resync after adoption, want 1", n)
	}
}

// What a sandbox's set-up wrote counts as written, volume by volume: one
// that did not render, was not sent or failed in the sandbox is left to the
// volume sync, which renders everything again before the resync.
func TestSandboxSetUpRecordsWhatItWrote(t *testing.T) {
	now := time.Unix(1000, 0)
	vols := renderedVolumes{
		names:   []string{"config", "token", "broken"},
		digests: map[string][32]byte{"config": {1}, "token": {2}},
	}
	sent := []string{"config", "token"}
	for _, c := range []struct {
		name    string
		vols    renderedVolumes
		failed  map[string]error
		written []string
		resync  bool
	}{
		{"one did not render", vols, nil, []string{"config", "token"}, false},
		{"one failed in the sandbox", vols, map[string]error{"/vk-docker/volumes/token": fmt.Errorf("disk full")}, []string{"config"}, false},
		{"all written", renderedVolumes{names: []string{"config", "token"}, digests: vols.digests}, nil, []string{"config", "token"}, true},
	} {
		var s volumeState
		s.sandboxWritten(now, newPod(appContainer()), "sb1", c.vols, sent, c.failed)
		var got []string
		for name := range s.written {
			got = append(got, name)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.written) || s.sandboxID != "sb1" || (s.next == now.Add(volumeResync)) != c.resync {
			t.Errorf("%s: written %v, sandbox %q, next %v; want %v, sb1, resync %v", c.name, got, s.sandboxID, s.next, c.written, c.resync)
		}
	}
}
