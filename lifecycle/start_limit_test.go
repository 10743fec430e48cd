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
