package lifecycle

import (
	v1 "k8s.io/api/core/v1"
)

// EventUnsupported is the reason of the event that says what in a pod
// vk-docker does not do yet.
const EventUnsupported = "Unsupported"

// unsupported lists what the pod asks for that this node does not do or
// does not allow and that would change what the pod does if ignored: such a
// pod waits (Pending, with an event saying why) rather than run differently.
func (rt *Runtime) unsupported(pod *v1.Pod) []string {
	return rt.HostNamespaces.Forbidden(pod)
}
