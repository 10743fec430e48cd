package translate

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
)

// FormatPod renders a pod the way the kubelet's messages do.
func FormatPod(pod *v1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
