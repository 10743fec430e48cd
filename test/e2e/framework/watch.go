package framework

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// PodWatch records every version of one pod the API server sends on a watch,
// with the local time each arrived, until the pod is deleted. Unlike polling,
// it sees every status the node wrote, including the last one before the
// object goes away. It is the suite's one way of waiting for a pod.
type PodWatch struct {
	name string

	mu       sync.Mutex
	versions []PodVersion
	gone     bool
}

// PodVersion is one version of a pod and when the watch received it.
type PodVersion struct {
	At  time.Time
	Pod *v1.Pod
}

// WatchPod starts recording created (as the API returned it on creation)
// from its resourceVersion on; it stops with the test.
func (e *Env) WatchPod(t testing.TB, created *v1.Pod) *PodWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return e.watchFrom(ctx, created.Namespace, created.Name, created)
}

// watchFrom records pod ns/name from current on (the pod as last read; nil
// when it was not found) until ctx ends.
func (e *Env) watchFrom(ctx context.Context, ns, name string, current *v1.Pod) *PodWatch {
	w := &PodWatch{name: name}
	rv := ""
	if current != nil {
		w.versions = []PodVersion{{At: time.Now(), Pod: current}}
		rv = current.ResourceVersion
	}
	go w.run(ctx, e, ns, rv)
	return w
}

func (w *PodWatch) run(ctx context.Context, e *Env, ns, rv string) {
	for ctx.Err() == nil {
		wi, err := e.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", w.name).String(),
			ResourceVersion: rv,
		})
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		for ev := range wi.ResultChan() {
			if ev.Type == watch.Error {
				rv = "" // too old: start again from the current object
				continue
			}
			p, ok := ev.Object.(*v1.Pod)
			if !ok {
				continue
			}
			rv = p.ResourceVersion
			w.mu.Lock()
			w.versions = append(w.versions, PodVersion{At: time.Now(), Pod: p})
			w.gone = ev.Type == watch.Deleted
			w.mu.Unlock()
			if ev.Type == watch.Deleted {
				wi.Stop()
				return
			}
		}
		wi.Stop()
	}
}

// All returns the versions seen so far, oldest first.
func (w *PodWatch) All() []PodVersion {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]PodVersion(nil), w.versions...)
}

// Latest returns the newest version seen; its Pod is nil while none was.
func (w *PodWatch) Latest() PodVersion {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.versions) == 0 {
		return PodVersion{}
	}
	return w.versions[len(w.versions)-1]
}

// lastStatus is the newest status seen, for failure messages.
func (w *PodWatch) lastStatus() string {
	if p := w.Latest().Pod; p != nil {
		return Dump(p.Status)
	}
	return "(the pod was never seen)"
}

// Wait returns the first version that arrived after since (any version when
// since is zero), seen before or after the call, for which cond holds. It
// fails once timeout has passed or the pod is deleted without one.
func (w *PodWatch) Wait(since time.Time, timeout time.Duration, what string, cond func(*v1.Pod) bool) (PodVersion, error) {
	deadline := time.Now().Add(timeout)
	next := 0
	for {
		w.mu.Lock()
		vs, gone := w.versions[next:], w.gone
		w.mu.Unlock()
		for _, v := range vs {
			next++
			if v.At.After(since) && cond(v.Pod) {
				return v, nil
			}
		}
		if gone || time.Now().After(deadline) {
			why := fmt.Sprintf("after %v", timeout)
			if gone {
				why = "before the pod was deleted"
			}
			return PodVersion{}, fmt.Errorf("pod %s never %s %s; last status:\n%s", w.name, what, why, w.lastStatus())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitFor is Wait over every version; it fails the test after timeout.
func (w *PodWatch) WaitFor(t testing.TB, timeout time.Duration, what string, cond func(*v1.Pod) bool) PodVersion {
	t.Helper()
	v, err := w.Wait(time.Time{}, timeout, what, cond)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// WaitForAfter is Wait over the versions that arrived after since; it fails
// the test after timeout.
func (w *PodWatch) WaitForAfter(t testing.TB, since time.Time, timeout time.Duration, what string, cond func(*v1.Pod) bool) PodVersion {
	t.Helper()
	v, err := w.Wait(since, timeout, what, cond)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitGone waits for the pod's deletion.
func (w *PodWatch) waitGone(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		w.mu.Lock()
		gone := w.gone
		w.mu.Unlock()
		if gone {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s still in the API after %v; last status:\n%s", w.name, timeout, w.lastStatus())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitGone waits for the pod's deletion; it fails the test after timeout.
func (w *PodWatch) WaitGone(t testing.TB, timeout time.Duration) {
	t.Helper()
	if err := w.waitGone(timeout); err != nil {
		t.Fatal(err)
	}
}

// LastWith returns the newest version for which cond holds, nil if none.
func (w *PodWatch) LastWith(cond func(*v1.Pod) bool) *v1.Pod {
	vs := w.All()
	for i := len(vs) - 1; i >= 0; i-- {
		if cond(vs[i].Pod) {
			return vs[i].Pod
		}
	}
	return nil
}

// LastTerminated is the container's last reported terminated state, nil
// if the pod never showed it terminated.
func (w *PodWatch) LastTerminated(container string) *v1.ContainerStateTerminated {
	p := w.LastWith(func(p *v1.Pod) bool {
		cs := StatusOf(p, container)
		return cs != nil && cs.State.Terminated != nil
	})
	if p == nil {
		return nil
	}
	return StatusOf(p, container).State.Terminated
}

// TerminatedWhenGone waits for the pod to leave the API and returns the
// container's last reported terminated state; the test fails without one.
func (w *PodWatch) TerminatedWhenGone(t testing.TB, timeout time.Duration, container string) *v1.ContainerStateTerminated {
	t.Helper()
	w.WaitGone(t, timeout)
	term := w.LastTerminated(container)
	if term == nil {
		t.Fatalf("%s was never reported terminated before the pod went away; last status:\n%s", container, w.lastStatus())
	}
	return term
}

// WaitForPod waits until pod ns/name, as it is now or becomes, satisfies
// cond, and returns that version. It watches the pod as WatchPod does.
func WaitForPod(ctx context.Context, env *Env, ns, name string, timeout time.Duration, what string, cond func(*v1.Pod) bool) (*v1.Pod, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, _, err := env.watchNow(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	v, err := w.Wait(time.Time{}, timeout, what, cond)
	return v.Pod, err
}

// WaitForPodGone waits until the pod object is deleted from the API.
func WaitForPodGone(ctx context.Context, env *Env, ns, name string, timeout time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, found, err := env.watchNow(ctx, ns, name)
	if err != nil || !found {
		return err
	}
	return w.waitGone(timeout)
}

// watchNow watches pod ns/name until ctx ends, from its current version
// (found) or, when it is not there, from its creation on.
func (e *Env) watchNow(ctx context.Context, ns, name string) (w *PodWatch, found bool, err error) {
	p, err := e.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		p = nil
	case err != nil:
		return nil, false, fmt.Errorf("get pod %s/%s: %w", ns, name, err)
	}
	return e.watchFrom(ctx, ns, name, p), p != nil, nil
}

// WaitContainerRunning waits (30 s at most) for a container to run and
// returns its startedAt.
func (w *PodWatch) WaitContainerRunning(t testing.TB, container string) time.Time {
	t.Helper()
	v := w.WaitFor(t, 30*time.Second, container+" running", func(p *v1.Pod) bool {
		cs := StatusOf(p, container)
		return cs != nil && cs.State.Running != nil
	})
	return StatusOf(v.Pod, container).State.Running.StartedAt.Time
}
