//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
)

const (
	localDockerHost = "unix:///var/run/docker.sock"
	// hostLostTimeout is the test node's --host-lost-timeout: long enough
	// for a silent host to come back in time once, short enough to wait.
	hostLostTimeout = 40 * time.Second
)

// One node fronts two Docker hosts: this machine's engine and a second one
// in its own network namespace, reached over TCP with TLS, whose pod IPs are
// not routable from here (as a Docker VM's). Pods spread over both by free
// resources; on the second host probes, hooks, logs, exec and port-forward
// work through the sandbox; the node's capacity is the sum; a provider
// killed with SIGKILL finds every pod again on both hosts without
// restarting any; a host that stops answering leaves the node Ready and new
// pods go to the other.
func TestSeveralDockerHosts(t *testing.T) {
	ctx := context.Background()
	grpcImage := "vk-docker/grpc-health:" + env.Version
	remote := framework.StartRemoteEngine(t, env.BusyboxImage(), env.PauseImage(), grpcImage)
	hostArgs := func(certDir string) []string {
		return []string{"--docker-host", localDockerHost, "--docker-host", remote.URL, "--docker-cert-path", remote.URL + "=" + certDir}
	}

	t.Run("a client certificate the engine refuses is a clear error naming the host", func(t *testing.T) {
		name := "e2e-hosts-bad-" + framework.RandomSuffix()
		n, err := framework.StartNode(ctx, env, framework.NodeOptions{Name: name, AdminCredentials: true, Args: hostArgs(remote.BadCertDir)})
		if err == nil {
			_ = n.Close(ctx)
			t.Fatal("the node started with a client certificate the engine's CA did not sign")
		}
		_ = env.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
		for _, want := range []string{"docker host " + remote.URL + " refused: TLS verification failed", "bad certificate"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the node's error does not say %q:\n%v", want, err)
			}
		}
	})

	n := startNode(t, framework.NodeOptions{Name: "e2e-hosts-" + framework.RandomSuffix(), AdminCredentials: true,
		Args: append(hostArgs(remote.CertDir), "--node-status-interval", "1s", "--host-lost-timeout", hostLostTimeout.String())})
	t.Cleanup(func() { framework.RemoveEngineObjectsOn(ctx, remote.Docker, n.Name) })

	// Capacity is the sum of both hosts'.
	localInfo, err := env.Docker.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	remoteInfo, err := remote.Docker.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCPU := *resource.NewQuantity(int64(localInfo.NCPU+remoteInfo.NCPU), resource.DecimalSI)
	wantMem := *resource.NewQuantity(localInfo.MemTotal+remoteInfo.MemTotal, resource.BinarySI)
	nodeObj, err := env.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := nodeObj.Status.Capacity; c.Cpu().Cmp(wantCPU) != 0 || c.Memory().Cmp(wantMem) != 0 {
		t.Errorf("node capacity cpu %s memory %s; want the sum of both hosts: cpu %s memory %s", c.Cpu(), c.Memory(), &wantCPU, &wantMem)
	}

	ns := namespace(t)
	onNode := func(p *v1.Pod) *v1.Pod { return framework.OnNode(p, n.Name) }
	// A pod asking for a whole CPU goes to the first host (a tie: both are
	// empty); the next two go to the second, which is left less allocated.
	big := pod("big", sleeper("app"))
	big.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("1")}
	createPod(t, ns, onNode(big))
	waitRunning(t, ns, "big")

	web := busybox("web", "mkdir -p /www && echo hello from the second host > /www/index.html && exec httpd -f -p 80 -h /www")
	web.StartupProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"cat", "/www/index.html"}}}, PeriodSeconds: 1}
	web.ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/index.html", Port: intstr.FromInt32(80)}}, PeriodSeconds: 1}
	web.LivenessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(80)}}, PeriodSeconds: 2, FailureThreshold: 30}
	web.Lifecycle = &v1.Lifecycle{PostStart: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", "echo poststart ran > /tmp/poststart"}}}}
	grpc := v1.Container{Name: "grpc", Image: grpcImage, ImagePullPolicy: v1.PullNever,
		ReadinessProbe: &v1.Probe{ProbeHandler: v1.ProbeHandler{GRPC: &v1.GRPCAction{Port: 9000}}, PeriodSeconds: 1}}
	createPod(t, ns, onNode(pod("probed", web, grpc)))
	talker := busybox("talk", "echo hello from talker; trap 'exit 0' TERM; while true; do echo tick; sleep 1; done")
	createPod(t, ns, onNode(pod("talker", talker)))

	remoteIP := strings.TrimSuffix(strings.TrimPrefix(remote.URL, "tcp://"), ":2376")
	hostOf := map[string]string{}
	for _, name := range []string{"big", "probed", "talker"} {
		p := waitRunning(t, ns, name)
		hostOf[name] = p.Status.HostIP
		if name != "big" && !strings.HasPrefix(p.Status.PodIP, "198.18.252.") {
			t.Errorf("pod %s has IP %q; want one of the second host's bridge", name, p.Status.PodIP)
		}
	}
	if hostOf["big"] != "127.0.0.1" || hostOf["probed"] != remoteIP || hostOf["talker"] != remoteIP {
		t.Fatalf("hostIPs %v; want big on the first host (127.0.0.1), probed and talker on the second (%s)", hostOf, remoteIP)
	}
	remoteIDs := containerIDsOn(t, remote.Docker, n.Name)
	if len(remoteIDs) != 5 { // two sandboxes, three containers
		t.Fatalf("the second host holds %d containers of the node; want 5: %v", len(remoteIDs), containerNamesOn(t, remote.Docker, n.Name))
	}
	for _, id := range remoteIDs {
		c, err := remote.Docker.ContainerInspect(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Config.Labels[dockerhost.LabelDockerHost]; got != remote.URL {
			t.Errorf("container %s is labelled with host %q; want %q", c.Name, got, remote.URL)
		}
	}

	t.Run("logs exec attach and port-forward reach the second host", func(t *testing.T) {
		if out := mustExec(t, ns, "probed", "web", "cat", "/tmp/poststart"); !strings.Contains(out, "poststart ran") {
			t.Errorf("postStart hook left %q", out)
		}
		logs, err := env.Kubectl(ctx, "-n", ns, "logs", "talker")
		if err != nil || !strings.Contains(logs, "hello from talker") {
			t.Errorf("kubectl logs talker: %q, %v", logs, err)
		}
		// kubectl attach follows the main process's output until cut off.
		actx, acancel := context.WithTimeout(ctx, 4*time.Second)
		attached, _ := env.Kubectl(actx, "-n", ns, "attach", "talker", "-c", "talk")
		acancel()
		if !strings.Contains(attached, "tick") {
			t.Errorf("kubectl attach talker printed %q; want its ticks", attached)
		}
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		addr := portForward(t, fctx, ns, "probed")
		resp, err := http.Get("http://" + addr + "/index.html")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "hello from the second host") {
			t.Errorf("port-forward answered %q", body)
		}
	})

	t.Run("a provider killed with SIGKILL finds every pod on both hosts", func(t *testing.T) {
		localIDs := containerIDsOn(t, env.Docker, n.Name)
		n.Kill()
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"big", "probed", "talker"} {
			p := waitRunning(t, ns, name)
			for _, cs := range p.Status.ContainerStatuses {
				if cs.RestartCount != 0 {
					t.Errorf("%s/%s restarted %d times after the provider restart", name, cs.Name, cs.RestartCount)
				}
			}
			if p.Status.HostIP != hostOf[name] {
				t.Errorf("pod %s moved from host %s to %s", name, hostOf[name], p.Status.HostIP)
			}
		}
		if got := containerIDsOn(t, remote.Docker, n.Name); strings.Join(got, ",") != strings.Join(remoteIDs, ",") {
			t.Errorf("containers on the second host changed across the restart: %v → %v", remoteIDs, got)
		}
		if got := containerIDsOn(t, env.Docker, n.Name); strings.Join(got, ",") != strings.Join(localIDs, ",") {
			t.Errorf("containers on the first host changed across the restart: %v → %v", localIDs, got)
		}
	})

	t.Run("a host that stops answering leaves the node Ready and new pods go to the other", func(t *testing.T) {
		if err := remote.Freeze(); err != nil {
			t.Fatal(err)
		}
		thawed := false
		defer func() {
			if !thawed {
				_ = remote.Thaw()
			}
		}()
		var msg string
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			nd, err := env.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range nd.Status.Conditions {
				if c.Type == v1.NodeReady {
					msg = string(c.Status) + ": " + c.Message
					return c.Status == v1.ConditionTrue && strings.Contains(c.Message, remote.URL), nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("the node's Ready condition never named the silent host while staying True; last: %s", msg)
		}
		silent := time.Now()
		talkerNotReady, err := framework.WaitForPod(ctx, env, ns, "talker", 30*time.Second, "not ready for its silent host", func(p *v1.Pod) bool {
			c := framework.ConditionOf(p, v1.PodReady)
			return c != nil && c.Status == v1.ConditionFalse && c.Reason == "DockerHostLost"
		})
		if err != nil {
			t.Fatal(err)
		}
		if c := framework.ConditionOf(talkerNotReady, v1.PodReady); !strings.Contains(c.Message, remote.URL) {
			t.Errorf("talker's Ready condition says %q; want the silent host named", c.Message)
		}
		env.WaitPodEvent(t, ns, "talker", 10*time.Second, "DockerHostLost warning", func(e v1.Event) bool {
			return e.Type == v1.EventTypeWarning && e.Reason == "DockerHostLost" && strings.Contains(e.Message, remote.URL)
		})
		t.Logf("pods of the silent host not ready %v after the freeze", time.Since(silent))
		createPod(t, ns, onNode(pod("after", sleeper("app"))))
		if p := waitRunning(t, ns, "after"); p.Status.HostIP != "127.0.0.1" {
			t.Errorf("a pod created while the second host is silent went to %s", p.Status.HostIP)
		}
		if err := remote.Thaw(); err != nil {
			t.Fatal(err)
		}
		thawed = true
		for _, name := range []string{"probed", "talker"} {
			p := waitRunning(t, ns, name)
			for _, cs := range p.Status.ContainerStatuses {
				if cs.RestartCount != 0 {
					t.Errorf("%s/%s restarted %d times while its host was silent", name, cs.Name, cs.RestartCount)
				}
			}
		}
		if got := containerIDsOn(t, remote.Docker, n.Name); strings.Join(got, ",") != strings.Join(remoteIDs, ",") {
			t.Errorf("containers on the second host changed while it was silent: %v → %v", remoteIDs, got)
		}
	})

	t.Run("past --host-lost-timeout its pods fail, and are removed when it comes back", func(t *testing.T) {
		if err := remote.Freeze(); err != nil {
			t.Fatal(err)
		}
		thawed := false
		defer func() {
			if !thawed {
				_ = remote.Thaw()
			}
		}()
		frozen := time.Now()
		for _, name := range []string{"probed", "talker"} {
			p, err := framework.WaitForPod(ctx, env, ns, name, hostLostTimeout+30*time.Second, "Failed", func(p *v1.Pod) bool {
				return p.Status.Phase == v1.PodFailed
			})
			if err != nil {
				t.Fatal(err)
			}
			if p.Status.Reason != "DockerHostLost" || !strings.Contains(p.Status.Message, remote.URL) {
				t.Errorf("pod %s failed with reason %q message %q; want DockerHostLost naming %s", name, p.Status.Reason, p.Status.Message, remote.URL)
			}
			if took := time.Since(frozen); took < hostLostTimeout {
				t.Errorf("pod %s failed %v after its host went silent; the timeout is %v", name, took, hostLostTimeout)
			}
		}
		t.Logf("pods of the silent host failed %v after the freeze (timeout %v)", time.Since(frozen), hostLostTimeout)
		if err := remote.Thaw(); err != nil {
			t.Fatal(err)
		}
		thawed = true
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			return len(containerIDsOn(t, remote.Docker, n.Name)) == 0, nil
		})
		if err != nil {
			t.Errorf("the failed pods' containers are still on the host that came back: %v", containerIDsOn(t, remote.Docker, n.Name))
		}
	})

	for _, name := range []string{"big", "probed", "talker", "after"} {
		_ = env.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{})
	}
	for _, name := range []string{"big", "probed", "talker", "after"} {
		if err := framework.WaitForPodGone(ctx, env, ns, name, 60*time.Second); err != nil {
			t.Error(err)
		}
	}
	if left := containerIDsOn(t, remote.Docker, n.Name); len(left) > 0 {
		t.Errorf("the node left %d containers on the second host", len(left))
	}
}

// containerNamesOn lists a node's containers on an engine with their state.
func containerNamesOn(t *testing.T, docker dockerhost.Client, node string) []string {
	t.Helper()
	cs, err := docker.ContainerList(context.Background(), dockerhost.NodeSelector(node))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, strings.Join(c.Names, ",")+" "+c.Status)
	}
	return out
}

// containerIDsOn lists, sorted, the IDs of a node's containers on an engine.
func containerIDsOn(t *testing.T, docker dockerhost.Client, node string) []string {
	t.Helper()
	cs, err := docker.ContainerList(context.Background(), dockerhost.NodeSelector(node))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	return ids
}
