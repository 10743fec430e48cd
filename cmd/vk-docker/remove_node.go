package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// newRemoveNodeCommand takes a virtual node out of the cluster for good, as
// `kubectl drain` then `kubectl delete node` would: the Helm chart runs it
// before an uninstall, while the node still runs, so the node itself stops
// its pods' containers and removes their volumes. A restart or an upgrade
// never runs it: the pods of a restarted node keep running and are adopted.
func newRemoveNodeCommand(o *options) *cobra.Command {
	timeout := 2 * time.Minute
	cmd := &cobra.Command{
		Use:   "remove-node",
		Short: "Cordon the node (--nodename), delete the pods bound to it, wait for them to be gone, then delete the Node",
		RunE: func(cmd *cobra.Command, _ []string) error {
			restCfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
			if err != nil {
				return fmt.Errorf("load kubeconfig %q: %w", o.kubeconfig, err)
			}
			client, err := kubernetes.NewForConfig(restCfg)
			if err != nil {
				return fmt.Errorf("kubernetes client: %w", err)
			}
			ctx := log.WithLogger(cmd.Context(), log.G(cmd.Context()).WithField("node", o.nodeName))
			return removeNode(ctx, client, o.nodeName, timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", timeout, "how long to wait for the node's pods to be gone; after it the Node is deleted anyway and pods still on it are left to the pod garbage collector")
	return cmd
}

func removeNode(ctx context.Context, client kubernetes.Interface, name string, timeout time.Duration) error {
	nodes := client.CoreV1().Nodes()
	// Cordoned first, so that no new pod lands on it while it drains.
	_, err := nodes.Patch(ctx, name, types.StrategicMergePatchType, []byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		log.G(ctx).Info("Node already gone")
		return nil
	}
	if err != nil {
		return fmt.Errorf("cordon node %s: %w", name, err)
	}
	onNode := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", name).String()}
	pods, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, onNode)
	if err != nil {
		return fmt.Errorf("list the pods of node %s: %w", name, err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != name || p.DeletionTimestamp != nil {
			continue
		}
		err := client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		log.G(ctx).WithField("namespace", p.Namespace).WithField("pod", p.Name).Info("Deleted pod")
	}
	left := 0
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, onNode)
		if err != nil {
			return false, nil // the API server may blink; the timeout bounds the wait
		}
		left = 0
		for _, p := range pods.Items {
			if p.Spec.NodeName == name {
				left++
			}
		}
		return left == 0, nil
	})
	if err != nil {
		log.G(ctx).WithField("pods", left).WithField("timeout", timeout).Warn("Pods still on the node; deleting it anyway")
	}
	if err := nodes.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", name, err)
	}
	log.G(ctx).Info("Node removed")
	return nil
}
