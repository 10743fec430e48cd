package framework

import (
	"context"
	"testing"
)

// ScopedNamespace creates a namespace for one test and removes it when the
// test ends.
func ScopedNamespace(t *testing.T, env *Env, prefix string) string {
	t.Helper()
	ns, cleanup, err := CreateNamespace(context.Background(), env, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cleanup(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return ns
}

// StartScopedNode starts a node of the test's own, closed when the test ends
// (after the cleanups registered later, such as a namespace's); the close
// fails the test when the node left containers or volumes behind. A failed
// test prints the end of the node's log.
func StartScopedNode(t *testing.T, env *Env, o NodeOptions) *Node {
	t.Helper()
	n, err := StartNode(context.Background(), env, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node log %s ends with:\n%s", n.LogPath, n.LogTail(80))
		}
		if err := n.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return n
}
