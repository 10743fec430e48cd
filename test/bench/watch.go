package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// watchPods calls fn with every pod of ns the API reports from now on, and
// the time the event arrived, until stop is called.
func watchPods(ctx context.Context, env *framework.Env, ns string, fn func(time.Time, *v1.Pod)) (stop func(), err error) {
	podsAPI := env.Client.CoreV1().Pods(ns)
	list, err := podsAPI.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	rw, err := watchtools.NewRetryWatcherWithContext(wctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return podsAPI.Watch(ctx, opts)
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ev := range rw.ResultChan() {
			if p, ok := ev.Object.(*v1.Pod); ok && ev.Type != watch.Bookmark {
				fn(time.Now(), p)
			}
		}
	}()
	return func() {
		rw.Stop()
		cancel()
		wg.Wait()
		<-rw.Done()
	}, nil
}
