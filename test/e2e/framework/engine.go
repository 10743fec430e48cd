package framework

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"k8s.io/apimachinery/pkg/types"
)

// WaitEngineDie waits for Docker's die event of a pod's container, from
// since on, and returns when it died and its exit code.
func (e *Env) WaitEngineDie(t testing.TB, uid types.UID, container string, since time.Time, timeout time.Duration) (time.Time, string) {
	t.Helper()
	s := e.EngineStop(t, uid, container, since, timeout)
	return s.Die, s.ExitCode
}

// EngineStopTimes is how the engine saw a container stop.
type EngineStopTimes struct {
	Term, Die time.Time // the SIGTERM and the death; Term is zero without a SIGTERM
	ExitCode  string
}

func (s EngineStopTimes) String() string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format("15:04:05.000")
	}
	return fmt.Sprintf("SIGTERM %s, died %s with %s", f(s.Term), f(s.Die), s.ExitCode)
}

// EngineStop follows the Docker events of a pod's container from since on
// until it dies, and returns when it got SIGTERM and when it died.
func (e *Env) EngineStop(t testing.TB, uid types.UID, container string, since time.Time, timeout time.Duration) EngineStopTimes {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	msgs, errs := e.Docker.Events(ctx, since.Add(-time.Second), dockerhost.PodSelector(string(uid)), dockerhost.LabelContainerName+"="+container)
	var s EngineStopTimes
	for {
		select {
		case m := <-msgs:
			at := time.Unix(0, m.TimeNano)
			if at.Before(since) {
				continue
			}
			switch m.Action {
			case "kill":
				if sig := m.Actor.Attributes["signal"]; s.Term.IsZero() && (sig == "15" || sig == "SIGTERM") {
					s.Term = at
				}
			case "die":
				s.Die, s.ExitCode = at, m.Actor.Attributes["exitCode"]
				return s
			}
		case err := <-errs:
			t.Fatalf("container %s of pod %s did not die within %v (engine: %s): %v", container, uid, timeout, s, err)
		}
	}
}
