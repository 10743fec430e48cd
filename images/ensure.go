package images

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	v1 "k8s.io/api/core/v1"
)

// pullPolicy is the effective imagePullPolicy with the API's defaulting
// (SetDefaults_Container): Always for the tag latest, written or implied,
// otherwise IfNotPresent. The API server defaults it before the pod gets
// here; this covers pods built elsewhere.
func pullPolicy(c *v1.Container) v1.PullPolicy {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	if _, tag, _, err := parseImage(c.Image); err == nil && tag == "latest" {
		return v1.PullAlways
	}
	return v1.PullIfNotPresent
}

// parseImage splits an image reference like the kubelet's ParseImageName:
// the normalised repository, the tag (latest when neither tag nor digest is
// given) and the digest.
func parseImage(img string) (repo, tag, digest string, err error) {
	named, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		return "", "", "", fmt.Errorf("couldn't parse image name %q: %v", img, err)
	}
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		digest = d.Digest().String()
	}
	if tag == "" && digest == "" {
		tag = "latest"
	}
	return named.Name(), tag, digest, nil
}

// withDefaultTag adds ":latest" to a reference with neither tag nor digest,
// without qualifying its name (busybox stays busybox), as the kubelet does.
func withDefaultTag(img string) (string, error) {
	_, tag, digest, err := parseImage(img)
	if err != nil {
		return "", err
	}
	if digest == "" && tag != "" && !strings.HasSuffix(img, ":"+tag) {
		img += ":" + tag
	}
	return img, nil
}

// EnsureImage makes the container's image present according to its pull
// policy, with the kubelet's events (image manager and runtime manager). It
// returns a waiting reason and message when the container cannot be created.
// The events of a container held for the same reason pass after pass are
// recorded once.
func (m *Manager) EnsureImage(ctx context.Context, pod *v1.Pod, c *v1.Container, ref *v1.ObjectReference, st *PodState) (reason, message string, err error) {
	reason, message, ev := m.ensureImageReason(ctx, pod, c, ref, st)
	if reason != "" && ctx.Err() != nil {
		// Cut short by the pod's deletion (or a restart of it): no failure
		// to report, and no back-off to start.
		return "", "", fmt.Errorf("image %q: %w", c.Image, ctx.Err())
	}
	if reason == "" {
		delete(st.reported, ref.FieldPath)
		return "", "", nil
	}
	if st.firstReport(ref.FieldPath, reason, message) {
		if ev != nil {
			m.cfg.Recorder.Event(ref, ev.eventType, ev.reason, ev.message)
		}
		// The runtime manager's event for every image failure.
		m.cfg.Recorder.Eventf(ref, v1.EventTypeWarning, EventFailed, "Error: %s", reason)
	}
	return reason, message, nil
}

// imageEvent is an event of a waiting reason, recorded when the reason is new.
type imageEvent struct{ eventType, reason, message string }

// ensureImageReason is the kubelet's EnsureImageExists: the waiting reason
// and message when the image is not there, and the image manager's event
// for it.
func (m *Manager) ensureImageReason(ctx context.Context, pod *v1.Pod, c *v1.Container, ref *v1.ObjectReference, st *PodState) (reason, message string, ev *imageEvent) {
	requested := c.Image
	// The kubelet reads the pull secrets, and warns about missing ones, on
	// every start whether or not it pulls.
	secrets := m.podPullSecrets(ctx, pod, st)
	img, err := withDefaultTag(requested)
	if err != nil {
		msg := fmt.Sprintf("Failed to apply default image tag %q: %v", requested, err)
		return ReasonInvalidImageName, msg, &imageEvent{v1.EventTypeWarning, EventInspectFailed, msg}
	}
	policy := pullPolicy(c)
	if policy != v1.PullAlways {
		present, err := m.cfg.Docker.ImageInspect(ctx, img)
		switch {
		case err == nil && m.pulls.accessible(present.ID, podCredentials(secrets, img)):
			m.cfg.Recorder.Eventf(ref, v1.EventTypeNormal, EventPulled, "Container image %q already present on machine and can be accessed by the pod", requested)
			return "", "", nil
		case err != nil && !cerrdefs.IsNotFound(err):
			msg := fmt.Sprintf("Failed to inspect image %q: %v", img, err)
			return ReasonImageInspectError, msg, &imageEvent{v1.EventTypeWarning, EventInspectFailed, msg}
		case policy == v1.PullNever:
			// Missing, or pulled with credentials this pod does not hold:
			// the kubelet does not reveal which.
			msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", requested)
			return ReasonErrImageNeverPull, msg, &imageEvent{v1.EventTypeWarning, EventErrImageNeverPull, msg}
		}
	}
	return m.pull(ctx, st, secrets, requested, img, ref)
}

