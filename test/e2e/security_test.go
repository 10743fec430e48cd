//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

// Issue 5's resources, ports and securityContext, seen as a user sees them:
// `kubectl exec` output, `docker inspect`, the pod's status and events, and
// an HTTP request to a hostPort. Reasons and messages are the kubelet's
// (k8s.io/kubernetes v1.37.2: pkg/kubelet/sysctl, kuberuntime's
// verifyRunAsNonRoot).

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// TestSecurity runs its cases on a node of its own, started with the
// kubelet's defaults for what pods may ask (no --allow-privileged, the safe
// sysctls only).
func TestSecurity(t *testing.T) {
	t.Parallel()
	n := startNode(t, framework.NodeOptions{Name: "e2e-sec-" + framework.RandomSuffix()})
	on := func(name string, containers ...v1.Container) *v1.Pod {
		p := pod(name, containers...)
		p.Spec.NodeSelector = nil
		p.Spec.Tolerations = nil
		return framework.OnNode(p, n.Name)
	}
	// Each group runs its cases in parallel; the node closes after all.
	t.Run("cases", func(t *testing.T) {
		t.Run("runAsUser-shows-in-id", func(t *testing.T) { t.Parallel(); testRunAsUser(t, on) })
		t.Run("readOnlyRootFilesystem-refuses-writes", func(t *testing.T) { t.Parallel(); testReadOnlyRoot(t, on) })
		t.Run("capabilities-in-CapEff", func(t *testing.T) { t.Parallel(); testCapabilities(t, on) })
		t.Run("limits-in-docker-inspect", func(t *testing.T) { t.Parallel(); testLimitsInInspect(t, on) })
		t.Run("memory-limit-OOMKilled", func(t *testing.T) { t.Parallel(); testOOMKilled(t, on) })
		t.Run("sysctls", func(t *testing.T) { t.Parallel(); testSysctls(t, on) })
		t.Run("runAsNonRoot-refuses-root", func(t *testing.T) { t.Parallel(); testRunAsNonRoot(t, on) })
		t.Run("privileged-needs-the-flag", func(t *testing.T) { t.Parallel(); testPrivilegedForbidden(t, on) })
		t.Run("hostPort", func(t *testing.T) { t.Parallel(); testHostPort(t, on) })
		t.Run("apparmor-without-apparmor", func(t *testing.T) { t.Parallel(); testAppArmorRejected(t, on) })
	})
}

type podOnNode func(name string, containers ...v1.Container) *v1.Pod

func testRunAsUser(t *testing.T, on podOnNode) {
	ns := namespace(t)
	p := on("ids", sleeper("app"))
	p.Spec.SecurityContext = &v1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000),
		SupplementalGroups: []int64{4000}, FSGroup: ptr.To[int64](2000)}
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	for cmd, want := range map[string]string{"id -u": "1000", "id -g": "3000"} {
		if got := strings.TrimSpace(mustExec(t, ns, p.Name, "app", "sh", "-c", cmd)); got != want {
			t.Errorf("%s = %q, want %q", cmd, got, want)
		}
	}
	groups := strings.Fields(mustExec(t, ns, p.Name, "app", "id", "-G"))
	for _, g := range []string{"2000", "4000"} {
		if !slices.Contains(groups, g) {
			t.Errorf("id -G = %q, want fsGroup and supplemental group %s among them", groups, g)
		}
	}
}

func testReadOnlyRoot(t *testing.T, on podOnNode) {
	ns := namespace(t)
	app := sleeper("app")
	app.SecurityContext = &v1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)}
	p := on("readonly", app)
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	out, err := env.Exec(context.Background(), ns, p.Name, "app", "touch", "/written")
	if err == nil || !strings.Contains(err.Error(), "Read-only file system") {
		t.Errorf("touch /written: out %q, err %v; want it refused with Read-only file system", out, err)
	}
}

func testCapabilities(t *testing.T, on podOnNode) {
	ns := namespace(t)
	app := sleeper("app")
	app.SecurityContext = &v1.SecurityContext{
		Capabilities:             &v1.Capabilities{Drop: []v1.Capability{"ALL"}, Add: []v1.Capability{"NET_BIND_SERVICE", "KILL"}},
		AllowPrivilegeEscalation: ptr.To(false),
	}
	p := on("caps", app)
	createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	status := mustExec(t, ns, p.Name, "app", "cat", "/proc/1/status")
	// CAP_KILL is bit 5 and CAP_NET_BIND_SERVICE bit 10: 0x20 | 0x400.
	for _, want := range []string{"CapEff:\t0000000000000420", "NoNewPrivs:\t1"} {
		if !strings.Contains(status, want) {
			t.Errorf("/proc/1/status lacks %q:\n%s", want, status)
		}
	}
}

