package framework

import (
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// StatusOf finds a container's status among the init and app containers;
// nil when the pod has none for it.
func StatusOf(p *v1.Pod, name string) *v1.ContainerStatus {
	for _, list := range [][]v1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// ConditionOf finds a pod condition; nil when the pod has none of that type.
func ConditionOf(p *v1.Pod, typ v1.PodConditionType) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// ContainerRun is one instance (one Docker container) of a pod's container,
// as its statuses told it.
type ContainerRun struct {
	ID                string
	Started, Finished time.Time
	ExitCode          int32
	Reason            string
}

func (r ContainerRun) String() string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "?"
		}
		return t.Format("15:04:05")
	}
	return fmt.Sprintf("[%s→%s %d/%s]", f(r.Started), f(r.Finished), r.ExitCode, r.Reason)
}

// InstancesOf collects the runs of a container from every status seen, in
// the order they first appeared: state.running, state.terminated and
// lastState.terminated each tell part of a run, keyed by container ID. A
// run's predecessor is in lastState whenever it is current, so none is
// missed.
func InstancesOf(t testing.TB, versions []PodVersion, container string) []ContainerRun {
	t.Helper()
	byID := map[string]*ContainerRun{}
	var order []string
	get := func(id string) *ContainerRun {
		if r, ok := byID[id]; ok {
			return r
		}
		byID[id] = &ContainerRun{ID: id}
		order = append(order, id)
		return byID[id]
	}
	term := func(id string, s *v1.ContainerStateTerminated) {
		if s.ContainerID != "" {
			id = s.ContainerID
		}
		if id == "" {
			id = s.StartedAt.String() + "→" + s.FinishedAt.String()
			t.Logf("a terminated state of %s has no containerID: %s", container, Dump(s))
		}
		r := get(id)
		r.Started, r.Finished, r.ExitCode, r.Reason = s.StartedAt.Time, s.FinishedAt.Time, s.ExitCode, s.Reason
	}
	for _, v := range versions {
		cs := StatusOf(v.Pod, container)
		if cs == nil {
			continue
		}
		if last := cs.LastTerminationState.Terminated; last != nil {
			term("", last)
		}
		switch {
		case cs.State.Terminated != nil:
			term(cs.ContainerID, cs.State.Terminated)
		case cs.State.Running != nil && cs.ContainerID != "":
			get(cs.ContainerID).Started = cs.State.Running.StartedAt.Time
		}
	}
	runs := make([]ContainerRun, 0, len(order))
	for _, id := range order {
		runs = append(runs, *byID[id])
	}
	return runs
}

// RestartGaps returns, for each run after the first, how long after the
// previous run finished it started. A status is a snapshot: a run that
// exited and was replaced between two of them never shows as terminated.
// Its start then stands for its end; the runs measured here exit at once.
func RestartGaps(t testing.TB, runs []ContainerRun) []time.Duration {
	t.Helper()
	var gaps []time.Duration
	for i := 1; i < len(runs); i++ {
		prev, r := runs[i-1], runs[i]
		end := prev.Finished
		if end.IsZero() {
			end = prev.Started
			t.Logf("run %d was never reported terminated; its start stands for its end", i-1)
		}
		if end.IsZero() || r.Started.IsZero() {
			t.Errorf("runs %s: run %d lacks a timestamp", runs, i)
			break
		}
		gaps = append(gaps, r.Started.Sub(end))
	}
	return gaps
}

// Dump renders v as YAML for failure messages.
func Dump(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}
