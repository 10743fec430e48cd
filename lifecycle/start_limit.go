package lifecycle

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// StartLimiter bounds how many sandbox and container starts the node's pod
// workers run on the engine at once. Dockerd has no queue of its own worth
// the name: a burst of pods started all at once makes every start slow
// (their p50 becomes the burst's wall time). Past the limit, starts wait
// here, where the pod stays Pending/ContainerCreating, and the slots go to
// pods in the order they arrived (their workers' tickets): a pod that began
// starting finishes before later pods begin, so pods come up one after the
// other instead of all at the end. A start whose context ends (the pod was
// deleted) leaves the queue at once.
type StartLimiter struct {
	limit   int
	tickets atomic.Uint64

	mu      sync.Mutex
	held    int
	waiters waitQueue
	seq     uint64 // arrival order of waiters with the same ticket
	// Observe, when set, is told how long each granted start waited.
	observe func(time.Duration)
}

// NewStartLimiter allows limit starts at once; limit <= 0 is no limit (a
// nil limiter, which every method accepts).
func NewStartLimiter(limit int, observeWait func(time.Duration)) *StartLimiter {
	if limit <= 0 {
		return nil
	}
	return &StartLimiter{limit: limit, observe: observeWait}
}

// ticket orders a new pod after every pod seen before it.
func (l *StartLimiter) ticket() uint64 {
	if l == nil {
		return 0
	}
	return l.tickets.Add(1)
}

// Waiting is how many starts wait for a slot.
func (l *StartLimiter) Waiting() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.waiters)
}

// InFlight is how many slots are held.
func (l *StartLimiter) InFlight() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

// acquire waits for a slot for the pod holding ticket and returns the
// function that gives it back (call it exactly once), or ctx's error.
func (l *StartLimiter) acquire(ctx context.Context, ticket uint64) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	l.mu.Lock()
	if l.held < l.limit && len(l.waiters) == 0 {
		l.held++
		l.mu.Unlock()
		l.observeWait(start)
		return l.releaseOnce(), nil
	}
	l.seq++
	w := &waiter{ticket: ticket, seq: l.seq, ready: make(chan struct{})}
	heap.Push(&l.waiters, w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		l.observeWait(start)
		return l.releaseOnce(), nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if w.index < 0 {
			// Granted as ctx ended: hand the slot on.
			l.releaseLocked()
		} else {
			heap.Remove(&l.waiters, w.index)
		}
		return nil, ctx.Err()
	}
}

func (l *StartLimiter) observeWait(start time.Time) {
	if l.observe != nil {
		l.observe(time.Since(start))
	}
}

func (l *StartLimiter) releaseOnce() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.releaseLocked()
		})
	}
}

// releaseLocked gives a slot back, to the first waiter if there is one.
func (l *StartLimiter) releaseLocked() {
	if len(l.waiters) == 0 {
		l.held--
		return
	}
	w := heap.Pop(&l.waiters).(*waiter)
	close(w.ready) // the slot passes to w: held is unchanged
}

// waiter is one start waiting for a slot; index is its place in the heap,
// -1 once it was granted.
type waiter struct {
	ticket, seq uint64
	index       int
	ready       chan struct{}
}

// waitQueue is a min-heap of waiters by (ticket, seq).
type waitQueue []*waiter

func (q waitQueue) Len() int { return len(q) }
func (q waitQueue) Less(i, j int) bool {
	if q[i].ticket != q[j].ticket {
		return q[i].ticket < q[j].ticket
	}
	return q[i].seq < q[j].seq
}
func (q waitQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *waitQueue) Push(x any) {
	w := x.(*waiter)
	w.index = len(*q)
	*q = append(*q, w)
}
func (q *waitQueue) Pop() any {
	old := *q
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*q = old[:len(old)-1]
	return w
}

// startSlot waits for one of the node's start slots (Runtime.Starts) in the
// pod's arrival order.
func (w *Worker) startSlot(ctx context.Context) (release func(), err error) {
	release, err = w.rt.Starts.acquire(ctx, w.startTicket)
	if err != nil {
		return nil, fmt.Errorf("wait for a start slot: %w", err)
	}
	return release, nil
}
