//go:build faults || soak

// Package faults is the fault and soak suite of issue #13: a provider
// SIGKILLed during churn, an engine that goes away, an API server restart,
// a corpus of bad pods (build tag faults, `make faults`), and a long
// create/delete soak (build tag soak, `make soak`). Each scenario prints one
// summary line with its figures ("faults: <scenario> PASS|FAIL <figures>"),
// and the run ends with all of them together.
package faults

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
)

var env *framework.Env

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	if env, err = framework.LoadEnv(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "faults: FAIL:", err)
		return 1
	}
	code := m.Run()
	summaries.print()
	return code
}

// summaryLines collects each scenario's line, printed again at the end so
// the figures of a run read as one table.
type summaryLines struct {
	mu    sync.Mutex
	lines []string
}

var summaries summaryLines

func (s *summaryLines) add(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, line)
}

func (s *summaryLines) print() {
	s.mu.Lock()
	defer s.mu.Unlock()
	sort.Strings(s.lines)
	fmt.Println("faults: summary")
	for _, l := range s.lines {
		fmt.Println(l)
	}
}

// figures are a scenario's measurements, in the order they were set.
type figures struct {
	keys []string
	vals map[string]string
}

func (f *figures) set(key string, format string, args ...any) {
	if f.vals == nil {
		f.vals = map[string]string{}
	}
	if _, ok := f.vals[key]; !ok {
		f.keys = append(f.keys, key)
	}
	f.vals[key] = fmt.Sprintf(format, args...)
}

func (f *figures) String() string {
	parts := make([]string, 0, len(f.keys))
	for _, k := range f.keys {
		parts = append(parts, k+"="+f.vals[k])
	}
	return strings.Join(parts, " ")
}

// summary registers the scenario's summary line, printed when the test
// ends with PASS or FAIL and the figures set by then.
func summary(t *testing.T, scenario string) *figures {
	t.Helper()
	f := &figures{}
	t.Cleanup(func() {
		verdict := "PASS"
		if t.Failed() {
			verdict = "FAIL"
		}
		line := fmt.Sprintf("faults: %-18s %s %s", scenario, verdict, f)
		fmt.Println(line)
		summaries.add(line)
	})
	return f
}

// namespace creates a namespace for one scenario and removes it afterwards.
func namespace(t *testing.T, prefix string) string { return framework.ScopedNamespace(t, env, prefix) }

// startNode starts a node of the scenario's own, closed when the test ends.
func startNode(t *testing.T, o framework.NodeOptions) *framework.Node {
	return framework.StartScopedNode(t, env, o)
}