func testLimitsInInspect(t *testing.T, on podOnNode) {
	ctx := context.Background()
	ns := namespace(t)
	app := sleeper("app")
	// The seed's section 12 resources.
	app.Resources = v1.ResourceRequirements{
		Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("200m"), v1.ResourceMemory: resource.MustParse("100Mi")},
		Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("200m"), v1.ResourceMemory: resource.MustParse("100Mi")},
	}
	p := on("limits", app)
	created := createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	cs, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID)), dockerhost.LabelContainerName+"=app")
	if err != nil || len(cs) != 1 {
		t.Fatalf("app containers on the engine: %d (%v), want 1", len(cs), err)
	}
	in, err := env.Docker.ContainerInspect(ctx, cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	hc := in.HostConfig
	got := fmt.Sprintf("period=%d quota=%d shares=%d memory=%d swap=%d", hc.CPUPeriod, hc.CPUQuota, hc.CPUShares, hc.Memory, hc.MemorySwap)
	if want := "period=100000 quota=20000 shares=204 memory=104857600 swap=104857600"; got != want {
		t.Errorf("docker inspect: %s, want %s", got, want)
	}
}

// Seed 9.2: a container above its memory limit is OOM-killed.
func testOOMKilled(t *testing.T, on podOnNode) {
	ns := namespace(t)
	// dd reads 100 MiB into one buffer: the memory really is touched.
	app := v1.Container{Name: "hog", Image: env.BusyboxImage(), ImagePullPolicy: v1.PullIfNotPresent,
		Command:   []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"},
		Resources: v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceMemory: resource.MustParse("50Mi")}}}
	p := on("oom", app)
	p.Spec.RestartPolicy = v1.RestartPolicyNever
	created := createPod(t, ns, p)
	w := env.WatchPod(t, created)
	got := w.WaitFor(t, 60*time.Second, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	cs := framework.StatusOf(got.Pod, "hog")
	if cs == nil || cs.State.Terminated == nil || cs.State.Terminated.Reason != "OOMKilled" || cs.State.Terminated.ExitCode != 137 {
		t.Errorf("container status = %s, want terminated OOMKilled, exit code 137", framework.Dump(cs))
	}
}

func testSysctls(t *testing.T, on podOnNode) {
	ctx := context.Background()
	ns := namespace(t)
	// A safe sysctl is set in the pod's network namespace.
	ok := on("safe-sysctl", sleeper("app"))
	ok.Spec.SecurityContext = &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "20000 30000"}}}
	createPod(t, ns, ok)
	// An unsafe one fails the pod before anything runs.
	bad := on("unsafe-sysctl", sleeper("app"))
	bad.Spec.SecurityContext = &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "kernel.msgmax", Value: "65536"}}}
	created := createPod(t, ns, bad)

	waitRunning(t, ns, ok.Name)
	if got := strings.Join(strings.Fields(mustExec(t, ns, ok.Name, "app", "cat", "/proc/sys/net/ipv4/ip_local_port_range")), " "); got != "20000 30000" {
		t.Errorf("ip_local_port_range in the pod = %q, want 20000 30000", got)
	}

	failed, err := framework.WaitForPod(ctx, env, ns, bad.Name, 30*time.Second, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if err != nil {
		t.Fatal(err)
	}
	const msg = `forbidden sysctl: "kernel.msgmax" not allowlisted`
	if failed.Status.Reason != "SysctlForbidden" || failed.Status.Message != "Pod was rejected: "+msg {
		t.Errorf("status reason %q message %q, want SysctlForbidden %q", failed.Status.Reason, failed.Status.Message, "Pod was rejected: "+msg)
	}
	env.WaitPodEvent(t, ns, bad.Name, 10*time.Second, "Warning SysctlForbidden", func(e v1.Event) bool {
		return e.Type == v1.EventTypeWarning && e.Reason == "SysctlForbidden" && e.Message == msg
	})
	if cs, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID))); err != nil || len(cs) != 0 {
		t.Errorf("containers of the rejected pod: %d (%v), want none", len(cs), err)
	}
	if out, err := env.Kubectl(ctx, "-n", ns, "get", "pod", bad.Name, "--no-headers"); err != nil || !strings.Contains(out, "SysctlForbidden") {
		t.Errorf("kubectl get pod = %q (%v), want STATUS SysctlForbidden", out, err)
	}
}

