package lifecycle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// createContainer creates a container under its deterministic name. When the
// name is taken by a container of this pod (an earlier create whose answer was
// lost) that container is used; anything else holding the name is removed and
// the create retried once.
func (w *Worker) createContainer(ctx context.Context, name dockerhost.ContainerName, cfg *container.Config, host *container.HostConfig) (string, error) {
	ctx, cancel := toCompletion(ctx)
	defer cancel()
	resp, err := w.rt.Docker.ContainerCreate(ctx, cfg, host, nil, name.String())
	if err == nil {
		return resp.ID, nil
	}
	if !cerrdefs.IsConflict(err) {
		return "", err
	}
	existing, ierr := w.rt.Docker.ContainerInspect(ctx, name.String())
	if ierr != nil {
		return "", fmt.Errorf("name %s is taken and cannot be inspected: %w (create: %v)", name, ierr, err)
	}
	if existing.Config != nil && dockerhost.IsManaged(existing.Config.Labels, w.rt.NodeName) && existing.Config.Labels[dockerhost.LabelPodUID] == name.UID {
		return existing.ID, nil
	}
	if err := w.rt.Docker.ContainerRemove(ctx, existing.ID); err != nil && !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("remove stale container %s: %w", name, err)
	}
	resp, err = w.rt.Docker.ContainerCreate(ctx, cfg, host, nil, name.String())
	if err != nil {
		return "", err
	}
	return resp.ID, nil
}

// createTimeout bounds an engine create that runs to completion.
const createTimeout = time.Minute

// toCompletion is the context of an engine call that creates something.
// The engine finishes a create whatever becomes of the request: one cut
// short by a deletion would make a container (and the volumes it mounts)
// after the pod's removal had looked for them, and nothing would remove
// them. So the create runs to its end, bounded by createTimeout, and the
// pass sees the interruption after it, with the container's ID known.
func toCompletion(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
}

// startContainer pulls, creates and starts one attempt of a container (app
// or init). A non-empty reason means the container must wait (and why); err
// is for failures of the engine conversation itself.
func (w *Worker) startContainer(ctx context.Context, pod *v1.Pod, s slot, sandbox *instance, attempt int) (reason, message string, err error) {
	ref := containerRef(pod, s.c.Name, s.kind())
	if reason, message, err := w.rt.imageManager().EnsureImage(ctx, pod, s.c, ref, w.images); err != nil || reason != "" {
		return reason, message, err
	}
	name := dockerhost.ContainerName{Container: s.c.Name, Pod: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID), Attempt: attempt}
	cfg, host := w.rt.ContainerConfig(pod, s.c, s.translate(), attempt, sandbox.id())
	env, command, args, err := w.rt.ResolveEnv(translate.EnvContext{Pod: pod, Container: s.c, PodIP: w.rt.sandboxIP(sandbox), HostIP: w.rt.HostIP})
	if err != nil {
		w.rt.Recorder.Eventf(ref, v1.EventTypeWarning, EventFailed, "Error: %v", err)
		return ReasonCreateContainerConfigError, err.Error(), nil
	}
	cfg.Env, cfg.Entrypoint, cfg.Cmd = env, command, args
	sub, err := w.subPathMounts(ctx, pod, translate.WithEnv(s.c, env), sandbox.id())
	if err != nil {
		w.rt.Recorder.Eventf(ref, v1.EventTypeWarning, EventFailed, "Error: %v", err)
		return ReasonCreateContainerConfigError, err.Error(), nil
	}
	host.Mounts = append(host.Mounts, sub...)
	if reason, message, err := w.rt.ApplySecurity(ctx, securityEngine{w.rt}, pod, s.c, cfg, host); err != nil || reason != "" {
		if reason != "" {
			w.rt.Recorder.Eventf(ref, v1.EventTypeWarning, EventFailed, "Error: %s", message)
		}
		return reason, message, err
	}
	if m, err := w.rt.messageMount(pod, s.c, name); err != nil {
		log.G(ctx).WithError(err).WithField("container", s.c.Name).Warn("Cannot prepare the termination message file")
	} else if m != nil {
		host.Mounts = append(host.Mounts, *m)
	}
	// The create and the start hold one start slot; the postStart hook
	// does not.
	release, err := w.startSlot(ctx)
	if err != nil {
		// Interrupted while queued (a deletion): still being created.
		return ReasonContainerCreating, "", nil
	}
	id, err := w.createContainer(ctx, name, cfg, host)
	if err != nil {
		release()
		if ctx.Err() != nil {
			return "", "", err // interrupted: not the container's fault
		}
		w.rt.Recorder.Eventf(ref, v1.EventTypeWarning, EventFailed, "Error: %v", err)
		return ReasonCreateContainerError, err.Error(), nil
	}
	if err := ctx.Err(); err != nil {
		release()
		return "", "", err // interrupted after the create: the next pass decides
	}
	w.rt.Recorder.Event(ref, v1.EventTypeNormal, EventCreated, "Container created")
	// A start the engine refuses leaves the container created and carrying
	// the error: it is reported as terminated, ContainerCannotRun, and
	// restarted per policy.
	w.startHeld(ctx, pod, s, id, sandbox, release)
	return "", "", nil
}

