package provider

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/hostpool"
	"k8s.io/apimachinery/pkg/types"
)

// resyncPeriod bounds how long a missed engine event can go unnoticed.
const resyncPeriod = 30 * time.Second

// followEvents wakes a pod's worker on every event of one of its containers
// (start, die, oom, destroy ...), so that status reaches the API without
// polling. After the stream breaks it reconnects from the last event seen and
// wakes every worker, since events may have been lost.
func (p *Provider) followEvents(ctx context.Context) {
	var wg sync.WaitGroup
	for _, h := range p.cfg.Pool.Hosts() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.followHostEvents(ctx, h)
		}()
	}
	wg.Wait()
}

// followHostEvents follows one host's events until ctx ends.
func (p *Provider) followHostEvents(ctx context.Context, h *hostpool.Host) {
	resync := p.cfg.Clock.NewTicker(resyncPeriod)
	defer resync.Stop()
	since := time.Time{}
	backoff := 100 * time.Millisecond
	for {
		streamCtx, cancel := context.WithCancel(ctx)
		msgs, errs := h.Docker.Events(streamCtx, since, dockerhost.NodeSelector(p.cfg.NodeName))
		if !since.IsZero() {
			p.wakeAll()
		}
		err := p.dispatch(ctx, msgs, errs, resync.C(), &since)
		cancel()
		if ctx.Err() != nil {
			return
		}
		log.G(ctx).WithError(err).WithFields(p.hostFields(h)).Warn("Docker event stream ended; reconnecting")
		select {
		case <-ctx.Done():
			return
		case <-p.cfg.Clock.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
		if since.IsZero() {
			since = p.cfg.Clock.Now()
		}
	}
}

func (p *Provider) dispatch(ctx context.Context, msgs <-chan events.Message, errs <-chan error, resync <-chan time.Time, since *time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			return err
		case <-resync:
			p.wakeAll()
		case m := <-msgs:
			if m.TimeNano > 0 {
				*since = time.Unix(0, m.TimeNano)
			}
			// exec_create/exec_start/exec_die come from probes and kubectl
			// exec; they never change a pod's status.
			if strings.HasPrefix(string(m.Action), "exec_") {
				continue
			}
			if uid := m.Actor.Attributes[dockerhost.LabelPodUID]; uid != "" {
				if m.Action == events.ActionDie && m.TimeNano > 0 {
					p.lat.containerDied(types.UID(uid), m.Actor.ID, time.Unix(0, m.TimeNano))
				}
				p.wake(types.UID(uid))
			}
		}
	}
}
