package lifecycle

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// The tests' world: one node, a pause image and two app images on a fake
// engine, and a fake clock that only moves when a test steps it.
const (
	testNode     = "vk-test"
	testHostIP   = "192.0.2.10"
	pauseImage   = "vk-docker/pause:test"
	appImage     = "example.com/app:1"     // STOPSIGNAL SIGQUIT, like nginx
	sidecarImage = "example.com/sidecar:1" // no STOPSIGNAL: SIGTERM
	testUID      = types.UID("6f1c7c2e-5d1a-4d0b-9a43-0c2f3b1d8e01")
)

var t0 = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

type harness struct {
	t      *testing.T
	ctx    context.Context
	docker *dockerfake.Client
	clock  *clocktesting.FakeClock
	rec    *record.FakeRecorder
	rt     *Runtime

	mu       sync.Mutex
	notified []notification
	removed  []types.UID
}

// notification is one pod handed to Notify, with the number of engine calls
// made before it: what the API knew at which point of the conversation.
type notification struct {
	pod   *v1.Pod
	calls int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t:      t,
		ctx:    context.Background(),
		docker: dockerfake.New(),
		clock:  clocktesting.NewFakeClock(t0),
		rec:    record.NewFakeRecorder(1000),
	}
	h.docker.SetClock(h.clock)
	h.docker.AddImage(pauseImage, "", "")
	h.docker.AddImage(appImage, "", "SIGQUIT")
	h.docker.AddImage(sidecarImage, "", "")
	h.rt = &Runtime{
		Node: translate.Node{
			NodeName:   testNode,
			PauseImage: pauseImage,
			// A cluster DNS keeps the MissingClusterDNS warning (pod_network_test)
			// out of every other test's events.
			DNS: translate.DNSSettings{ClusterDNS: []string{"127.0.0.53"}},
		},
		Docker:   h.docker,
		HostIP:   testHostIP,
		Recorder: h.rec,
		Clock:    h.clock,
		Notify: func(pod *v1.Pod) {
			n := len(h.docker.Calls())
			h.mu.Lock()
			defer h.mu.Unlock()
			h.notified = append(h.notified, notification{pod, n})
		},
		Removed: func(uid types.UID) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.removed = append(h.removed, uid)
		},
	}
	if err := h.rt.Validate(); err != nil {
		t.Fatal(err)
	}
	return h
}

// newPod is a pod as the API hands it over: defaulted, scheduled to the node.
func newPod(containers ...v1.Container) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: testUID, ResourceVersion: "1"},
		Spec: v1.PodSpec{
			NodeName:                      testNode,
			Containers:                    containers,
			RestartPolicy:                 v1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: ptr.To[int64](30),
		},
		Status: v1.PodStatus{Phase: v1.PodPending, Conditions: []v1.PodCondition{
			{Type: v1.PodScheduled, Status: v1.ConditionTrue},
		}},
	}
}

func appContainer() v1.Container {
	return v1.Container{
		Name:       "app",
		Image:      appImage,
		Command:    []string{"/bin/app", "--serve"},
		Args:       []string{"--port", "8080"},
		Env:        []v1.EnvVar{{Name: "MODE", Value: "test"}},
		WorkingDir: "/srv",
		Ports:      []v1.ContainerPort{{ContainerPort: 8080, Protocol: v1.ProtocolTCP}},
	}
}

func sidecarContainer() v1.Container {
	return v1.Container{Name: "sidecar", Image: sidecarImage, Args: []string{"sleep", "3600"}}
}

// twoContainerPod is the usual subject: app and sidecar sharing an emptyDir.
func twoContainerPod() *v1.Pod {
	app, side := appContainer(), sidecarContainer()
	app.VolumeMounts = []v1.VolumeMount{{Name: "cache", MountPath: "/cache"}}
	side.VolumeMounts = []v1.VolumeMount{{Name: "cache", MountPath: "/data", ReadOnly: true}}
	pod := newPod(app, side)
	pod.Spec.Volumes = []v1.Volume{{Name: "cache", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
	return pod
}

// dockerName is the engine name of one attempt of a container of the pod.
func dockerName(pod *v1.Pod, container string, attempt int) string {
	return dockerhost.ContainerName{Container: container, Pod: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID), Attempt: attempt}.String()
}

// sync drives one step of the worker, as its Run loop would.
func (h *harness) sync(w *Worker) time.Duration {
	h.t.Helper()
	return w.sync(h.ctx)
}

// events drains the events recorded since the last call.
func (h *harness) events() []string {
	var out []string
	for {
		select {
		case e := <-h.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// calls returns the engine calls made so far whose method is one of ops.
func (h *harness) calls(ops ...string) []string {
	var out []string
	for _, c := range h.docker.Calls() {
		op, _, _ := strings.Cut(c, " ")
		if slices.Contains(ops, op) {
			out = append(out, c)
		}
	}
	return out
}

// mutations are the calls that change the engine.
var mutations = []string{"ContainerCreate", "ContainerStart", "ContainerStop", "ContainerKill", "ContainerRemove", "VolumeCreate", "VolumeRemove", "ImagePull", "ImageImport"}

func (h *harness) notifications() []notification {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.notified)
}

// status is the last status handed to Notify.
func (h *harness) status() v1.PodStatus {
	h.t.Helper()
	n := h.notifications()
	if len(n) == 0 {
		h.t.Fatal("Notify was never called")
	}
	return n[len(n)-1].pod.Status
}

func (h *harness) inspect(name string) container.InspectResponse {
	h.t.Helper()
	in, err := h.docker.ContainerInspect(h.ctx, name)
	if err != nil {
		h.t.Fatalf("inspect %s: %v", name, err)
	}
	return in
}

// podContainers lists what the engine holds of the pod, by name.
func (h *harness) podContainers(uid types.UID) map[string]container.Summary {
	h.t.Helper()
	list, err := h.docker.ContainerList(h.ctx, dockerhost.PodSelector(string(uid)))
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]container.Summary{}
	for _, c := range list {
		out[strings.TrimPrefix(c.Names[0], "/")] = c
	}
	return out
}

func (h *harness) podVolumes(uid types.UID) []string {
	h.t.Helper()
	vols, err := h.docker.VolumeList(h.ctx, dockerhost.PodSelector(string(uid)))
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, v := range vols {
		out = append(out, v.Name)
	}
	return out
}

// running starts pod on a fresh worker and checks it converged.
func (h *harness) running(pod *v1.Pod) *Worker {
	h.t.Helper()
	w := NewWorker(h.rt, pod, true)
	h.sync(w)
	if got := h.status().Phase; got != v1.PodRunning {
		h.t.Fatalf("pod phase after the first sync = %s, want Running", got)
	}
	return w
}

func containerStatus(t *testing.T, s v1.PodStatus, name string) v1.ContainerStatus {
	t.Helper()
	for _, cs := range s.ContainerStatuses {
		if cs.Name == name {
			return cs
		}
	}
	t.Fatalf("no status for container %s in %+v", name, s.ContainerStatuses)
	return v1.ContainerStatus{}
}

func podCondition(s v1.PodStatus, t v1.PodConditionType) *v1.PodCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

// killAfter is when a deleted pod's containers get SIGKILL: at the end of the
// grace period, less the margin that lets the final status reach the API
// before virtual-kubelet removes the object (Worker.Delete).
func killAfter(grace time.Duration) time.Duration {
	return grace - min(grace/4, statusMargin)
}
