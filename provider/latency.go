package provider

import (
	"strings"
	"sync"
	"time"

	"github.com/vk-docker/vk-docker/metrics"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// latencies follows pods from the provider's view to the statuses it hands
// virtual-kubelet, for metrics.PodStartDuration and metrics.ExitToStatus.
type latencies struct {
	mu      sync.Mutex
	created map[types.UID]time.Time // CreatePod of a new pod, until all its containers started
	exits   map[string]exitSeen     // container ID → its die event, until a status shows it
}

type exitSeen struct {
	uid types.UID
	at  time.Time // the engine's time of the event
}

func newLatencies() *latencies {
	return &latencies{created: map[types.UID]time.Time{}, exits: map[string]exitSeen{}}
}

// podCreated notes when the provider was handed a new pod.
func (l *latencies) podCreated(uid types.UID, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.created[uid] = now
}

// containerDied notes a container's die event.
func (l *latencies) containerDied(uid types.UID, containerID string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.exits[containerID] = exitSeen{uid: uid, at: at}
}

// forget drops what is noted of a removed pod.
func (l *latencies) forget(uid types.UID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.created, uid)
	for id, e := range l.exits {
		if e.uid == uid {
			delete(l.exits, id)
		}
	}
}

// reported observes the latencies that pod, about to be handed to
// virtual-kubelet, completes.
func (l *latencies) reported(pod *v1.Pod, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.created[pod.UID]; ok && allStarted(pod) {
		metrics.PodStartDuration.Observe(now.Sub(t).Seconds())
		delete(l.created, pod.UID)
	}
	if len(l.exits) == 0 {
		return
	}
	for _, statuses := range [][]v1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, cs := range statuses {
			for _, t := range []*v1.ContainerStateTerminated{cs.State.Terminated, cs.LastTerminationState.Terminated} {
				if t == nil {
					continue
				}
				id := strings.TrimPrefix(t.ContainerID, "docker://")
				if e, ok := l.exits[id]; ok {
					metrics.ExitToStatus.Observe(now.Sub(e.at).Seconds())
					delete(l.exits, id)
				}
			}
		}
	}
}

// allStarted: every app container of pod has started (is running, or ran).
func allStarted(pod *v1.Pod) bool {
	if len(pod.Status.ContainerStatuses) < len(pod.Spec.Containers) {
		return false
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Running == nil && cs.State.Terminated == nil {
			return false
		}
	}
	return true
}
