package framework

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
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

// ContainerIDs lists the IDs of a pod's containers on the engine, stopped
// ones and the sandbox included.
func (e *Env) ContainerIDs(t testing.TB, uid types.UID) []string {
	t.Helper()
	cs, err := e.Docker.ContainerList(context.Background(), dockerhost.PodSelector(string(uid)))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

// WaitNoContainers waits until the engine holds no container of the pod.
func (e *Env) WaitNoContainers(ctx context.Context, uid types.UID, timeout time.Duration) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		cs, err := e.Docker.ContainerList(ctx, dockerhost.PodSelector(string(uid)))
		return err == nil && len(cs) == 0, nil
	})
}
