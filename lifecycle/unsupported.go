package lifecycle

import (
	v1 "k8s.io/api/core/v1"
)

// EventUnsupported is the reason of the event that says what in a pod
// vk-docker does not do yet.
const EventUnsupported = "Unsupported"

// unsupported lists what the pod asks for that vk-docker cannot honour yet
// and that would change what the pod does if ignored: such a pod waits
// (Pending, with an event saying why) rather than run differently.
func unsupported(pod *v1.Pod) []string {
	var why []string
	if pod.Spec.HostNetwork {
		why = append(why, "hostNetwork is not supported by vk-docker yet")
	}
	if pod.Spec.HostPID {
		why = append(why, "hostPID is not supported by vk-docker yet")
	}
	if pod.Spec.HostIPC {
		why = append(why, "hostIPC is not supported by vk-docker yet")
	}
	return why
}
