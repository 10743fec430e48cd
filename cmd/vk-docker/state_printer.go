package main

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// statePrinter prints one line per state change of a pod or one of its
// containers in standalone mode:
//
//	TIME  NAMESPACE/POD  CONTAINER  STATE  REASON
//
// with "-" for the pod itself (its phase) and for an empty reason.
type statePrinter struct {
	out io.Writer

	mu   sync.Mutex
	last map[types.UID]map[string]string // pod → container ("-": the pod) → printed state
}

func newStatePrinter(out io.Writer) *statePrinter {
	return &statePrinter{out: out, last: map[types.UID]map[string]string{}}
}

// pod is the provider's status callback.
func (s *statePrinter) pod(pod *v1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.last[pod.UID]
	if seen == nil {
		seen = map[string]string{}
		s.last[pod.UID] = seen
	}
	name := pod.Namespace + "/" + pod.Name
	s.print(seen, name, "-", string(pod.Status.Phase), pod.Status.Reason)
	statuses := append(append([]v1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, c := range statuses {
		state, reason := containerState(c)
		s.print(seen, name, c.Name, state, reason)
	}
}

func (s *statePrinter) print(seen map[string]string, pod, container, state, reason string) {
	if state == "" {
		return
	}
	if reason == "" {
		reason = "-"
	}
	line := state + " " + reason
	if seen[container] == line {
		return
	}
	seen[container] = line
	fmt.Fprintf(s.out, "%s  %s  %s  %s  %s\n", time.Now().UTC().Format(time.RFC3339), pod, container, state, reason)
}

// containerState is how a container's state reads in a line: Waiting,
// Running (Ready when its readiness says so) or Terminated, with the
// reason (and exit code).
func containerState(c v1.ContainerStatus) (string, string) {
	switch {
	case c.State.Running != nil:
		if c.Ready {
			return "Running", "Ready"
		}
		return "Running", ""
	case c.State.Terminated != nil:
		t := c.State.Terminated
		return "Terminated", t.Reason + " (exit code " + strconv.Itoa(int(t.ExitCode)) + ")"
	case c.State.Waiting != nil:
		return "Waiting", c.State.Waiting.Reason
	}
	return "", ""
}
