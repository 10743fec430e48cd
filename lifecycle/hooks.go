package lifecycle

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/probes"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// Event reasons of lifecycle hooks, as the kubelet's.
const (
	EventFailedPostStartHook = "FailedPostStartHook"
	EventFailedPreStopHook   = "FailedPreStopHook"
)

// hookClient sends httpGet hooks; like the kubelet's it does not verify
// certificates, and any response counts as success.
var hookClient = &http.Client{
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true, DialContext: probes.Dial},
}

// runHook runs one lifecycle handler for a container instance and returns
// the kubelet's failure message with the error.
func (w *Worker) runHook(ctx context.Context, pod *v1.Pod, c *v1.Container, containerID, podIP, sandboxID string, h *v1.LifecycleHandler) (string, error) {
	switch {
	case h.Exec != nil:
		res, out, err := probes.ProbeExec(ctx, w.rt.Docker, containerID, h.Exec.Command, 0)
		if err == nil && res != probes.Success {
			err = fmt.Errorf("command %q exited non-zero", h.Exec.Command)
		}
		if err != nil {
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q",
				h.Exec.Command, c.Name, translate.FormatPod(pod), err, out), err
		}
	case h.HTTPGet != nil:
		if err := httpHook(w.netContext(ctx, sandboxID), h.HTTPGet, podIP, c); err != nil {
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v",
				h.HTTPGet.Path, c.Name, translate.FormatPod(pod), err), err
		}
	case h.Sleep != nil:
		t := w.rt.Clock.NewTimer(time.Duration(h.Sleep.Seconds) * time.Second)
		defer t.Stop()
		select {
		case <-t.C():
		case <-ctx.Done():
			err := fmt.Errorf("container terminated before sleep hook finished")
			return fmt.Sprintf("Sleep lifecycle hook (%d) for Container %q in Pod %q failed - error: %v",
				h.Sleep.Seconds, c.Name, translate.FormatPod(pod), err), err
		}
	default:
		err := fmt.Errorf("invalid handler: %v", h)
		return fmt.Sprintf("Cannot run handler: %v", err), err
	}
	return "", nil
}

func httpHook(ctx context.Context, a *v1.HTTPGetAction, podIP string, c *v1.Container) error {
	r, err := probes.NewHTTPRequest(a, podIP, c)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL().String(), nil)
	if err != nil {
		return err
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if host := r.Header.Get("Host"); host != "" {
		req.Host = host
	}
	resp, err := hookClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	return nil
}

// runPostStart runs a freshly started instance's postStart hook; the worker
// waits for it, so the container is reported Running only afterwards. A
// failure is recorded, and the instance is killed like one whose liveness
// probe failed (it comes back per restart policy). A hook cut short by the
// pod's deletion is not a failure: the pod is going anyway.
func (w *Worker) runPostStart(ctx context.Context, pod *v1.Pod, s slot, containerID string, sandbox *instance) {
	c := s.c
	if c.Lifecycle == nil || c.Lifecycle.PostStart == nil {
		return
	}
	msg, err := w.runHook(ctx, pod, c, containerID, w.rt.sandboxIP(sandbox), sandbox.id(), c.Lifecycle.PostStart)
	if err == nil || ctx.Err() != nil {
		return
	}
	log.G(ctx).WithError(err).WithFields(log.Fields{"container": c.Name, "message": msg}).Warn("postStart hook failed")
	// Like the kubelet, the event does not carry the hook's output, which
	// may hold secrets.
	w.rt.Recorder.Event(containerRef(pod, c.Name, s.kind()), v1.EventTypeWarning, EventFailedPostStartHook, "PostStartHook failed")
	w.mem.record(containerID).postStartFailed = true
}

// preStopRun is the preStop hook of one instance being stopped.
type preStopRun struct {
	done   chan struct{} // closed once the hook has returned, at once without one
	cancel context.CancelFunc
}

func (r *preStopRun) finished() bool {
	if r == nil {
		return true
	}
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// startPreStop starts an instance's preStop hook, when it has one and the
// grace period is not over, in a goroutine of the worker's that ends by the
// deadline (or when cancelled) and wakes the worker when done.
func (w *Worker) startPreStop(ctx context.Context, pod *v1.Pod, inst *instance, deadline time.Time, graceOver bool) *preStopRun {
	hctx, cancel := context.WithDeadline(ctx, deadline)
	run := &preStopRun{done: make(chan struct{}), cancel: cancel}
	c := specContainer(pod, inst.name.Container)
	if graceOver || c == nil || c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		cancel()
		close(run.done)
		return run
	}
	kind := inst.label(dockerhost.LabelContainerKind)
	podIP, sandboxID := w.mem.podIP, w.mem.sandboxID // the goroutine must not read the worker's memory
	w.hooks.Add(1)
	go func() {
		defer w.hooks.Done()
		defer w.Wake()
		defer close(run.done)
		msg, err := w.runHook(hctx, pod, c, inst.id(), podIP, sandboxID, c.Lifecycle.PreStop)
		if err == nil || hctx.Err() != nil {
			// A hook cut off at the end of the grace period is not
			// reported: the kubelet stops waiting for it then.
			return
		}
		log.G(ctx).WithError(err).WithFields(log.Fields{"container": c.Name, "message": msg}).Warn("preStop hook failed")
		// Like the kubelet, the event does not carry the hook's output,
		// which may hold secrets.
		w.rt.Recorder.Event(containerRef(pod, c.Name, kind), v1.EventTypeWarning, EventFailedPreStopHook, "PreStopHook failed")
	}()
	return run
}

// endHooks abandons the preStop hooks still running and waits for their
// goroutines.
func (w *Worker) endHooks() {
	for _, r := range w.mem.instances {
		if r.stop != nil && r.stop.preStop != nil {
			r.stop.preStop.cancel()
		}
	}
	w.hooks.Wait()
}
