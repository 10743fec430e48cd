// Package e2e drives Pods through a real API server onto a vk-docker node
// backed by the real Docker engine, and checks what a user sees.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	env  *framework.Env
	node *framework.Node // the package's node, with the default taint
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	var err error
	if env, err = framework.LoadEnv(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL:", err)
		return 1
	}
	if node, err = framework.StartNode(ctx, env, framework.NodeOptions{Name: "e2e-" + framework.RandomSuffix()}); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL:", err)
		return 1
	}
	code := m.Run()
	if err := node.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL:", err)
		code = 1
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: node log %s ends with:\n%s\n", node.LogPath, node.LogTail(40))
	}
	return code
}

// namespace creates a namespace for one test and removes it afterwards.
func namespace(t *testing.T) string { return framework.ScopedNamespace(t, env, "e2e") }

// startNode starts a node of the test's own, closed when the test ends.
func startNode(t *testing.T, o framework.NodeOptions) *framework.Node {
	return framework.StartScopedNode(t, env, o)
}

// examplePod loads a pod manifest from examples/ (the seed's pods, as the
// README applies them). Each test has its own namespace, so the names are
// kept.
func examplePod(t *testing.T, file string) *v1.Pod {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "examples", file))
	if err != nil {
		t.Fatal(err)
	}
	p, err := framework.PodFromYAML(manifest)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seedPod is examplePod aimed at the package's node.
func seedPod(t *testing.T, file string) *v1.Pod {
	t.Helper()
	return framework.OnNode(examplePod(t, file), node.Name)
}

// createPod creates pod in ns and returns the API's copy.
func createPod(t *testing.T, ns string, pod *v1.Pod) *v1.Pod {
	t.Helper()
	created, err := env.Client.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	return created
}

// deletePod deletes the pod through the API with its own grace period and
// returns the time just before the call.
func deletePod(t *testing.T, ns, name string) time.Time {
	t.Helper()
	at := time.Now()
	if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod %s: %v", name, err)
	}
	return at
}

// waitRunning waits for every container of the pod to run and be ready.
func waitRunning(t *testing.T, ns, name string) *v1.Pod {
	t.Helper()
	p, err := framework.WaitForPod(context.Background(), env, ns, name, 60*time.Second, "Running and Ready", framework.Running)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mustExec runs a command in a container through the API server and fails the
// test when it does not exit 0.
func mustExec(t *testing.T, ns, pod, container string, command ...string) string {
	t.Helper()
	out, err := env.Exec(context.Background(), ns, pod, container, command...)
	if err != nil {
		t.Fatalf("exec %v in %s/%s: %v", command, pod, container, err)
	}
	return out
}

// busybox returns a container of the test image running a shell script.
func busybox(name, script string) v1.Container {
	return v1.Container{Name: name, Image: env.BusyboxImage(), ImagePullPolicy: v1.PullIfNotPresent, Command: []string{"sh", "-c", script}}
}

// pod builds a pod aimed at the package's node.
func pod(name string, containers ...v1.Container) *v1.Pod {
	grace := int64(2)
	return framework.OnNode(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.PodSpec{Containers: containers, TerminationGracePeriodSeconds: &grace},
	}, node.Name)
}

// sleeper is a container that exits promptly on SIGTERM (a shell as PID 1
// ignores it unless it traps it).
func sleeper(name string) v1.Container {
	return busybox(name, "trap 'exit 0' TERM; while true; do sleep 1; done")
}
