package lifecycle

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestStartLimiterGrantsSlotsInPodArrivalOrder(t *testing.T) {
	l := NewStartLimiter(1, nil)
	ctx := context.Background()
	first, err := l.acquire(ctx, l.ticket())
	if err != nil {
		t.Fatal(err)
	}
	early, late := l.ticket(), l.ticket()
	granted := make(chan uint64, 2)
	wait := func(ticket uint64) {
		release, err := l.acquire(ctx, ticket)
		if err != nil {
			t.Error(err)
			return
		}
		granted <- ticket
		release()
	}
	// The later pod asks first; the earlier pod still goes first.
	go wait(late)
	waitFor(t, "one waiter", func() bool { return l.Waiting() == 1 })
	go wait(early)
	waitFor(t, "two waiters", func() bool { return l.Waiting() == 2 })
	if got := l.InFlight(); got != 1 {
		t.Fatalf("in flight = %d, want 1", got)
	}
	first()
	if a, b := <-granted, <-granted; a != early || b != late {
		t.Fatalf("granted tickets %d then %d, want %d (earlier pod) then %d", a, b, early, late)
	}
	waitFor(t, "every slot back", func() bool { return l.InFlight() == 0 && l.Waiting() == 0 })
}

func TestStartLimiterCancelledWaiterLeavesQueueAtOnce(t *testing.T) {
	l := NewStartLimiter(1, nil)
	hold, err := l.acquire(context.Background(), l.ticket())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.acquire(ctx, l.ticket())
		done <- err
	}()
	waitFor(t, "the waiter to queue", func() bool { return l.Waiting() == 1 })
	cancel() // the pod was deleted while its start waited
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("acquire = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled start still waits for a slot")
	}
	if l.Waiting() != 0 {
		t.Fatalf("waiting = %d after the cancel, want 0", l.Waiting())
	}
	hold()
	// The slot is free again, not handed to the departed waiter.
	release, err := l.acquire(context.Background(), l.ticket())
	if err != nil {
		t.Fatal(err)
	}
	release()
	release() // a second call is harmless
	if l.InFlight() != 0 {
		t.Fatalf("in flight = %d, want 0", l.InFlight())
	}
}

func TestStartLimiterZeroIsUnlimited(t *testing.T) {
	l := NewStartLimiter(0, nil)
	for range 100 {
		if _, err := l.acquire(context.Background(), l.ticket()); err != nil {
			t.Fatal(err)
		}
	}
	if l.Waiting() != 0 || l.InFlight() != 0 {
		t.Fatal("an unlimited limiter counts")
	}
}

// A pod whose start waits for a slot makes no engine call meanwhile, and a
// deletion takes it out of the queue at once: it is never started.
func TestAPodDeletedWhileQueuedForAStartSlotNeverStarts(t *testing.T) {
	h := newHarness(t)
	h.rt.Starts = NewStartLimiter(1, nil)
	hold, err := h.rt.Starts.acquire(h.ctx, 0) // every slot busy with an earlier pod
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	pod := newPod(appContainer())
	w := NewWorker(h.rt, pod, true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.sync(h.ctx)
	}()
	waitFor(t, "the sandbox start to queue", func() bool { return h.rt.Starts.Waiting() == 1 })
	if got := h.calls("ContainerCreate", "ContainerStart"); len(got) != 0 {
		t.Fatalf("engine calls while queued: %q", got)
	}
	w.Delete(deleted(pod, h.clock.Now(), 5))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a deleted pod still waits for a start slot")
	}
	if n := h.rt.Starts.Waiting(); n != 0 {
		t.Fatalf("%d starts still queued after the deletion", n)
	}
	for range 3 {
		h.sync(w)
	}
	if got := h.calls("ContainerCreate", "ContainerStart"); len(got) != 0 {
		t.Errorf("a pod deleted while queued was started: %q", got)
	}
	if w.Pod() != nil {
		t.Errorf("the pod was not removed; calls %q", h.docker.Calls())
	}
}
