package lifecycle

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	v1 "k8s.io/api/core/v1"
)

// pullPolicy is the effective imagePullPolicy with the API's defaulting.
func pullPolicy(c *v1.Container) v1.PullPolicy {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	return v1.PullIfNotPresent
}

// ensureImage makes the container's image present according to its pull
// policy, with the kubelet's events. It returns a waiting reason and message
// when the container cannot be created.
func (w *Worker) ensureImage(ctx context.Context, pod *v1.Pod, c *v1.Container, ref *v1.ObjectReference) (reason, message string, err error) {
	_, err = w.docker.ImageInspect(ctx, c.Image)
	present := err == nil
	if err != nil && !cerrdefs.IsNotFound(err) {
		return "", "", fmt.Errorf("inspect image %s: %w", c.Image, err)
	}
	policy := pullPolicy(c)
	if present && policy != v1.PullAlways {
		w.rt.Recorder.Eventf(ref, v1.EventTypeNormal, EventPulled, "Container image %q already present on machine and can be accessed by the pod", c.Image)
		return "", "", nil
	}
	if !present && policy == v1.PullNever {
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		w.rt.Recorder.Event(ref, v1.EventTypeWarning, EventErrImageNeverPull, msg)
		return ReasonErrImageNeverPull, msg, nil
	}
	w.rt.Recorder.Eventf(ref, v1.EventTypeNormal, EventPulling, "Pulling image %q", c.Image)
	start := w.rt.Clock.Now()
	if err := w.docker.ImagePull(ctx, c.Image, image.PullOptions{}); err != nil {
		msg := fmt.Sprintf("Failed to pull image %q: %v", c.Image, err)
		w.rt.Recorder.Event(ref, v1.EventTypeWarning, EventFailedPull, msg)
		w.rt.Recorder.Eventf(ref, v1.EventTypeWarning, EventFailedPull, "Error: %s", ReasonErrImagePull)
		return ReasonErrImagePull, msg, nil
	}
	w.rt.Recorder.Eventf(ref, v1.EventTypeNormal, EventPulled, "Successfully pulled image %q in %v", c.Image, w.rt.Clock.Since(start).Round(time.Millisecond))
	return "", "", nil
}
