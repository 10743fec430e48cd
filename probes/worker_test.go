package probes

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// scripted returns a ProbeFunc that answers with results in turn.
func scripted(results ...Result) (ProbeFunc, *int) {
	calls := 0
	return func(context.Context, *v1.Probe, time.Duration) (Result, string, error) {
		r := results[min(calls, len(results)-1)]
		calls++
		out := ""
		if r == Failure {
			out = "connection refused"
		}
		return r, out, nil
	}, &calls
}

type report struct {
	attempt, result Result
	changed         bool
}

// The thresholded result changes only after successThreshold consecutive
// successes or failureThreshold consecutive failures, as in the kubelet's
// prober worker; every attempt is reported (for Unhealthy events).
func TestWorkerAppliesThresholds(t *testing.T) {
	cases := []struct {
		name     string
		kind     Kind
		success  int32
		failure  int32
		attempts []Result
		want     []Result // thresholded result after each attempt
	}{
		{"readiness starts not ready, one success makes it ready", Readiness, 1, 3,
			[]Result{Success, Failure, Failure, Failure, Success},
			[]Result{Success, Success, Success, Failure, Success}},
		{"readiness needs successThreshold successes in a row", Readiness, 2, 1,
			[]Result{Success, Failure, Success, Success},
			[]Result{Failure, Failure, Failure, Success}},
		{"liveness starts alive and fails after failureThreshold", Liveness, 1, 2,
			[]Result{Failure, Success, Failure, Failure},
			[]Result{Success, Success, Success, Failure}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run, _ := scripted(c.attempts...)
			var reports []report
			w := NewWorker(WorkerConfig{
				Kind:  c.kind,
				Probe: &v1.Probe{SuccessThreshold: c.success, FailureThreshold: c.failure, PeriodSeconds: 1, TimeoutSeconds: 1},
				Run:   run,
				Clock: clocktesting.NewFakeClock(time.Now()),
				Report: func(_ Kind, attempt Result, _ string, result Result, changed bool) {
					reports = append(reports, report{attempt, result, changed})
				},
			})
			for i := range c.attempts {
				w.Step(context.Background())
				if got := w.Result(); got != c.want[i] {
					t.Fatalf("after attempt %d (%v): result %v, want %v", i+1, c.attempts[i], got, c.want[i])
				}
			}
			if len(reports) != len(c.attempts) {
				t.Fatalf("%d reports for %d attempts", len(reports), len(c.attempts))
			}
		})
	}
}

// After a liveness failure the worker stops: its container is restarted and
// the new instance gets a new worker.
func TestLivenessWorkerStopsAfterFailure(t *testing.T) {
	run, calls := scripted(Failure)
	w := NewWorker(WorkerConfig{Kind: Liveness, Probe: &v1.Probe{FailureThreshold: 1, SuccessThreshold: 1}, Run: run, Clock: clocktesting.NewFakeClock(time.Now())})
	if w.Step(context.Background()) {
		t.Fatal("the worker goes on after the liveness failure")
	}
	if *calls != 1 {
		t.Fatalf("%d probe calls, want 1", *calls)
	}
}

// Liveness and readiness wait for the startup probe; a startup probe stops
// once it succeeded.
func TestStartupGatesTheOtherProbes(t *testing.T) {
	started := false
	run, calls := scripted(Success)
	live := NewWorker(WorkerConfig{Kind: Liveness, Probe: &v1.Probe{FailureThreshold: 1, SuccessThreshold: 1}, Run: run,
		Started: func() bool { return started }, Clock: clocktesting.NewFakeClock(time.Now())})
	live.Step(context.Background())
	if *calls != 0 {
		t.Fatalf("liveness probed %d times before the startup probe succeeded", *calls)
	}
	started = true
	live.Step(context.Background())
	if *calls != 1 {
		t.Fatalf("liveness probed %d times after the start, want 1", *calls)
	}

	srun, scalls := scripted(Failure, Success)
	startup := NewWorker(WorkerConfig{Kind: Startup, Probe: &v1.Probe{FailureThreshold: 5, SuccessThreshold: 1}, Run: srun, Clock: clocktesting.NewFakeClock(time.Now())})
	if !startup.Step(context.Background()) || startup.Result() != Unknown {
		t.Fatalf("after one failure below the threshold: result %v, want Unknown and go on", startup.Result())
	}
	startup.Step(context.Background())
	if startup.Result() != Success {
		t.Fatalf("startup result %v, want Success", startup.Result())
	}
	if startup.Step(context.Background()) || *scalls != 2 {
		t.Fatalf("a succeeded startup probe went on probing (%d calls)", *scalls)
	}
}

// Run waits initialDelaySeconds from the container's start, then probes every
// periodSeconds, and Stop ends it.
func TestWorkerRunHonoursInitialDelayAndPeriod(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Now())
	run, calls := scripted(Success)
	probed := make(chan struct{}, 10)
	w := NewWorker(WorkerConfig{
		Kind: Readiness, StartedAt: clock.Now(), Clock: clock,
		Probe: &v1.Probe{InitialDelaySeconds: 10, PeriodSeconds: 5, SuccessThreshold: 1, FailureThreshold: 3},
		Run: func(ctx context.Context, p *v1.Probe, d time.Duration) (Result, string, error) {
			defer func() { probed <- struct{}{} }()
			return run(ctx, p, d)
		},
	})
	go w.Run(context.Background())
	waitTimers := func() {
		for !clock.HasWaiters() {
			time.Sleep(time.Millisecond)
		}
	}
	waitTimers()
	clock.Step(9 * time.Second)
	select {
	case <-probed:
		t.Fatal("probed before initialDelaySeconds")
	case <-time.After(20 * time.Millisecond):
	}
	clock.Step(time.Second)
	<-probed
	waitTimers()
	clock.Step(5 * time.Second)
	<-probed
	if *calls != 2 {
		t.Fatalf("%d probes, want 2", *calls)
	}
	w.Stop()
	w.Stop() // safe twice
	<-w.Done()
}

// A trigger runs the probe at once instead of at the end of its period: the
// kubelet probes readiness as soon as the startup probe succeeded.
func TestTriggerProbesWithoutWaitingForThePeriod(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Now())
	run, calls := scripted(Failure, Success)
	probed := make(chan struct{}, 10)
	w := NewWorker(WorkerConfig{
		Kind: Readiness, StartedAt: clock.Now(), Clock: clock,
		Probe: &v1.Probe{PeriodSeconds: 60, SuccessThreshold: 1, FailureThreshold: 3},
		Run: func(ctx context.Context, p *v1.Probe, d time.Duration) (Result, string, error) {
			defer func() { probed <- struct{}{} }()
			return run(ctx, p, d)
		},
	})
	go w.Run(context.Background())
	defer func() { w.Stop(); <-w.Done() }()
	<-probed // the first attempt, at once (no initial delay)
	w.Trigger()
	select {
	case <-probed:
	case <-time.After(5 * time.Second):
		t.Fatal("a triggered probe waited for its 60 s period")
	}
	if *calls != 2 {
		t.Fatalf("%d probes, want 2", *calls)
	}
}