// startInstance starts a created instance of a container, with the
// kubelet's Started (or Failed) event, and runs its postStart hook: the
// container is reported Running only once the hook returned.
func (w *Worker) startInstance(ctx context.Context, pod *v1.Pod, s slot, id string, sandbox *instance) {
	release, err := w.startSlot(ctx)
	if err != nil {
		log.G(ctx).WithError(err).WithField("container", s.c.Name).Debug("Start interrupted")
		return
	}
	w.startHeld(ctx, pod, s, id, sandbox, release)
}

// startHeld is startInstance once a start slot is held; it gives the slot
// back as soon as the engine has answered the start.
func (w *Worker) startHeld(ctx context.Context, pod *v1.Pod, s slot, id string, sandbox *instance, release func()) {
	ref := containerRef(pod, s.c.Name, s.kind())
	err := w.rt.Docker.ContainerStart(ctx, id)
	release()
	if err != nil {
		log.G(ctx).WithError(err).WithField("container", s.c.Name).Warn("Cannot start container")
		// The kubelet's event carries the runtime's error, which names the
		// container it could not start.
		w.rt.Recorder.Eventf(ref, v1.EventTypeWarning, EventFailed, "Error: failed to start container %q: %v", s.c.Name, err)
		return
	}
	w.rt.Recorder.Event(ref, v1.EventTypeNormal, EventStarted, "Container started")
	w.runPostStart(ctx, pod, s, id, sandbox)
}

// pruneInstances removes the exited instances of a container older than the
// one just replaced, which stays for `kubectl logs --previous` and lastState
// (the kubelet's container GC keeps one dead container per container too).
func (w *Worker) pruneInstances(ctx context.Context, old []*instance) {
	for _, inst := range old {
		if err := w.rt.Docker.ContainerRemove(ctx, inst.id()); err != nil && !cerrdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).WithField("container", inst.name.String()).Warn("Cannot remove an old container instance")
		}
	}
}

// defaultTerminationMessagePath is the API's default terminationMessagePath.
const defaultTerminationMessagePath = "/dev/termination-log"

// messageMount creates the file that receives one container instance's
// termination message and returns its bind mount, or nil without MessageDir.
func (rt *Runtime) messageMount(pod *v1.Pod, c *v1.Container, name dockerhost.ContainerName) (*mount.Mount, error) {
	if rt.MessageDir == "" {
		return nil, nil
	}
	dir := filepath.Join(rt.MessageDir, string(pod.UID))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("termination message dir: %w", err)
	}
	file := filepath.Join(dir, name.String())
	f, err := os.OpenFile(file, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o666)
	if err != nil {
		return nil, fmt.Errorf("termination message file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("termination message file: %w", err)
	}
	// The container may run as any user: the file must be writable by it.
	if err := os.Chmod(file, 0o666); err != nil {
		return nil, fmt.Errorf("termination message file: %w", err)
	}
	target := c.TerminationMessagePath
	if target == "" {
		target = defaultTerminationMessagePath
	}
	return &mount.Mount{Type: mount.TypeBind, Source: file, Target: target}, nil
}

// removeMessageFiles deletes the pod's termination message files.
func (rt *Runtime) removeMessageFiles(uid string) error {
	if rt.MessageDir == "" || uid == "" {
		return nil
	}
	if err := os.RemoveAll(filepath.Join(rt.MessageDir, uid)); err != nil {
		return fmt.Errorf("remove termination message files: %w", err)
	}
	return nil
}
