package lifecycle

import (
	"slices"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// skeleton is what the provider rebuilds from container labels after a
// restart (provider.podFromLabels): identity, containers' names and images,
// grace period; no status.
func skeleton(pod *v1.Pod, containers ...string) *v1.Pod {
	out := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID}}
	out.Spec.TerminationGracePeriodSeconds = pod.Spec.TerminationGracePeriodSeconds
	for _, c := range pod.Spec.Containers {
		if slices.Contains(containers, c.Name) {
			out.Spec.Containers = append(out.Spec.Containers, v1.Container{Name: c.Name, Image: c.Image})
		}
	}
	return out
}

func dockerhostVolume(pod *v1.Pod, name string) string {
	return dockerhost.VolumeName(string(pod.UID), name)
}

func TestARebuiltPodIsAdoptedWithoutRestartingIt(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	h.running(pod) // by the provider's previous run
	before := h.podContainers(testUID)
	h.docker.ResetCalls()
	h.events()

	// The provider restarts: a worker is rebuilt from labels; the API's pod
	// arrives a minute later.
	apiPod := pod.DeepCopy()
	apiPod.Status = h.status() // what the API holds: the last status reported
	notified := len(h.notifications())
	h.clock.Step(time.Hour)
	w := NewWorker(h.rt, skeleton(pod, "app", "sidecar"), false)
	h.sync(w)
	if got := h.calls(mutations...); len(got) != 0 {
		t.Fatalf("a worker without the pod's spec changed the engine: %q", got)
	}
	if got := len(h.notifications()); got != notified {
		t.Errorf("a worker without the API's pod reported a status, which would erase the API's")
	}
	if s := w.Pod().Status; s.Phase != v1.PodRunning || containerStatus(t, s, "app").ContainerID != "docker://"+before[dockerName(pod, "app", 0)].ID {
		t.Errorf("rebuilt view: phase %s, statuses %+v", s.Phase, s.ContainerStatuses)
	}

	h.clock.Step(time.Minute)
	w.Update(apiPod)
	h.sync(w)

	// Creating an existing named volume is a no-op on the engine.
	if got := slices.DeleteFunc(h.calls(mutations...), func(c string) bool { return c == "VolumeCreate "+dockerhostVolume(pod, "cache") }); len(got) != 0 {
		t.Errorf("adopting the pod changed the engine: %q", got)
	}
	if got := h.podVolumes(testUID); !slices.Equal(got, []string{dockerhostVolume(pod, "cache")}) {
		t.Errorf("volumes = %q", got)
	}
	after := h.podContainers(testUID)
	for name, c := range before {
		if after[name].ID != c.ID || after[name].State != "running" {
			t.Errorf("%s is now %s (%s), was %s", name, after[name].ID, after[name].State, c.ID)
		}
	}
	if len(after) != len(before) {
		t.Errorf("containers: %d before, %d after", len(before), len(after))
	}
	if got := h.events(); len(got) != 0 {
		t.Errorf("events = %q", got)
	}
	s := h.status()
	if s.Phase != v1.PodRunning || len(s.ContainerStatuses) != 2 || !containerStatus(t, s, "sidecar").Ready {
		t.Errorf("adopted status: phase %s statuses %+v", s.Phase, s.ContainerStatuses)
	}
	if s.StartTime == nil || !s.StartTime.Time.Equal(t0) {
		t.Errorf("startTime = %v, want the pod's original start %v", s.StartTime, t0)
	}
	for _, ct := range []v1.PodConditionType{v1.PodReadyToStartContainers, v1.ContainersReady, v1.PodReady} {
		if c := podCondition(s, ct); c == nil || c.Status != v1.ConditionTrue || !c.LastTransitionTime.Time.Equal(t0) {
			t.Errorf("%s = %+v, want True since %v as before the restart", ct, c, t0)
		}
	}
}

// The API's pod may arrive while a pass that knows only the labels is under
// way: what that pass saw must not replace the API's status, or the pod's
// startTime (and the conditions of others) would be lost.
func TestTheAPIsPodArrivingDuringARebuiltPassKeepsItsStartTime(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	h.running(pod)
	apiPod := pod.DeepCopy()
	apiPod.Status = h.status()
	h.clock.Step(time.Hour)

	w := NewWorker(h.rt, skeleton(pod, "app", "sidecar"), false)
	arrived := false
	h.docker.SetHook(func(op string, _ []string) error {
		if op == "ContainerList" && !arrived {
			arrived = true
			w.Update(apiPod)
		}
		return nil
	})
	h.sync(w) // began without the spec; the API's pod came during it
	h.docker.SetHook(nil)
	h.sync(w)

	s := h.status()
	if s.StartTime == nil || !s.StartTime.Time.Equal(t0) {
		t.Errorf("startTime = %v, want the pod's original start %v", s.StartTime, t0)
	}
}

func TestARebuiltPodCreatesNothingUntilItsSpecArrives(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	h.running(pod)
	app := h.inspect(dockerName(pod, "app", 0)).ID
	// The sidecar's container was lost while the provider was down.
	if err := h.docker.ContainerRemove(h.ctx, dockerName(pod, "sidecar", 0)); err != nil {
		t.Fatal(err)
	}
	h.docker.ResetCalls()

	w := NewWorker(h.rt, skeleton(pod, "app"), false)
	for range 3 {
		h.clock.Step(time.Minute)
		h.sync(w)
	}
	if got := h.calls(mutations...); len(got) != 0 {
		t.Fatalf("a worker without the pod's spec changed the engine: %q", got)
	}

	w.Update(pod)
	h.sync(w)
	if got := h.calls("ContainerCreate"); !slices.Equal(got, []string{"ContainerCreate " + dockerName(pod, "sidecar", 0)}) {
		t.Errorf("creates = %q, want only the missing sidecar", got)
	}
	if got := h.inspect(dockerName(pod, "app", 0)); got.ID != app || !got.State.Running {
		t.Errorf("app is %s (running %v), want the adopted %s", got.ID, got.State.Running, app)
	}
	if s := h.status(); s.Phase != v1.PodRunning || !containerStatus(t, s, "sidecar").Ready {
		t.Errorf("phase %s, statuses %+v", s.Phase, s.ContainerStatuses)
	}
}

func TestARebuiltPodCanBeDeletedBeforeItsSpecArrives(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	h.running(pod)

	// The API no longer has the pod: the provider deletes the rebuilt one.
	sk := skeleton(pod, "app", "sidecar")
	w := NewWorker(h.rt, sk, false)
	h.sync(w)
	w.Delete(sk) // the skeleton's grace: 30s from the label
	if next := h.sync(w); next != killAfter(30*time.Second) {
		t.Errorf("next look in %v, want the labelled grace of 30s (less the status margin)", next)
	}
	h.sync(w) // sandbox
	h.sync(w) // report and remove
	if got := h.podContainers(testUID); len(got) != 0 {
		t.Errorf("containers left: %v", got)
	}
	if got := h.podVolumes(testUID); len(got) != 0 {
		t.Errorf("volumes left: %q", got)
	}
}
