package dockerfake

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
)

// Events: subscribers get the events of the containers their labels
// select, from a time on.

type fakeSub struct {
	labels []string
	out    chan events.Message
	errs   chan error

	mu     sync.Mutex
	queue  []events.Message
	more   chan struct{} // signalled when queue grows
	stop   chan error    // FailEvents
	closed bool
}

func (s *fakeSub) push(m events.Message) {
	s.mu.Lock()
	s.queue = append(s.queue, m)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
}

func (s *fakeSub) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.stop <- err
	}
}

// run delivers queued events in order, never dropping one, until ctx ends or
// the stream is failed; the error then goes to errs, as the real client does.
func (s *fakeSub) run(ctx context.Context, f *Client) {
	defer func() {
		f.mu.Lock()
		delete(f.subs, s)
		f.mu.Unlock()
	}()
	for {
		s.mu.Lock()
		var next *events.Message
		if len(s.queue) > 0 {
			m := s.queue[0]
			s.queue = s.queue[1:]
			next = &m
		}
		s.mu.Unlock()
		if next != nil {
			select {
			case s.out <- *next:
				continue
			case <-ctx.Done():
				s.errs <- ctx.Err()
				return
			case err := <-s.stop:
				s.errs <- err
				return
			}
		}
		select {
		case <-s.more:
		case <-ctx.Done():
			s.errs <- ctx.Err()
			return
		case err := <-s.stop:
			s.errs <- err
			return
		}
	}
}

// Events streams container events whose labels match all of labels, starting
// with the past ones at or after since (when not zero).
func (f *Client) Events(ctx context.Context, since time.Time, labels ...string) (<-chan events.Message, <-chan error) {
	errs := make(chan error, 1)
	if err := f.call("Events", labels...); err != nil {
		errs <- err
		return make(chan events.Message), errs
	}
	s := &fakeSub{
		labels: slices.Clone(labels),
		out:    make(chan events.Message),
		errs:   errs,
		more:   make(chan struct{}, 1),
		stop:   make(chan error, 1),
	}
	f.mu.Lock()
	if !since.IsZero() {
		for _, e := range f.history {
			if e.msg.TimeNano >= since.UnixNano() && matchLabels(e.labels, labels) {
				s.queue = append(s.queue, e.msg)
			}
		}
	}
	f.subs[s] = true
	f.mu.Unlock()
	go s.run(ctx, f)
	return s.out, s.errs
}

func (f *Client) publishLocked(c *fakeContainer, action events.Action, extra map[string]string) {
	now := f.clock.Now()
	attrs := maps.Clone(c.config.Labels)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["name"] = c.name
	attrs["image"] = c.config.Image
	maps.Copy(attrs, extra)
	msg := events.Message{
		Type:     events.ContainerEventType,
		Action:   action,
		Actor:    events.Actor{ID: c.id, Attributes: attrs},
		Scope:    "local",
		Time:     now.Unix(),
		TimeNano: now.UnixNano(),
	}
	labels := maps.Clone(c.config.Labels)
	f.history = append(f.history, fakeEvent{msg: msg, labels: labels})
	for s := range f.subs {
		if matchLabels(labels, s.labels) {
			s.push(msg)
		}
	}
}
