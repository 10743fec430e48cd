package framework

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"
)

// DefaultTaintToleration tolerates vk-docker's default node taint.
var DefaultTaintToleration = v1.Toleration{
	Key: "virtual-kubelet.io/provider", Operator: v1.TolerationOpEqual, Value: "docker", Effect: v1.TaintEffectNoSchedule,
}

// RandomSuffix makes names unique across parallel runs.
func RandomSuffix() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

// CreateNamespace creates a uniquely named namespace; the returned func
// force-deletes its pods and then the namespace.
func CreateNamespace(ctx context.Context, env *Env, prefix string) (string, func(context.Context) error, error) {
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: prefix + "-" + RandomSuffix()}}
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return "", nil, fmt.Errorf("create namespace: %w", err)
	}
	// Pods need the namespace's default ServiceAccount before they can be
	// created (the controller-manager makes it).
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := env.Client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("namespace %s has no default ServiceAccount: %w", ns.Name, err)
	}
	cleanup := func(ctx context.Context) error {
		zero := int64(0)
		if err := env.Client.CoreV1().Pods(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
			return fmt.Errorf("delete pods of %s: %w", ns.Name, err)
		}
		if err := env.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", ns.Name, err)
		}
		return nil
	}
	return ns.Name, cleanup, nil
}

// OnNode aims pod at node: a nodeSelector on its hostname label and a
// toleration of the default taint.
func OnNode(pod *v1.Pod, node string) *v1.Pod {
	if pod.Spec.NodeSelector == nil {
		pod.Spec.NodeSelector = map[string]string{}
	}
	pod.Spec.NodeSelector["kubernetes.io/hostname"] = node
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, DefaultTaintToleration)
	return pod
}

// PodFromYAML decodes one Pod manifest.
func PodFromYAML(manifest []byte) (*v1.Pod, error) {
	pod := &v1.Pod{}
	if err := yaml.UnmarshalStrict(manifest, pod); err != nil {
		return nil, fmt.Errorf("decode pod manifest: %w", err)
	}
	return pod, nil
}

// Running reports whether every container of the pod runs and is ready.
func Running(p *v1.Pod) bool {
	if p.Status.Phase != v1.PodRunning || p.Status.PodIP == "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// WithSharedDir mounts an emptyDir at /data in every container of p.
func WithSharedDir(p *v1.Pod) {
	p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: "data", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}})
	mount := []v1.VolumeMount{{Name: "data", MountPath: "/data"}}
	for i := range p.Spec.InitContainers {
		p.Spec.InitContainers[i].VolumeMounts = mount
	}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].VolumeMounts = mount
	}
}
