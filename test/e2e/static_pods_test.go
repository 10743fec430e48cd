//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Annotations of static and mirror pods, as the kubelet sets them.
const (
	annotationSource = "kubernetes.io/config.source"
	annotationHash   = "kubernetes.io/config.hash"
	annotationSeen   = "kubernetes.io/config.seen"
	annotationMirror = "kubernetes.io/config.mirror"
)

// staticManifest is a static pod manifest in namespace ns running script
// in one busybox container; extra is YAML appended to its spec.
func staticManifest(ns, name, script, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: %s
    command: ["sh", "-c", %q]
%s`, name, ns, env.BusyboxImage(), script, extra)
}

func writeManifest(t *testing.T, dir, file, content string) {
	t.Helper()
	// Written aside and renamed, as editors and config tools do, so the
	// node never reads half a file.
	tmp := filepath.Join(dir, "."+file+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, file)); err != nil {
		t.Fatal(err)
	}
}

// waitMirror waits for the mirror pod of a static pod to satisfy cond. It
// polls by name: a mirror pod is deleted and made again under the same
// name, which ends a watch of one pod object.
func waitMirror(t *testing.T, ns, name, what string, timeout time.Duration, cond func(*v1.Pod) bool) *v1.Pod {
	t.Helper()
	var last *v1.Pod
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		last = p
		return p.DeletionTimestamp == nil && p.Annotations[annotationMirror] != "" && cond(p), nil
	})
	if err != nil {
		t.Fatalf("mirror pod %s/%s never %s within %v: %v; last seen:\n%s", ns, name, what, timeout, err, framework.Dump(last))
	}
	return last
}

// A node with --pod-manifest-path runs the manifests' pods and shows each
// in the API as a mirror pod it cannot be controlled through: deleting the
// mirror brings it back over the same containers, and so does a restart of
// the node; editing the manifest
// replaces the pod; removing it stops the pod and removes the mirror.
// Manifests that reference Secrets are refused; crashing and
// probe-failing static pods restart as any pod does.
func TestStaticPodsAndTheirMirrorPods(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	dir := t.TempDir()
	n := startNode(t, framework.NodeOptions{
		Name:   "e2e-static-" + framework.RandomSuffix(),
		Taints: []string{"none"},
		Args:   []string{"--pod-manifest-path", dir},
	})
	t.Cleanup(func() { // before the node closes: the static pods must end first
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	})
	sleep := "trap 'exit 0' TERM; while true; do sleep 1; done"
	writeStaticTestManifests(t, dir, ns, sleep)
	web := "web-" + n.Name

	mirror := waitMirror(t, ns, web, "a Running mirror pod", 30*time.Second, framework.Running)
	hash := mirror.Annotations[annotationHash]
	checkMirrorOf(t, mirror, n.Name)
	staticUID := types.UID(hash)
	ids := env.ContainerIDs(t, staticUID)
	if len(ids) != 2 {
		t.Fatalf("static pod %s has containers %v, want a sandbox and app", staticUID, ids)
	}

	t.Run("deleting the mirror recreates it over the same containers", func(t *testing.T) {
		deletePod(t, ns, web)
		again := waitMirror(t, ns, web, "a new Running mirror pod", 30*time.Second, func(p *v1.Pod) bool {
			return p.UID != mirror.UID && framework.Running(p)
		})
		if again.Annotations[annotationMirror] != hash {
			t.Errorf("new mirror hash %q, want %q", again.Annotations[annotationMirror], hash)
		}
		time.Sleep(2 * time.Second) // a wrongful restart would show by now
		if now := env.ContainerIDs(t, staticUID); !equalSets(now, ids) {
			t.Errorf("containers %v after the mirror was deleted, want the same %v", now, ids)
		}
	})

	t.Run("a restarted node adopts its static pods without restarting them", func(t *testing.T) {
		n.Kill()
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second) // dangling-pod cleanup and adoption done
		if now := env.ContainerIDs(t, staticUID); !equalSets(now, ids) {
			t.Errorf("containers %v after a node restart, want the same %v", now, ids)
		}
		waitMirror(t, ns, web, "Running after a node restart", 10*time.Second, framework.Running)
	})

	restartingStaticPods(t, ns, n.Name)

	t.Run("a manifest referencing a Secret is refused", func(t *testing.T) {
		want := "static pods may not reference secrets"
		waitNodeWarning(t, n.Name, want, "secret-"+n.Name)
		if log := n.LogTail(1000); !strings.Contains(log, want) {
			t.Errorf("node log does not say %q", want)
		}
		if _, err := env.Client.CoreV1().Pods(ns).Get(ctx, "secret-"+n.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("refused static pod has a mirror pod (err %v)", err)
		}
	})

	t.Run("editing the manifest replaces the pod", func(t *testing.T) {
		writeManifest(t, dir, "web.yaml", staticManifest(ns, "web", "echo edited; "+sleep, ""))
		edited := waitMirror(t, ns, web, "the mirror of the edited manifest, Running", 30*time.Second, func(p *v1.Pod) bool {
			return p.Annotations[annotationMirror] != hash && framework.Running(p)
		})
		if err := env.WaitNoContainers(ctx, staticUID, 15*time.Second); err != nil {
			t.Errorf("containers of the old manifest remain: %v", err)
		}
		staticUID = types.UID(edited.Annotations[annotationHash])
	})

	t.Run("removing the manifest stops the pod and removes its mirror", func(t *testing.T) {
		if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
			t.Fatal(err)
		}
		if err := env.WaitNoContainers(ctx, staticUID, 20*time.Second); err != nil {
			t.Errorf("containers remain after the manifest was removed: %v", err)
		}
		if err := framework.WaitForPodGone(ctx, env, ns, web, 20*time.Second); err != nil {
			t.Errorf("mirror pod remains after the manifest was removed: %v", err)
		}
	})
}

// checkMirrorOf checks what makes a pod a mirror pod of the node: the
// annotations of its static pod and the Node as controlling owner.
func checkMirrorOf(t *testing.T, mirror *v1.Pod, nodeName string) {
	t.Helper()
	hash := mirror.Annotations[annotationHash]
	if mirror.Annotations[annotationMirror] != hash || hash == "" || mirror.Annotations[annotationSource] != "file" || mirror.Annotations[annotationSeen] == "" {
		t.Errorf("mirror annotations %v, want config.mirror = config.hash, config.source file, config.seen", mirror.Annotations)
	}
	node, err := env.Client.CoreV1().Nodes().Get(context.Background(), nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if refs := mirror.OwnerReferences; len(refs) != 1 || refs[0].Kind != "Node" || refs[0].Name != nodeName || refs[0].UID != node.UID || refs[0].Controller == nil || !*refs[0].Controller {
		t.Errorf("mirror owners %+v, want the Node %s (%s) as controller", refs, nodeName, node.UID)
	}
	if mirror.Spec.NodeName != nodeName {
		t.Errorf("mirror bound to %q, want %s", mirror.Spec.NodeName, nodeName)
	}
}

// waitNodeWarning waits for a Warning event on the Node whose message holds
// every one of parts.
func waitNodeWarning(t *testing.T, nodeName string, parts ...string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := env.Client.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Node,involvedObject.name=" + nodeName})
		if err != nil {
			return false, nil
		}
	events:
		for _, e := range evs.Items {
			for _, part := range parts {
				if !strings.Contains(e.Message, part) {
					continue events
				}
			}
			if e.Type == v1.EventTypeWarning {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("no Warning event on the Node %s saying %q", nodeName, parts)
	}
}

// writeStaticTestManifests writes the manifests of
// TestStaticPodsAndTheirMirrorPods: a long-running pod, a crashing one, one
// failing its liveness probe, and one referencing a Secret.
func writeStaticTestManifests(t *testing.T, dir, ns, sleep string) {
	t.Helper()
	writeManifest(t, dir, "web.yaml", staticManifest(ns, "web", sleep, ""))
	writeManifest(t, dir, "crash.yaml", staticManifest(ns, "crash", "exit 3", ""))
	writeManifest(t, dir, "probed.yaml", staticManifest(ns, "probed", sleep, `    livenessProbe:
      exec: {command: ["false"]}
      periodSeconds: 1
      failureThreshold: 1
`))
	writeManifest(t, dir, "secret.yaml", staticManifest(ns, "secret", sleep, `  volumes:
  - name: creds
    secret: {secretName: db}
`))
}

// restartingStaticPods checks the crashing and the probe-failing static pods
// of writeStaticTestManifests: they restart as any pod does.
func restartingStaticPods(t *testing.T, ns, nodeName string) {
	t.Run("a crashing static pod restarts with CrashLoopBackOff", func(t *testing.T) {
		waitMirror(t, ns, "crash-"+nodeName, "in CrashLoopBackOff", 45*time.Second, func(p *v1.Pod) bool {
			s := framework.StatusOf(p, "app")
			return s != nil && s.RestartCount >= 1 && s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff" &&
				s.LastTerminationState.Terminated != nil && s.LastTerminationState.Terminated.ExitCode == 3
		})
	})

	t.Run("a static pod failing its liveness probe restarts", func(t *testing.T) {
		waitMirror(t, ns, "probed-"+nodeName, "restarted by its liveness probe", 45*time.Second, func(p *v1.Pod) bool {
			s := framework.StatusOf(p, "app")
			return s != nil && s.RestartCount >= 1
		})
	})
}
