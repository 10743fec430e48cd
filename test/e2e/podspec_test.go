//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestPodSpec runs pods on a node configured as the seed's section 12
// expects (host namespaces allowed, label type=normal) with a cluster
// domain, and checks the container spec fields a user sees from inside.
func TestPodSpec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := startNode(t, framework.NodeOptions{
		Name: "e2e-spec-" + framework.RandomSuffix(),
		Args: []string{"--allow-host-network", "--allow-host-pid", "--allow-host-ipc",
			"--node-labels", "type=normal", "--cluster-domain", "cluster.local"},
	})
	onNode := func(name string, containers ...v1.Container) *v1.Pod {
		p := pod(name, containers...)
		return framework.OnNode(&v1.Pod{ObjectMeta: p.ObjectMeta, Spec: p.Spec}, n.Name)
	}

	t.Run("env from the downward API, ConfigMaps and Secrets, expanded in args", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		if _, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
			Data: map[string]string{"LEVEL": "debug", "COLOR": "blue"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, &v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
			Data: map[string][]byte{"token": []byte("t0ken")}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c := busybox("app", "env | sort > /tmp/env; echo \"args: $*\" >> /tmp/env; trap 'exit 0' TERM; while true; do sleep 1; done")
		c.Args = []string{"sh", "$(POD_IP)", "$(LEVEL)", "$$(LEVEL)"}
		c.Env = []v1.EnvVar{
			{Name: "TZ", Value: "Asia/Shanghai"},
			fieldRef("POD_IP", "status.podIP"), fieldRef("HOST_IP", "status.hostIP"), fieldRef("NODE", "spec.nodeName"),
			fieldRef("POD_NAME", "metadata.name"), fieldRef("APP", "metadata.labels['app']"),
			{Name: "URL", Value: "http://$(POD_IP):80/$(POD_NAME)"},
			{Name: "MEM_MI", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "CPU_M", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
			{Name: "TOKEN", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "creds"}, Key: "token"}}},
		}
		c.EnvFrom = []v1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "settings"}}}}
		c.Resources = v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("150m")},
			Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")},
		}
		// $(LEVEL) is not a variable of the container (CFG_LEVEL is): it
		// stays as written, as on a kubelet.
		p := onNode("env", c)
		p.Labels = map[string]string{"app": "shop"}
		createPod(t, ns, p)
		running := waitRunning(t, ns, p.Name)
		got := mustExec(t, ns, p.Name, "app", "cat", "/tmp/env")
		for _, want := range []string{
			"TZ=Asia/Shanghai", "POD_IP=" + running.Status.PodIP, "HOST_IP=" + running.Status.HostIP, "NODE=" + n.Name,
			"POD_NAME=env", "APP=shop", "URL=http://" + running.Status.PodIP + ":80/env", "MEM_MI=64", "CPU_M=150",
			"TOKEN=t0ken", "CFG_LEVEL=debug", "CFG_COLOR=blue",
			"args: " + running.Status.PodIP + " $(LEVEL) $(LEVEL)",
		} {
			if !containsLine(got, want) {
				t.Errorf("container environment lacks %q; it has:\n%s", want, got)
			}
		}
		if running.Status.PodIP == "" {
			t.Error("the pod reports no IP")
		}
	})

	t.Run("a missing ConfigMap holds the container with CreateContainerConfigError until it exists", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		c := sleeper("app")
		c.Env = []v1.EnvVar{{Name: "LEVEL", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{
			LocalObjectReference: v1.LocalObjectReference{Name: "late"}, Key: "level"}}}}
		p := onNode("late", c)
		createPod(t, ns, p)
		_, err := framework.WaitForPod(ctx, env, ns, p.Name, 30*time.Second, "CreateContainerConfigError", func(p *v1.Pod) bool {
			for _, cs := range p.Status.ContainerStatuses {
				if w := cs.State.Waiting; w != nil && w.Reason == "CreateContainerConfigError" && w.Message == `configmap "late" not found` {
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatal(err)
		}
		env.WaitPodEvent(t, ns, p.Name, 10*time.Second, `Warning Failed Error: configmap "late" not found`, func(e v1.Event) bool {
			return e.Type == v1.EventTypeWarning && e.Reason == "Failed" && e.Message == `Error: configmap "late" not found`
		})
		if _, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"},
			Data: map[string]string{"level": "info"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitRunning(t, ns, p.Name)
		if got := mustExec(t, ns, p.Name, "app", "sh", "-c", "echo $LEVEL"); strings.TrimSpace(got) != "info" {
			t.Errorf("LEVEL = %q, want info", got)
		}
	})

	t.Run("hostname, subdomain, hostAliases and dnsConfig", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		p := onNode("named", sleeper("app"))
		p.Spec.Hostname, p.Spec.Subdomain = "db-0", "db"
		p.Spec.HostAliases = []v1.HostAlias{{IP: "127.0.0.2", Hostnames: []string{"foo.local", "bar.local"}}}
		p.Spec.DNSPolicy = v1.DNSNone
		p.Spec.DNSConfig = &v1.PodDNSConfig{Nameservers: []string{"127.0.0.1"}, Searches: []string{"corp.example"},
			Options: []v1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}}}
		fqdn := p.DeepCopy()
		fqdn.Name, fqdn.Spec.SetHostnameAsFQDN = "fqdn", ptr.To(true)
		createPod(t, ns, p)
		createPod(t, ns, fqdn)
		waitRunning(t, ns, p.Name)
		waitRunning(t, ns, fqdn.Name)
		domain := "db." + ns + ".svc.cluster.local"
		if got := strings.TrimSpace(mustExec(t, ns, p.Name, "app", "hostname")); got != "db-0" {
			t.Errorf("hostname = %q, want db-0", got)
		}
		if got := strings.TrimSpace(mustExec(t, ns, fqdn.Name, "app", "hostname")); got != "db-0."+domain {
			t.Errorf("hostname with setHostnameAsFQDN = %q, want db-0.%s", got, domain)
		}
		hosts := mustExec(t, ns, p.Name, "app", "cat", "/etc/hosts")
		for _, want := range [][]string{{"127.0.0.2", "foo.local"}, {"127.0.0.2", "bar.local"}, {"db-0." + domain, "db-0"}} {
			if !hasHostsEntry(hosts, want...) {
				t.Errorf("/etc/hosts has no line with %q:\n%s", want, hosts)
			}
		}
		resolv := mustExec(t, ns, p.Name, "app", "cat", "/etc/resolv.conf")
		for _, want := range []string{"nameserver 127.0.0.1", "search corp.example", "options ndots:2"} {
			if !containsLine(resolv, want) {
				t.Errorf("/etc/resolv.conf lacks %q:\n%s", want, resolv)
			}
		}
	})

	t.Run("the kubelet's hosts file, one per pod, shared by its containers", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		aliases := []v1.HostAlias{{IP: "127.0.0.2", Hostnames: []string{"foo.local", "bar.local"}}, {IP: "127.0.0.3", Hostnames: []string{"baz.local"}}}
		const aliasLines = "\n# Entries added by HostAliases.\n127.0.0.2\tfoo.local\tbar.local\n127.0.0.3\tbaz.local\n"
		p := onNode("hosts", sleeper("app"), sleeper("side"))
		p.Spec.Hostname, p.Spec.Subdomain = "web-0", "web"
		p.Spec.HostAliases = aliases
		hostNet := onNode("hosts-hostnet", sleeper("app"), sleeper("side"))
		hostNet.Spec.HostNetwork = true
		hostNet.Spec.HostAliases = aliases
		createPod(t, ns, p)
		createPod(t, ns, hostNet)
		running := waitRunning(t, ns, p.Name)
		waitRunning(t, ns, hostNet.Name)

		want := "# Kubernetes-managed hosts file.\n" +
			"127.0.0.1\tlocalhost\n" +
			"::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"fe00::0\tip6-localnet\n" +
			"fe00::0\tip6-mcastprefix\n" +
			"fe00::1\tip6-allnodes\n" +
			"fe00::2\tip6-allrouters\n" +
			running.Status.PodIP + "\tweb-0.web." + ns + ".svc.cluster.local\tweb-0\n" +
			aliasLines
		// The engine runs on this machine: its /etc/hosts is the host's.
		host, err := os.ReadFile("/etc/hosts")
		if err != nil {
			t.Fatal(err)
		}
		wantHostNet := "# Kubernetes-managed hosts file (host network).\n" + string(host) + aliasLines
		for _, c := range []string{"app", "side"} {
			if got := mustExec(t, ns, p.Name, c, "cat", "/etc/hosts"); got != want {
				t.Errorf("/etc/hosts of %s:\n%s\nwant\n%s", c, got, want)
			}
			if got := mustExec(t, ns, hostNet.Name, c, "cat", "/etc/hosts"); got != wantHostNet {
				t.Errorf("/etc/hosts of %s with hostNetwork:\n%s\nwant\n%s", c, got, wantHostNet)
			}
		}
		// One file: what one container adds, the other reads.
		mustExec(t, ns, p.Name, "app", "sh", "-c", "echo '127.0.0.4\tadded' >> /etc/hosts")
		if got := mustExec(t, ns, p.Name, "side", "tail", "-n", "1", "/etc/hosts"); got != "127.0.0.4\tadded\n" {
			t.Errorf("the other container's last /etc/hosts line = %q, want the line app added", got)
		}
	})

	t.Run("ClusterFirst without a cluster DNS falls back to Default with the kubelet's warning", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		p := onNode("nodns", sleeper("app"))
		createPod(t, ns, p)
		waitRunning(t, ns, p.Name)
		env.WaitPodEvent(t, ns, p.Name, 10*time.Second, "Warning MissingClusterDNS", func(e v1.Event) bool {
			return e.Type == v1.EventTypeWarning && e.Reason == "MissingClusterDNS" &&
				strings.HasSuffix(e.Message, `kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`)
		})
		resolv := mustExec(t, ns, p.Name, "app", "cat", "/etc/resolv.conf")
		if !containsLine(resolv, "nameserver 127.0.0.1") || strings.Count(resolv, "nameserver") != 1 {
			t.Errorf("resolv.conf = %q, want only the pod's loopback as nameserver", resolv)
		}
	})

	t.Run("the seed's section 12 pod runs with the host's namespaces", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		p := examplePod(t, "full-example.yaml")
		p.Namespace = ""
		p.Spec.HostAliases = []v1.HostAlias{{IP: "127.0.0.3", Hostnames: []string{"seed.local"}}}
		framework.OnNode(p, n.Name)
		createPod(t, ns, p)
		// The seed's startupProbe waits 30 s before its first check.
		running, err := framework.WaitForPod(ctx, env, ns, p.Name, 90*time.Second, "Running and Ready", framework.Running)
		if err != nil {
			t.Fatal(err)
		}
		if running.Status.PodIP != running.Status.HostIP {
			t.Errorf("podIP %s, want the host's IP %s with hostNetwork", running.Status.PodIP, running.Status.HostIP)
		}
		if got := strings.TrimSpace(mustExec(t, ns, p.Name, "nginx", "sh", "-c", "echo $TZ; pwd")); got != "Asia/Shanghai\n/usr/share/nginx/html" {
			t.Errorf("TZ and working directory = %q, want Asia/Shanghai and /usr/share/nginx/html", got)
		}
		if hosts := mustExec(t, ns, p.Name, "nginx", "cat", "/etc/hosts"); !hasHostsEntry(hosts, "127.0.0.3", "seed.local") {
			t.Errorf("/etc/hosts lacks the hostAlias:\n%s", hosts)
		}
		// hostPID: the host's processes are visible (PID 1 is the host's
		// init, not the pod's pause).
		if got := mustExec(t, ns, p.Name, "nginx", "sh", "-c", "ls /proc | grep -c '^[0-9]'"); atoi(t, got) < 20 {
			t.Errorf("the container sees %s processes, want the host's (hostPID)", strings.TrimSpace(got))
		}
		inspect, err := env.Docker.ContainerInspect(ctx, dockerName(running, "nginx"))
		if err != nil {
			t.Fatal(err)
		}
		hc := inspect.HostConfig
		if hc.PidMode != "host" || hc.IpcMode != "host" {
			t.Errorf("nginx container pid=%s ipc=%s, want host", hc.PidMode, hc.IpcMode)
		}
	})

	t.Run("a host namespace the node does not allow keeps the pod Pending", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t)
		p := pod("hostpid", sleeper("app")) // the package's node allows none
		p.Spec.HostPID = true
		createPod(t, ns, p)
		env.WaitPodEvent(t, ns, p.Name, 20*time.Second, "Warning Unsupported hostPID", func(e v1.Event) bool {
			return e.Type == v1.EventTypeWarning && e.Message == "hostPID is not allowed on this node (start vk-docker with --allow-host-pid to allow it)"
		})
		got, err := env.Client.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase != v1.PodPending || len(got.Status.ContainerStatuses) > 0 && got.Status.ContainerStatuses[0].State.Running != nil {
			t.Errorf("phase %s, want Pending with nothing running", got.Status.Phase)
		}
	})
}