// pull pulls img (requested, with the default tag) with the pod's pull
// secrets, unless a failed pull of it is in its back-off.
func (m *Manager) pull(ctx context.Context, st *PodState, secrets []*v1.Secret, requested, img string, ref *v1.ObjectReference) (reason, message string, ev *imageEvent) {
	now := m.cfg.Clock.Now()
	if st.backOff.IsInBackOffSinceUpdate(requested, now) {
		msg := fmt.Sprintf("Back-off pulling image %q", requested)
		status := msg
		if prev, ok := st.lastErr[requested]; ok {
			status = fmt.Sprintf("%s: %s", msg, prev)
		}
		return ReasonImagePullBackOff, status, &imageEvent{v1.EventTypeNormal, EventBackOffPullingImage, msg}
	}
	delete(st.lastErr, requested)
	creds, err := pullCredentials(secrets, img)
	if err != nil {
		return ReasonErrImagePull, err.Error(), nil
	}
	m.cfg.Recorder.Eventf(ref, v1.EventTypeNormal, EventPulling, "Pulling image %q", requested)
	res, err := m.pullImage(ctx, img, creds)
	if err != nil && ctx.Err() != nil {
		return ReasonErrImagePull, err.Error(), nil // interrupted: see EnsureImage
	}
	if err != nil {
		m.cfg.Recorder.Eventf(ref, v1.EventTypeWarning, EventFailedPull, "Failed to pull image %q: %v", requested, err)
		st.backOff.Next(requested, m.cfg.Clock.Now())
		st.lastErr[requested] = fmt.Sprintf("%s: %s", ReasonErrImagePull, err)
		return ReasonErrImagePull, err.Error(), nil
	}
	m.cfg.Recorder.Eventf(ref, v1.EventTypeNormal, EventPulled, "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.",
		requested, res.duration.Truncate(time.Millisecond), m.cfg.Clock.Since(now).Truncate(time.Millisecond), res.size)
	st.backOff.GC()
	return "", "", nil
}

// podPullSecrets reads the pod's pull secrets, warning (once per set of
// names) about those that cannot be read: the pull is still attempted
// without them, as the kubelet does.
func (m *Manager) podPullSecrets(ctx context.Context, pod *v1.Pod, st *PodState) []*v1.Secret {
	secrets, missing := m.pullSecrets(ctx, pod)
	sort.Strings(missing)
	if names := strings.Join(missing, ", "); names != st.missingSeen {
		st.missingSeen = names
		if names != "" {
			m.cfg.Recorder.Eventf(pod, v1.EventTypeWarning, EventFailedToRetrieveImagePullSecret,
				"Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.", names)
			log.G(ctx).WithField("secrets", names).Warn("Unable to retrieve some image pull secrets")
		}
	}
	return secrets
}

// podCredentials is pullCredentials for a decision that a secret which
// does not parse cannot change: such a secret gives no credentials.
func podCredentials(secrets []*v1.Secret, img string) []pullCredential {
	creds, _ := pullCredentials(secrets, img)
	return creds
}

// pullCredentials returns the credentials of secrets that match img.
func pullCredentials(secrets []*v1.Secret, img string) ([]pullCredential, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	kr, err := keyringFromSecrets(secrets)
	if err != nil {
		return nil, err
	}
	repo, _, _, err := parseImage(img)
	if err != nil {
		return nil, err
	}
	return kr.lookup(repo), nil
}
