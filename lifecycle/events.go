package lifecycle

import (
	"fmt"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/images"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// Event reasons, with the kubelet's names (pkg/kubelet/events).
const (
	EventPulling           = images.EventPulling
	EventPulled            = images.EventPulled
	EventFailedPull        = images.EventFailedPull
	EventErrImageNeverPull = images.EventErrImageNeverPull
	EventCreated           = "Created"
	EventStarted           = "Started"
	EventFailed            = "Failed"
	EventKilling           = "Killing"
	EventFailedMount       = "FailedMount"
	EventSandboxChanged    = "SandboxChanged"
	EventFailedSandbox     = "FailedCreatePodSandBox"
)

// Waiting reasons, as the kubelet reports them.
const (
	ReasonContainerCreating          = "ContainerCreating"
	ReasonErrImageNeverPull          = images.ReasonErrImageNeverPull
	ReasonErrImagePull               = images.ReasonErrImagePull
	ReasonCreateContainerError       = translate.ReasonCreateContainerError
	ReasonCreateContainerConfigError = translate.ReasonCreateContainerConfigError
	ReasonContainerCannotRun         = "ContainerCannotRun"
	ReasonCompleted                  = "Completed"
	ReasonError                      = "Error"
	ReasonOOMKilled                  = "OOMKilled"
)

// The image manager's reasons and events, as lifecycle reports them.
const (
	ReasonImagePullBackOff               = images.ReasonImagePullBackOff
	ReasonInvalidImageName               = images.ReasonInvalidImageName
	ReasonImageInspectError              = images.ReasonImageInspectError
	EventInspectFailed                   = images.EventInspectFailed
	EventBackOffPullingImage             = images.EventBackOffPullingImage
	EventFailedToRetrieveImagePullSecret = images.EventFailedToRetrieveImagePullSecret
)

// ReasonSysctlForbidden is the kubelet's reason for rejecting a pod that
// sets a sysctl outside the node's allowlist.
const ReasonSysctlForbidden = "SysctlForbidden"

// containerRef is the object reference the kubelet attaches container events
// to, so that `kubectl describe pod` shows which container an event is about.
// kind is the container's LabelContainerKind value.
func containerRef(pod *v1.Pod, name string, kind string) *v1.ObjectReference {
	field := fmt.Sprintf("spec.containers{%s}", name)
	switch kind {
	case dockerhost.KindInit:
		field = fmt.Sprintf("spec.initContainers{%s}", name)
	case dockerhost.KindEphemeral:
		field = fmt.Sprintf("spec.ephemeralContainers{%s}", name)
	}
	return &v1.ObjectReference{
		Kind:            "Pod",
		APIVersion:      "v1",
		Namespace:       pod.Namespace,
		Name:            pod.Name,
		UID:             pod.UID,
		ResourceVersion: pod.ResourceVersion,
		FieldPath:       field,
	}
}
