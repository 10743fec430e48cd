//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Seed section 3.2: the nginx pod runs, gets an IP that serves its page, and
// `kubectl get pod -o wide` shows the IP and the node.
func TestSeedNginxPodServesItsPage(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := examplePod(t, "nginx.yaml")
	createPod(t, ns, framework.OnNode(p, node.Name))
	p = waitRunning(t, ns, "nginx")

	if p.Status.HostIP != "127.0.0.1" {
		t.Errorf("hostIP = %q, want the node IP 127.0.0.1", p.Status.HostIP)
	}
	cs := p.Status.ContainerStatuses
	if len(cs) != 1 || !strings.HasPrefix(cs[0].ContainerID, "docker://") || cs[0].RestartCount != 0 || cs[0].State.Running == nil {
		t.Errorf("container status = %+v, want one running docker:// container without restarts", cs)
	}

	// Without a readiness probe the pod is Ready once httpd runs, which may
	// be a moment before it listens: retry briefly, as a client would.
	var resp *http.Response
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		var gerr error
		resp, gerr = (&http.Client{Timeout: 5 * time.Second}).Get("http://" + p.Status.PodIP + ":80/")
		return gerr == nil, nil
	})
	if err != nil {
		t.Fatalf("GET the pod IP: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Welcome to nginx!") {
		t.Errorf("GET http://%s/ = %d %q, want 200 with the welcome page", p.Status.PodIP, resp.StatusCode, body)
	}

	wide, err := env.Kubectl(context.Background(), "-n", ns, "get", "pod", "nginx", "-o", "wide")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(wide, p.Status.PodIP) || !strings.Contains(wide, node.Name) || !strings.Contains(wide, "Running") {
		t.Errorf("kubectl get pod -o wide does not show Running, IP %s and node %s:\n%s", p.Status.PodIP, node.Name, wide)
	}

	// The pod's events read as a kubelet's: Started, and none of
	// virtual-kubelet's ProviderCreateSuccess.
	events, err := env.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=nginx"})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range events.Items {
		reasons = append(reasons, e.Reason)
	}
	if !slices.Contains(reasons, "Started") || slices.ContainsFunc(reasons, func(r string) bool { return strings.HasPrefix(r, "Provider") }) {
		t.Errorf("event reasons = %q, want the kubelet's (Started) and no Provider* events", reasons)
	}
}

// Containers of a pod share the sandbox's network and IPC namespaces; the PID
// namespace only with shareProcessNamespace.
func TestPodContainersShareNamespaces(t *testing.T) {
	t.Parallel()
	for _, share := range []bool{false, true} {
		t.Run(fmt.Sprintf("shareProcessNamespace=%v", share), func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			p := pod("two-containers",
				busybox("web", "exec httpd -f -p 8080 -h /usr/share/nginx/html"),
				sleeper("client"))
			p.Spec.ShareProcessNamespace = &share
			createPod(t, ns, p)
			waitRunning(t, ns, p.Name)

			page := mustExec(t, ns, p.Name, "client", "wget", "-qO-", "http://localhost:8080/")
			if !strings.Contains(page, "Welcome to nginx!") {
				t.Errorf("client got %q from localhost:8080, want web's page", page)
			}
			nsOf := func(container, link string) string {
				return strings.TrimSpace(mustExec(t, ns, p.Name, container, "readlink", link))
			}
			for _, link := range []string{"/proc/1/ns/ipc", "/proc/self/ns/net"} {
				if a, b := nsOf("web", link), nsOf("client", link); a != b || a == "" {
					t.Errorf("%s: web %q, client %q; want the same namespace", link, a, b)
				}
			}
			a, b := nsOf("web", "/proc/self/ns/pid"), nsOf("client", "/proc/self/ns/pid")
			if (a == b) != share {
				t.Errorf("/proc/self/ns/pid: web %q, client %q; shared = %v, want %v", a, b, a == b, share)
			}
		})
	}
}

