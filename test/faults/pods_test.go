//go:build faults || soak

package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// busybox is a container of the test image running a shell script.
func busybox(name, script string) v1.Container {
	return v1.Container{Name: name, Image: env.BusyboxImage(), ImagePullPolicy: v1.PullIfNotPresent, Command: []string{"sh", "-c", script}}
}

// sleeper runs until SIGTERM, which it obeys at once (a shell as PID 1
// ignores it unless it traps it).
func sleeper(name string) v1.Container {
	return busybox(name, "trap 'exit 0' TERM; while true; do sleep 1; done")
}

// podOn builds a pod aimed at node with a 2 s grace period and no
// service-account token (the suites measure the node, not the TokenRequest
// API).
func podOn(node, name string, containers ...v1.Container) *v1.Pod {
	return framework.OnNode(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PodSpec{
			Containers:                    containers,
			TerminationGracePeriodSeconds: ptr.To(int64(2)),
			AutomountServiceAccountToken:  ptr.To(false),
		},
	}, node)
}

// churnPod is the pod of the churn and soak scenarios: two containers
// sharing a disk emptyDir, the second also writing a memory emptyDir.
func churnPod(node, name string) *v1.Pod {
	a := busybox("writer", "trap 'exit 0' TERM; echo $HOSTNAME > /data/name; while true; do sleep 1; done")
	b := busybox("reader", "trap 'exit 0' TERM; date > /cache/start; while true; do sleep 1; done")
	a.VolumeMounts = []v1.VolumeMount{{Name: "data", MountPath: "/data"}}
	b.VolumeMounts = []v1.VolumeMount{{Name: "data", MountPath: "/data", ReadOnly: true}, {Name: "cache", MountPath: "/cache"}}
	p := podOn(node, name, a, b)
	p.Spec.Volumes = []v1.Volume{
		{Name: "data", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
		{Name: "cache", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("8Mi"))}}},
	}
	return p
}

// restarts sums the restart counts of a pod's containers.
func restarts(p *v1.Pod) int32 {
	var n int32
	for _, list := range [][]v1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			n += cs.RestartCount
		}
	}
	return n
}

// runningIDs maps each running container of the pod to its container ID.
func runningIDs(p *v1.Pod) map[string]string {
	ids := map[string]string{}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil && cs.ContainerID != "" {
			ids[cs.Name] = cs.ContainerID
		}
	}
	return ids
}

// listPods lists the namespace's pods by name.
func listPods(ctx context.Context, ns string) (map[string]*v1.Pod, error) {
	list, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]*v1.Pod, len(list.Items))
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// waitAll polls the namespace's pods until done accepts them or timeout
// passes, and returns the last list with how long it took.
func waitAll(ctx context.Context, ns string, timeout time.Duration, done func(map[string]*v1.Pod) bool) (map[string]*v1.Pod, time.Duration, error) {
	start := time.Now()
	var last map[string]*v1.Pod
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := listPods(ctx, ns)
		if err != nil {
			return false, nil
		}
		last = pods
		return done(pods), nil
	})
	return last, time.Since(start), err
}

// jitter is a random duration in [lo, hi).
func jitter(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rand.Int64N(int64(hi-lo)))
}

// seconds renders a duration as seconds with one decimal.
func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// containerChanges lists how pod p (named n) differs from when its running
// containers had the IDs in before: restarts counted, containers replaced.
func containerChanges(n string, p *v1.Pod, before map[string]string) []string {
	var out []string
	if r := restarts(p); r > 0 {
		out = append(out, fmt.Sprintf("%s restartCount %d", n, r))
	}
	now := runningIDs(p)
	for c, id := range before {
		if now[c] != id {
			out = append(out, fmt.Sprintf("%s/%s was %s, now %q", n, c, id, now[c]))
		}
	}
	return out
}
