package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// restartResults: the node SIGKILLed with every pod running, the pods'
// statuses made wrong in the API while it is down, and the node started
// again.
type restartResults struct {
	ready   time.Duration // process start -> node Ready again
	correct time.Duration // process start -> every pod Running and Ready again (watch)
	// restarts is the pods' summed restartCount afterwards; replaced counts
	// containers whose ID changed.
	restarts, replaced int
}

// measureRestart kills the node, marks every pod's Ready condition False
// through the status subresource (what a stale node would leave), restarts
// the node and times until the watch shows every pod Running and Ready again.
func measureRestart(ctx context.Context, env *framework.Env, ns string, node *framework.Node, pr *podResults, o options) (*restartResults, error) {
	idsBefore, err := containerIDs(ctx, env, node.Name)
	if err != nil {
		return nil, err
	}
	node.Kill()
	podsAPI := env.Client.CoreV1().Pods(ns)
	errs := forEach(ctx, pr.pods, 10, func(ctx context.Context, bp *benchPod) error {
		p, err := podsAPI.Get(ctx, bp.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for i := range p.Status.Conditions {
			if c := &p.Status.Conditions[i]; c.Type == v1.PodReady || c.Type == v1.ContainersReady {
				c.Status, c.Reason = v1.ConditionFalse, "BenchStale"
			}
		}
		_, err = podsAPI.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
	if err := joinErrors(errs); err != nil {
		return nil, fmt.Errorf("mark statuses stale: %w", err)
	}

	var mu sync.Mutex
	stale := map[string]bool{}
	for _, bp := range pr.pods {
		stale[bp.name] = true
	}
	allCorrect := make(chan time.Time, 1)
	stop, err := watchPods(ctx, env, ns, func(now time.Time, p *v1.Pod) {
		mu.Lock()
		defer mu.Unlock()
		if !stale[p.Name] || !framework.Running(p) {
			return
		}
		delete(stale, p.Name)
		if len(stale) == 0 {
			allCorrect <- now
		}
	})
	if err != nil {
		return nil, err
	}
	defer stop()

	start := time.Now()
	if err := node.Start(ctx); err != nil {
		return nil, err
	}
	res := &restartResults{ready: time.Since(start)}
	select {
	case t := <-allCorrect:
		res.correct = t.Sub(start)
	case <-time.After(o.timeout):
		mu.Lock()
		defer mu.Unlock()
		return nil, fmt.Errorf("%d pods still not Running and Ready %v after the restart", len(stale), o.timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	list, err := podsAPI.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, p := range list.Items {
		for _, cs := range p.Status.ContainerStatuses {
			res.restarts += int(cs.RestartCount)
		}
	}
	idsAfter, err := containerIDs(ctx, env, node.Name)
	if err != nil {
		return nil, err
	}
	for id := range idsBefore {
		if !idsAfter[id] {
			res.replaced++
		}
	}
	return res, nil
}

// containerIDs are the IDs of the node's containers on the engine.
func containerIDs(ctx context.Context, env *framework.Env, node string) (map[string]bool, error) {
	cs, err := env.Docker.ContainerList(ctx, dockerhost.NodeSelector(node))
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	ids := map[string]bool{}
	for _, c := range cs {
		ids[c.ID] = true
	}
	return ids, nil
}
