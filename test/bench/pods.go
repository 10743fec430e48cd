package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// benchPod is what the pod phase learns about one pod.
type benchPod struct {
	index     int
	name      string
	uid       types.UID
	created   time.Time // the create call was made
	scheduled time.Time // the watch first showed spec.nodeName
	running   time.Time // the watch first showed Running with Ready=True
	last      *v1.Pod   // last state the watch delivered
}

// podResults are the pod phase's samples.
type podResults struct {
	pods      []*benchPod
	scheduled []time.Duration // create -> scheduled
	running   []time.Duration // create -> Running and Ready
	wall      time.Duration   // first create -> last pod Running
}

func benchPodSpec(env *framework.Env, ns, name, node string) *v1.Pod {
	grace := int64(1)
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "vk-docker-bench"}},
		Spec: v1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []v1.Container{{
				Name:            "sleep",
				Image:           env.BusyboxImage(),
				Command:         []string{"sleep", "3600"},
				ImagePullPolicy: v1.PullIfNotPresent,
			}},
		},
	}
	return framework.OnNode(pod, node)
}

// runPods creates o.pods pods at once (o.concurrency create calls in flight)
// and times each from its create call to the watch event that shows it
// Running and Ready.
func runPods(ctx context.Context, env *framework.Env, ns, node string, o options) (*podResults, error) {
	podsAPI := env.Client.CoreV1().Pods(ns)
	pods := make([]*benchPod, o.pods)
	byName := make(map[string]*benchPod, o.pods)
	for i := range pods {
		pods[i] = &benchPod{index: i, name: fmt.Sprintf("bench-%03d", i)}
		byName[pods[i].name] = pods[i]
	}

	// One watch, started before the first create, from the namespace's
	// current resource version. RetryWatcher only re-opens it if the server
	// closes it; it never relists.
	list, err := podsAPI.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	wctx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	rw, err := watchtools.NewRetryWatcherWithContext(wctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return podsAPI.Watch(ctx, opts)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}

	var mu sync.Mutex // guards the benchPods
	allRunning := make(chan struct{})
	watchErr := make(chan error, 1)
	var watchDone sync.WaitGroup
	watchDone.Add(1)
	go func() {
		defer watchDone.Done()
		nRunning := 0
		for ev := range rw.ResultChan() {
			now := time.Now()
			switch ev.Type {
			case watch.Bookmark, watch.Deleted:
				continue
			case watch.Error:
				select {
				case watchErr <- fmt.Errorf("watch: %v", apierrors.FromObject(ev.Object)):
				default:
				}
				return
			}
			p, ok := ev.Object.(*v1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			bp := byName[p.Name]
			if bp == nil {
				mu.Unlock()
				continue
			}
			bp.last = p
			if bp.scheduled.IsZero() && p.Spec.NodeName != "" {
				bp.scheduled = now
			}
			if bp.running.IsZero() && framework.Running(p) {
				bp.running = now
				nRunning++
				if nRunning == len(pods) {
					close(allRunning)
				}
			}
			mu.Unlock()
			if p.Status.Phase == v1.PodFailed || p.Status.Phase == v1.PodSucceeded {
				select {
				case watchErr <- fmt.Errorf("pod %s ended in phase %s: %s", p.Name, p.Status.Phase, podState(p)):
				default:
				}
				return
			}
		}
	}()
	defer func() {
		rw.Stop()
		watchDone.Wait()
		<-rw.Done()
	}()

	// Creates, o.concurrency at a time.
	start := time.Now()
	createErrs := forEach(ctx, pods, o.concurrency, func(ctx context.Context, bp *benchPod) error {
		spec := benchPodSpec(env, ns, bp.name, node)
		if o.mode == "probes" {
			spec = probePodSpec(env, ns, bp.name, node, bp.index, o.probeKinds)
		}
		if node == o.kubeletNode {
			// Whatever taint keeps other pods off the reference node.
			spec.Spec.Tolerations = append(spec.Spec.Tolerations, v1.Toleration{Operator: v1.TolerationOpExists})
		}
		t := time.Now()
		mu.Lock()
		bp.created = t
		mu.Unlock()
		got, err := podsAPI.Create(ctx, spec, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create pod %s: %w", bp.name, err)
		}
		mu.Lock()
		bp.uid = got.UID
		mu.Unlock()
		return nil
	})
	if err := joinErrors(createErrs); err != nil {
		return nil, err
	}

	timer := time.NewTimer(o.timeout)
	defer timer.Stop()
	select {
	case <-allRunning:
	case err := <-watchErr:
		return nil, err
	case <-timer.C:
		mu.Lock()
		defer mu.Unlock()
		return nil, fmt.Errorf("not every pod is Running and Ready %v after the creates:\n%s", o.timeout, pendingPods(pods))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	end := time.Now()

	mu.Lock()
	defer mu.Unlock()
	res := &podResults{pods: pods, wall: end.Sub(start)}
	for _, bp := range pods {
		res.running = append(res.running, bp.running.Sub(bp.created))
		if !bp.scheduled.IsZero() {
			res.scheduled = append(res.scheduled, bp.scheduled.Sub(bp.created))
		}
	}
	return res, nil
}

// pendingPods describes the pods that are not Running yet.
func pendingPods(pods []*benchPod) string {
	var b strings.Builder
	n := 0
	for _, bp := range pods {
		if !bp.running.IsZero() {
			continue
		}
		n++
		if n > 10 {
			continue
		}
		if bp.last == nil {
			fmt.Fprintf(&b, "  %s: never seen by the watch\n", bp.name)
			continue
		}
		fmt.Fprintf(&b, "  %s: %s\n", bp.name, podState(bp.last))
	}
	if n > 10 {
		fmt.Fprintf(&b, "  ... and %d more\n", n-10)
	}
	fmt.Fprintf(&b, "  (%d of %d pods not Running)", n, len(pods))
	return b.String()
}

// podState is a one-line summary of a pod's status.
func podState(p *v1.Pod) string {
	parts := []string{"phase=" + string(p.Status.Phase)}
	if p.Spec.NodeName == "" {
		parts = append(parts, "unscheduled")
	}
	if p.Status.PodIP == "" {
		parts = append(parts, "no podIP")
	}
	for _, c := range p.Status.Conditions {
		if c.Status != v1.ConditionTrue {
			parts = append(parts, fmt.Sprintf("%s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message))
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil:
			parts = append(parts, fmt.Sprintf("%s waiting %s: %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message))
		case cs.State.Terminated != nil:
			parts = append(parts, fmt.Sprintf("%s terminated %s exit %d", cs.Name, cs.State.Terminated.Reason, cs.State.Terminated.ExitCode))
		}
	}
	return strings.Join(parts, ", ")
}

// deleteResults are the delete phase's samples.
type deleteResults struct {
	gone []time.Duration // delete call -> no container of the pod on the engine
	wall time.Duration   // first delete call -> last pod gone
	// polls is how many ContainerList calls it took; pollP50 their latency.
	polls   int
	pollP50 time.Duration
}

// deletePollInterval is how often the engine is asked what is left.
const deletePollInterval = 20 * time.Millisecond

// deletePods deletes every pod with grace period 0 at once and times each
// from its delete call until the engine holds no container of it.
func deletePods(ctx context.Context, env *framework.Env, ns, node string, pr *podResults, o options) (*deleteResults, error) {
	podsAPI := env.Client.CoreV1().Pods(ns)
	pods := pr.pods
	n := len(pods)
	var mu sync.Mutex // guards started
	started := make([]time.Time, n)
	gone := make([]time.Time, n)
	index := make(map[string]int, n)
	for i, bp := range pods {
		if bp.uid == "" {
			return nil, fmt.Errorf("pod %s has no UID", bp.name)
		}
		index[string(bp.uid)] = i
	}

	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	start := time.Now()
	// The deletes go on while the engine is polled.
	deletesDone := make(chan []error, 1)
	go func() {
		deletesDone <- forEach(dctx, pods, o.concurrency, func(ctx context.Context, bp *benchPod) error {
			zero := int64(0)
			uid := bp.uid
			mu.Lock()
			started[index[string(uid)]] = time.Now()
			mu.Unlock()
			err := podsAPI.Delete(ctx, bp.name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil {
				return fmt.Errorf("delete pod %s: %w", bp.name, err)
			}
			return nil
		})
	}()

	// Poll the engine until no pod of ours has a container left.
	res := &deleteResults{}
	var pollTimes []time.Duration
	remaining := n
	ticker := time.NewTicker(deletePollInterval)
	defer ticker.Stop()
	var pollErr error
	for remaining > 0 {
		t0 := time.Now()
		cs, err := env.Docker.ContainerList(dctx, dockerhost.NodeSelector(node))
		now := time.Now()
		if err != nil {
			pollErr = fmt.Errorf("list containers: %w", err)
			break
		}
		res.polls++
		pollTimes = append(pollTimes, now.Sub(t0))
		present := make(map[int]bool)
		for _, c := range cs {
			if i, ok := index[c.Labels[dockerhost.LabelPodUID]]; ok {
				present[i] = true
			}
		}
		mu.Lock()
		for i := range pods {
			if gone[i].IsZero() && !started[i].IsZero() && !present[i] {
				gone[i] = now
				remaining--
			}
		}
		mu.Unlock()
		if remaining == 0 {
			break
		}
		select {
		case <-ticker.C:
		case <-dctx.Done():
		}
		if dctx.Err() != nil {
			pollErr = dctx.Err()
			break
		}
	}
	end := time.Now()
	if err := joinErrors(<-deletesDone); err != nil {
		return nil, err
	}
	if remaining > 0 {
		var left []string
		for i, bp := range pods {
			if gone[i].IsZero() {
				left = append(left, bp.name)
			}
		}
		sort.Strings(left)
		why := fmt.Sprintf("%v after the deletes", o.timeout)
		if ctx.Err() != nil || !errors.Is(pollErr, context.DeadlineExceeded) {
			why = fmt.Sprintf("when polling stopped: %v", pollErr)
		}
		return nil, fmt.Errorf("containers of %d pods still on the engine %s: %s", remaining, why, strings.Join(left, " "))
	}
	res.wall = end.Sub(start)
	for i := range pods {
		res.gone = append(res.gone, gone[i].Sub(started[i]))
	}
	res.pollP50 = percentile(pollTimes, 50)
	return res, nil
}
