package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// runOnKubelet runs the pod phase again on o.kubeletNode, a node run by a
// real kubelet on this machine (README, "Against a real kubelet"): the same
// pods, created the same way and timed by the same watch, in a namespace of
// their own. Its pods are deleted, and gone from the API, before it
// returns, so that the baseline after it runs on a machine as quiet as
// before.
func runOnKubelet(ctx context.Context, env *framework.Env, o options) (res *podResults, err error) {
	node, err := env.Client.CoreV1().Nodes().Get(ctx, o.kubeletNode, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubelet node: %w", err)
	}
	if !nodeReady(node) {
		return nil, fmt.Errorf("kubelet node %s is not Ready", o.kubeletNode)
	}
	ns, cleanup, err := framework.CreateNamespace(ctx, env, "bench-kubelet")
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		cerr := cleanup(cctx) // deletes the pods with grace 0
		if cerr == nil {
			cerr = waitNoPods(cctx, env, ns)
		}
		if cerr != nil {
			res, err = nil, errors.Join(err, fmt.Errorf("kubelet node's pods: %w", cerr))
		}
	}()
	ko := o
	ko.mode = "pods"
	return runPods(ctx, env, ns, o.kubeletNode, ko)
}

// waitNoPods waits until namespace ns holds no pod.
func waitNoPods(ctx context.Context, env *framework.Env, ns string) error {
	return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		list, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, fmt.Errorf("list pods of %s: %w", ns, err)
		}
		return len(list.Items) == 0, nil
	})
}

func nodeReady(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}