func testRunAsNonRoot(t *testing.T, on podOnNode) {
	ctx := context.Background()
	ns := namespace(t)
	app := sleeper("app")
	app.SecurityContext = &v1.SecurityContext{RunAsNonRoot: ptr.To(true)}
	p := on("nonroot", app)
	created := createPod(t, ns, p)
	want := fmt.Sprintf("container has runAsNonRoot and image will run as root (pod: %q, container: app)",
		fmt.Sprintf("%s_%s(%s)", p.Name, ns, created.UID))
	got, err := framework.WaitForPod(ctx, env, ns, p.Name, 30*time.Second, "CreateContainerConfigError", func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, "app")
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerConfigError"
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := framework.StatusOf(got, "app").State.Waiting.Message; m != want {
		t.Errorf("waiting message = %q, want %q", m, want)
	}
	env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Warning Failed", func(e v1.Event) bool {
		return e.Type == v1.EventTypeWarning && e.Reason == "Failed" && e.Message == "Error: "+want
	})
	// Only the sandbox exists: the container was never created.
	cs, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID)), dockerhost.LabelContainerName+"=app")
	if err != nil || len(cs) != 0 {
		t.Errorf("app containers on the engine: %d (%v), want none", len(cs), err)
	}
}

func testPrivilegedForbidden(t *testing.T, on podOnNode) {
	ctx := context.Background()
	ns := namespace(t)
	app := sleeper("app")
	app.SecurityContext = &v1.SecurityContext{Privileged: ptr.To(true)}
	p := on("privileged", app)
	created := createPod(t, ns, p)
	want := fmt.Sprintf("pod with UID %q specified privileged container, but is disallowed", created.UID)
	got, err := framework.WaitForPod(ctx, env, ns, p.Name, 30*time.Second, "Forbidden", func(p *v1.Pod) bool { return p.Status.Reason == "Forbidden" })
	if err != nil {
		t.Fatal(err)
	}
	cs := framework.StatusOf(got, "app")
	if got.Status.Phase != v1.PodPending || got.Status.Message != want || cs == nil || cs.State.Waiting == nil || cs.State.Waiting.Reason != "Blocked" {
		t.Errorf("status = %s", framework.Dump(got.Status))
	}
	env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Warning Forbidden", func(e v1.Event) bool {
		return e.Type == v1.EventTypeWarning && e.Reason == "Forbidden" && e.Message == want
	})
	if cs, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID))); err != nil || len(cs) != 0 {
		t.Errorf("containers of the blocked pod: %d (%v), want none", len(cs), err)
	}
}

// An AppArmor profile on an engine that does not enforce AppArmor fails the
// pod as the kubelet's AppArmor admission does; an engine that does would
// run it under the profile (see the unit tests).
func testAppArmorRejected(t *testing.T, on podOnNode) {
	ctx := context.Background()
	info, err := env.Docker.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(info.SecurityOptions, func(o string) bool { return strings.HasPrefix(o, "name=apparmor") }) {
		t.Skipf("the engine enforces AppArmor (%q): nothing to reject", info.SecurityOptions)
	}
	ns := namespace(t)
	p := on("apparmor", sleeper("app"))
	p.Spec.SecurityContext = &v1.PodSecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeRuntimeDefault}}
	createPod(t, ns, p)
	got, err := framework.WaitForPod(ctx, env, ns, p.Name, 30*time.Second, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if err != nil {
		t.Fatal(err)
	}
	const want = "Pod was rejected: Cannot enforce AppArmor: AppArmor is not enabled on the host"
	if got.Status.Reason != "AppArmor" || got.Status.Message != want {
		t.Errorf("status reason %q message %q, want AppArmor %q", got.Status.Reason, got.Status.Message, want)
	}
}

// A hostPort is reachable on the Docker host; a second pod asking for the
// same port is rejected by the node.
func testHostPort(t *testing.T, on podOnNode) {
	ns := namespace(t)
	port := freeLocalPort(t)
	web := busybox("web", "mkdir -p /www && echo hello-from-hostport > /www/index.html && exec httpd -f -p 8080 -h /www")
	web.Ports = []v1.ContainerPort{{ContainerPort: 8080, HostPort: int32(port), HostIP: "127.0.0.1", Protocol: v1.ProtocolTCP}}
	first := on("hostport", web)
	createPod(t, ns, first)
	waitRunning(t, ns, first.Name)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
		if strings.Contains(body, "hello-from-hostport") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(body, "hello-from-hostport") {
		t.Fatalf("GET %s = %q (last error aside), want the pod's page", url, body)
	}

	// The scheduler keeps a second pod with the same hostPort off the node;
	// one bound by name reaches it, and the node's admission rejects it
	// (admission_test.go), as a kubelet does, before the engine is asked.
	second := on("hostport-taken", web)
	second.Spec.NodeName = first.Spec.NodeSelector["kubernetes.io/hostname"]
	expectRejected(t, ns, second, "NodePorts",
		"Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports")
}
