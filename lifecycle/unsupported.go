package lifecycle

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
)

// Event reason for pod fields vk-docker does not implement yet.
const EventUnsupported = "Unsupported"

// unsupportedFields lists what the pod asks for that vk-docker cannot do yet.
// blocking ones would change what the pod does if ignored (init containers
// must run first), so the pod waits; the others are ignored with a warning,
// never silently.
func unsupportedFields(pod *v1.Pod) (blocking, ignored []string) {
	for _, c := range append(append([]v1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if c.Lifecycle != nil && (c.Lifecycle.PostStart != nil || c.Lifecycle.PreStop != nil) {
			ignored = append(ignored, fmt.Sprintf("lifecycle hooks of container %s are not supported by vk-docker yet and are ignored", c.Name))
		}
	}
	return blocking, ignored
}
