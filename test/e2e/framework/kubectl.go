package framework

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Kubectl runs bin/kubectl against the cluster and returns its stdout; a
// non-zero exit is an error carrying stderr.
func (e *Env) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.KubectlBin, append([]string{"--kubeconfig", e.Kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Exec runs a command in a container through the API server, as
// `kubectl exec` does, and returns its stdout.
func (e *Env) Exec(ctx context.Context, ns, pod, container string, command ...string) (string, error) {
	args := []string{"-n", ns, "exec", pod}
	if container != "" {
		args = append(args, "-c", container)
	}
	return e.Kubectl(ctx, append(append(args, "--"), command...)...)
}

// KubectlPodStatus is the STATUS column of `kubectl get pod`.
func (e *Env) KubectlPodStatus(ctx context.Context, ns, name string) (string, error) {
	out, err := e.Kubectl(ctx, "-n", ns, "get", "pod", name, "--no-headers")
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	if len(f) < 3 {
		return "", fmt.Errorf("unexpected kubectl get pod output %q", out)
	}
	return f[2], nil
}

// WaitKubectlStatus polls `kubectl get pod` until its STATUS column reads
// want, and returns the values it went through.
func (e *Env) WaitKubectlStatus(t testing.TB, ns, name string, timeout time.Duration, want string) []string {
	t.Helper()
	var seen []string
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		s, err := e.KubectlPodStatus(ctx, ns, name)
		if err != nil {
			lastErr = err
			return false, nil
		}
		if len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
		return s == want, nil
	})
	if err != nil {
		t.Fatalf("kubectl get pod %s never showed STATUS %s within %v; it showed %q (last error: %v)", name, want, timeout, seen, lastErr)
	}
	return seen
}