func fieldRef(name, path string) v1.EnvVar {
	return v1.EnvVar{Name: name, ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: path}}}
}

func containsLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// hasHostsEntry reports whether an /etc/hosts line holds all the fields.
func hasHostsEntry(hosts string, fields ...string) bool {
	for _, l := range strings.Split(hosts, "\n") {
		have := map[string]bool{}
		for _, f := range strings.Fields(l) {
			have[f] = true
		}
		all := true
		for _, f := range fields {
			all = all && have[f]
		}
		if all {
			return true
		}
	}
	return false
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// dockerName is the engine's name of a pod's container (first attempt).
func dockerName(p *v1.Pod, container string) string {
	return fmt.Sprintf("k8s_%s_%s_%s_%s_0", container, p.Name, p.Namespace, p.UID)
}

// A ClusterFirst pod on a node with --cluster-dns resolves through that
// server with the kubelet's search path: the short name "web" is asked as
// web.<namespace>.svc.cluster.local first (ndots:5), and the answer comes
// back. The cluster DNS is a pod of the test image dns-answer.
func TestPodSpecClusterFirstResolvesThroughTheClusterDNS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t) // cleaned up after the node closes
	name := "web." + ns + ".svc.cluster.local"
	dns := pod("dns", v1.Container{Name: "dns", Image: "vk-docker/dns-answer:" + env.Version, ImagePullPolicy: v1.PullNever,
		Args: []string{name + "=127.0.0.9"}})
	createPod(t, ns, dns)
	dnsIP := waitRunning(t, ns, dns.Name).Status.PodIP
	n := startNode(t, framework.NodeOptions{Name: "e2e-dns-" + framework.RandomSuffix(),
		Args: []string{"--cluster-dns", dnsIP, "--cluster-domain", "cluster.local"}})

	client := framework.OnNode(pod("client", sleeper("app")), n.Name)
	createPod(t, ns, client)
	t.Cleanup(func() { // before the node closes
		if err := env.Client.CoreV1().Pods(ns).Delete(ctx, client.Name, metav1.DeleteOptions{}); err != nil {
			t.Error(err)
		}
		if err := framework.WaitForPodGone(ctx, env, ns, client.Name, 30*time.Second); err != nil {
			t.Error(err)
		}
	})
	waitRunning(t, ns, client.Name)
	resolv := mustExec(t, ns, client.Name, "app", "cat", "/etc/resolv.conf")
	search := "search " + ns + ".svc.cluster.local svc.cluster.local cluster.local"
	if !containsLine(resolv, "nameserver "+dnsIP) || strings.Count(resolv, "nameserver") != 1 ||
		!containsLine(resolv, "options ndots:5") || !containsLine(resolv, search) {
		t.Errorf("/etc/resolv.conf:\n%s\nwant only nameserver %s, %q and options ndots:5", resolv, dnsIP, search)
	}
	// busybox nslookup tries every search domain and exits 1 when any
	// of them is unknown; the answer is in its output.
	out := mustExec(t, ns, client.Name, "app", "sh", "-c", "nslookup web; true")
	if !strings.Contains(out, "Name:\t"+name) || !strings.Contains(out, "Address: 127.0.0.9") {
		t.Errorf("nslookup web:\n%s\nwant %s at 127.0.0.9", out, name)
	}
	logs, err := env.Kubectl(ctx, "-n", ns, "logs", dns.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "query TypeA "+name+". from ") {
		t.Errorf("the cluster DNS was not asked for %s:\n%s", name, logs)
	}
}
