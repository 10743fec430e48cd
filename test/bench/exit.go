package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// measureExits creates exitSamples pods one after the other (restartPolicy
// Never), kills each pod's container once it runs, and times the exit from
// the engine's die event to the watch event whose status shows it.
func measureExits(ctx context.Context, env *framework.Env, ns, node, prefix string, exitSamples int) ([]time.Duration, error) {
	var mu sync.Mutex
	died := map[string]time.Time{}  // container ID → die event time
	shown := map[string]time.Time{} // container ID → watch event showing it terminated
	running := map[string]string{}  // pod name → running container ID
	stopWatch, err := watchPods(ctx, env, ns, func(now time.Time, p *v1.Pod) {
		mu.Lock()
		defer mu.Unlock()
		for _, cs := range p.Status.ContainerStatuses {
			id := strings.TrimPrefix(cs.ContainerID, "docker://")
			if cs.State.Running != nil {
				running[p.Name] = id
			}
			if t := cs.State.Terminated; t != nil {
				if _, ok := shown[id]; !ok && id != "" {
					shown[id] = now
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	defer stopWatch()
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, errs := env.Docker.Events(ectx, time.Now().Add(-time.Second), dockerhost.NodeSelector(node))
	go func() {
		for {
			select {
			case m := <-msgs:
				if m.Action == events.ActionDie {
					mu.Lock()
					died[m.Actor.ID] = time.Unix(0, m.TimeNano)
					mu.Unlock()
				}
			case <-errs:
				return
			case <-ectx.Done():
				return
			}
		}
	}()

	podsAPI := env.Client.CoreV1().Pods(ns)
	var out []time.Duration
	for i := range exitSamples {
		name := fmt.Sprintf("%s-%02d", prefix, i)
		spec := benchPodSpec(env, ns, name, node)
		spec.Spec.RestartPolicy = v1.RestartPolicyNever
		if _, err := podsAPI.Create(ctx, spec, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		var id string
		if err := poll(ctx, 60*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			id = running[name]
			return id != ""
		}); err != nil {
			return nil, fmt.Errorf("%s not running: %w", name, err)
		}
		if err := env.Docker.ContainerKill(ctx, id, "SIGKILL"); err != nil {
			return nil, fmt.Errorf("kill %s: %w", name, err)
		}
		var d time.Duration
		if err := poll(ctx, 30*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			t0, ok1 := died[id]
			t1, ok2 := shown[id]
			d = t1.Sub(t0)
			return ok1 && ok2
		}); err != nil {
			return nil, fmt.Errorf("exit of %s never reached the API: %w", name, err)
		}
		out = append(out, d)
		zero := int64(0)
		if err := podsAPI.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			return nil, fmt.Errorf("delete %s: %w", name, err)
		}
	}
	// The pods go before the next phase counts the engine's containers.
	return out, poll(ctx, 60*time.Second, func() bool {
		l, err := podsAPI.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, p := range l.Items {
			if strings.HasPrefix(p.Name, prefix+"-") {
				return false
			}
		}
		return true
	})
}

// poll checks cond every 10 ms until it holds, ctx ends or timeout passes.
func poll(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