// The default taint keeps pods that do not tolerate it away; --taint none
// lets them in.
func TestDefaultTaintKeepsIntolerantPodsAway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)

	intolerant := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "intolerant"},
		Spec: v1.PodSpec{
			NodeSelector: map[string]string{"kubernetes.io/hostname": node.Name},
			Containers:   []v1.Container{sleeper("app")},
		},
	}
	createPod(t, ns, intolerant)
	p, err := framework.WaitForPod(ctx, env, ns, "intolerant", 30*time.Second, "reported unschedulable", func(p *v1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" || p.Status.Phase != v1.PodPending {
		t.Errorf("pod without toleration: nodeName %q phase %s, want unscheduled and Pending", p.Spec.NodeName, p.Status.Phase)
	}

	open := startNode(t, framework.NodeOptions{Name: "e2e-open-" + framework.RandomSuffix(), Taints: []string{"none"}})
	// No toleration, and pod()'s short grace period: a SIGTERM that comes
	// before the shell has set its trap is ignored, as by any PID 1, and
	// the pod then waits out its whole grace period.
	welcome := pod("welcome", sleeper("app"))
	welcome.Spec.Tolerations = nil
	welcome.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": open.Name}
	createPod(t, ns, welcome)
	if p := waitRunning(t, ns, "welcome"); p.Spec.NodeName != open.Name {
		t.Errorf("pod runs on %q, want %q", p.Spec.NodeName, open.Name)
	}
	// Delete it here: the node is closed before the namespace.
	deletePod(t, ns, "welcome")
	if err := framework.WaitForPodGone(ctx, env, ns, "welcome", 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Deleting a pod removes it from the API, and nothing labelled with its UID
// stays on the engine: containers and the emptyDir volume its containers
// shared are gone.
func TestDeletedPodLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	p := pod("shared-dir",
		busybox("writer", "echo written-by-writer > /data/message; trap 'exit 0' TERM; while true; do sleep 1; done"),
		sleeper("reader"))
	p.Spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].VolumeMounts = []v1.VolumeMount{{Name: "data", MountPath: "/data"}}
	}
	created := createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		out, err := env.Exec(ctx, ns, p.Name, "reader", "cat", "/data/message")
		return err == nil && strings.TrimSpace(out) == "written-by-writer", nil
	})
	if err != nil {
		t.Fatalf("reader never saw the writer's file in the shared emptyDir: %v", err)
	}

	deleteAndCheckEngineClean(t, ns, p.Name, created.UID)
}

// A container reaches the API server through KUBERNETES_SERVICE_HOST/PORT,
// which point at an address that works from a container.
func TestContainerReachesAPIServer(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := pod("api-client", sleeper("app"))
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	host := strings.TrimSpace(mustExec(t, ns, p.Name, "app", "sh", "-c", "echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"))
	if host != env.PodAPIAddress() {
		t.Errorf("KUBERNETES_SERVICE_HOST:PORT = %q, want %q", host, env.PodAPIAddress())
	}
	version := mustExec(t, ns, p.Name, "app", "sh", "-c",
		"wget -qO- --no-check-certificate https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/version")
	if !strings.Contains(version, `"gitVersion"`) {
		t.Errorf("GET /version from the pod = %q, want the API server's version", version)
	}
}

// Until cluster DNS is configured, a pod's resolv.conf names no nameserver
// outside the pod: nothing it resolves leaves the machine.
func TestPodResolvConfStaysLocal(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := pod("resolv", sleeper("app"))
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	conf := mustExec(t, ns, p.Name, "app", "cat", "/etc/resolv.conf")
	var servers []string
	for _, line := range strings.Split(conf, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "nameserver" {
			servers = append(servers, f[1])
		}
	}
	if len(servers) != 1 || servers[0] != "127.0.0.1" {
		t.Errorf("nameservers %q in resolv.conf:\n%s\nwant only 127.0.0.1", servers, conf)
	}
}

