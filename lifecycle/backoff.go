package lifecycle

import (
	"fmt"
	"time"

	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// Crash-loop back-off, as the kubelet's: 10 s after the second failure,
// doubling up to 5 min; a container that ran for 10 min (twice the maximum)
// starts over.
const (
	backOffInitial = 10 * time.Second
	backOffMax     = 5 * time.Minute
)

// crashBackOff is the restart back-off of one pod's containers, keyed by
// backOffKey. It keeps client-go's flowcontrol.Backoff arithmetic (no
// jitter) but takes the time as an argument, so that the decisions made
// from it stay pure functions of their inputs.
type crashBackOff map[string]backOffEntry

type backOffEntry struct {
	delay      time.Duration
	lastUpdate time.Time
}

// expired: the entry is older than twice the maximum delay when measured
// from at, and no longer holds anything back.
func (e backOffEntry) expired(at time.Time) bool {
	return at.Sub(e.lastUpdate) > 2*backOffMax
}

// holds reports whether a container that finished at finished is still held
// back at now, and for how long its current delay is.
func (b crashBackOff) holds(key string, finished, now time.Time) (time.Duration, bool) {
	e, ok := b[key]
	if !ok || e.expired(finished) {
		return 0, false
	}
	return e.delay, now.Sub(finished) < e.delay
}

// next records a restart at now of a container that finished at finished:
// the first restart (or one after a long run) starts the delay over,
// later ones double it.
func (b crashBackOff) next(key string, finished, now time.Time) {
	e, ok := b[key]
	if !ok || e.expired(finished) {
		e.delay = backOffInitial
	} else {
		e.delay = min(2*e.delay, backOffMax)
	}
	e.lastUpdate = now
	b[key] = e
}

// backOffKey identifies a container for the back-off; a changed spec (hash)
// starts a new back-off, as in the kubelet.
func backOffKey(pod *v1.Pod, c *v1.Container) string {
	return fmt.Sprintf("%s_%s_%s_%s_%s", pod.Name, pod.Namespace, pod.UID, c.Name, translate.ContainerHash(c))
}

// syncErrorBackOff is how long the kubelet's pod workers wait before
// syncing a pod again after a sync failed (pod_workers.go backOffPeriod,
// to which they add up to half again as jitter): a container that cannot
// be created (CreateContainerConfigError, CreateContainerError) or a
// sandbox that cannot be made (FailedCreatePodSandBox) is tried again no
// sooner, and its events come no faster, whatever wakes the worker.
const syncErrorBackOff = 10 * time.Second

// retryGate holds a failed step back until its back-off has passed.
type retryGate struct {
	// at is when the step may be tried again; zero: at once.
	at time.Time
}

// held reports whether the step is still held back at now, and for how long.
func (g retryGate) held(now time.Time) (time.Duration, bool) {
	if g.at.IsZero() || !now.Before(g.at) {
		return 0, false
	}
	return g.at.Sub(now), true
}

// failed records a failure of the step at now.
func (g *retryGate) failed(now time.Time) { g.at = now.Add(syncErrorBackOff) }