// A node whose pause image is missing builds it from its embedded pause
// program, and pods run on it.
func TestNodeBuildsMissingPauseImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	image := dockerhost.DefaultPauseImageRepo + ":e2e-" + framework.RandomSuffix()
	if _, err := env.Docker.ImageInspect(ctx, image); err == nil {
		t.Fatalf("image %s exists before the test", image)
	}
	// Cleanups run last first: the node, then its pause image, then the namespace.
	ns := namespace(t)
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "rmi", image).CombinedOutput(); err != nil {
			t.Errorf("docker rmi %s: %v: %s", image, err, out)
		}
	})
	n := startNode(t, framework.NodeOptions{Name: "e2e-pause-" + framework.RandomSuffix(), PauseImage: image})
	p := framework.OnNode(pod("on-own-pause", sleeper("app")), n.Name)
	created := createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	cs, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID)), dockerhost.LabelDockerType+"="+dockerhost.DockerTypeSandbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Image != image {
		t.Errorf("sandboxes of the pod = %+v, want one running %s", cs, image)
	}
	zero := int64(0)
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if err := framework.WaitForPodGone(ctx, env, ns, p.Name, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Every example manifest passes the API server's validation.
func TestExamplesPassAPIValidation(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(framework.RepoRoot(), "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		if _, err := env.Kubectl(context.Background(), "apply", "--dry-run=server", "-n", "default", "-f", f); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

// What vk-docker cannot do yet keeps the pod Pending with a Warning event
// that says what and why, instead of running it differently.
func TestUnsupportedPodsWaitWithAReason(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(*v1.Pod)
		reason string
		want   string
	}{
		{
			name: "csi-volume",
			mutate: func(p *v1.Pod) {
				p.Spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{CSI: &v1.CSIVolumeSource{Driver: "csi.example.com"}}}}
			},
			reason: "FailedMount",
			want:   `volume "data" : volume type csi is not supported`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ns := namespace(t)
			p := pod(c.name, sleeper("app"))
			c.mutate(p)
			created := createPod(t, ns, p)
			var events []string
			err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				list, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name})
				if err != nil {
					return false, nil
				}
				events = events[:0]
				for _, e := range list.Items {
					events = append(events, e.Type+" "+e.Reason+": "+e.Message)
					if e.Type == v1.EventTypeWarning && e.Reason == c.reason && strings.Contains(e.Message, c.want) {
						return true, nil
					}
				}
				return false, nil
			})
			if err != nil {
				t.Fatalf("no Warning %s event containing %q; events: %q", c.reason, c.want, events)
			}
			got, err := env.Client.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Phase != v1.PodPending {
				t.Errorf("phase = %s, want Pending", got.Status.Phase)
			}
			if cs, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID))); err != nil || len(cs) != 0 {
				t.Errorf("containers of the pod on the engine: %d (%v), want none", len(cs), err)
			}
		})
	}
}

// `kubectl logs` shows what a container wrote to stdout and stderr, and
// `kubectl exec` passes the command's exit code back.
func TestKubectlLogsAndExec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	p := pod("chatty", busybox("app", "echo to-stdout; echo to-stderr >&2; trap 'exit 0' TERM; while true; do sleep 1; done"))
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	var logs string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		logs, err = env.Kubectl(ctx, "-n", ns, "logs", p.Name)
		return err == nil && strings.Contains(logs, "to-stdout") && strings.Contains(logs, "to-stderr"), nil
	})
	if err != nil {
		t.Errorf("kubectl logs = %q, want both to-stdout and to-stderr", logs)
	}
	_, err = env.Exec(ctx, ns, p.Name, "app", "sh", "-c", "exit 3")
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Errorf("kubectl exec of `exit 3`: %v, want kubectl to exit 3", err)
	}
}

// A container the engine cannot start (its command does not exist) is
// reported as on a kubelet: terminated ContainerCannotRun with the engine's
// error, and a Failed event `Error: failed to start container "NAME": ...`.
func TestAContainerThatCannotStart(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	app := v1.Container{Name: "app", Image: env.BusyboxImage(), ImagePullPolicy: v1.PullIfNotPresent, Command: []string{"/no/such/program"}}
	p := pod("cannot-start", app)
	p.Spec.RestartPolicy = v1.RestartPolicyNever
	createPod(t, ns, p)
	got, err := framework.WaitForPod(context.Background(), env, ns, p.Name, time.Minute, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if err != nil {
		t.Fatal(err)
	}
	term := framework.StatusOf(got, "app").State.Terminated
	if term == nil || term.Reason != "ContainerCannotRun" || !strings.Contains(term.Message, "/no/such/program") {
		t.Fatalf("app state = %s, want terminated ContainerCannotRun with the engine's error", framework.Dump(framework.StatusOf(got, "app")))
	}
	want := `Error: failed to start container "app": `
	env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Warning Failed "+want+"...", func(e v1.Event) bool {
		return e.Type == v1.EventTypeWarning && e.Reason == "Failed" && strings.HasPrefix(e.Message, want) &&
			strings.Contains(e.Message, "/no/such/program") && e.InvolvedObject.FieldPath == "spec.containers{app}"
	})
}
