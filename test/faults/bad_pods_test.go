//go:build faults

package faults

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// badPod is one row of the corpus: a pod a user could write that cannot run
// as written, and what the kubelet shows for it (the words of
// pkg/kubelet in k8s.io/kubernetes v1.37: phase, reasons, messages, events).
type badPod struct {
	name string
	// pod builds the pod on the corpus node.
	pod func(c *corpus) *v1.Pod
	// want describes the state until accepts, the kubelet's for this pod.
	want  string
	until func(p *v1.Pod) bool
	// events the kubelet records about the pod by then.
	events []wantEvent
	// maxEvents bounds how many events of a reason the pod gets in its
	// first 30 s (the kubelet retries a failing sync with back-off, about
	// every 10 s at first); 0 for no bound.
	maxEvents map[string]int32
	// then runs once the pod reached want (e.g. deletes it).
	then func(t *testing.T, c *corpus, p *v1.Pod)
	// pending names the work of issue #13 the row waits for, if any.
	pending string
}

// wantEvent is an event the kubelet records: its type, reason and a
// pattern of its message.
type wantEvent struct {
	typ, reason string
	message     string // a regular expression, anchored by the row
}

func (w wantEvent) String() string { return w.typ + " " + w.reason + " " + w.message }

// corpus is the node and namespace the rows share.
type corpus struct {
	node *framework.Node
	ns   string
	port int32 // a free host port the hostPort rows contend for
}

// The corpus of bad pods, as a table: each runs in parallel on one node with
// the default flags, reaches the state a kubelet would show with the
// kubelet's reasons, messages and events, and the provider never panics.
func TestBadPodsCorpus(t *testing.T) {
	fig := summary(t, "bad-pods")
	start := time.Now()
	c := &corpus{
		node: startNode(t, framework.NodeOptions{Name: "faults-bad-" + framework.RandomSuffix()}),
		port: freeHostPort(t),
	}
	c.ns = namespace(t, "faults-bad")
	rows := badPods()
	var (
		mu     sync.Mutex
		failed []string
	)
	t.Run("rows", func(t *testing.T) {
		for _, row := range rows {
			t.Run(row.name, func(t *testing.T) {
				t.Parallel()
				// Deferred: a row's Fatal ends its goroutine.
				defer func() {
					if t.Failed() {
						mu.Lock()
						name := row.name
						if row.pending != "" {
							name += "(" + row.pending + ")"
						}
						failed = append(failed, name)
						mu.Unlock()
					}
				}()
				runBadPod(t, c, row)
			})
		}
	})
	fig.set("rows", "%d", len(rows))
	fig.set("as_kubelet", "%d", len(rows)-len(failed))
	fig.set("took", "%s", seconds(time.Since(start)))
	if len(failed) > 0 {
		fig.set("differ", "%s", strings.Join(failed, ","))
	}
	checkNoPanic(t, fig, c.node)
}

func runBadPod(t *testing.T, c *corpus, row badPod) {
	ctx := context.Background()
	p := row.pod(c)
	if p.Name == "" {
		p.Name = strings.ToLower(row.name) // names are DNS subdomains
	}
	created, err := env.Client.CoreV1().Pods(c.ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	w := env.WatchPod(t, created)
	v, err := w.Wait(time.Time{}, 3*time.Minute, row.want, row.until)
	if err != nil {
		t.Fatalf("want %s: %v", row.want, err)
	}
	for _, we := range row.events {
		re := regexp.MustCompile("^" + expand(we.message, created) + "$")
		what := we.String()
		if e := waitEvent(ctx, c.ns, p.Name, 30*time.Second, func(e v1.Event) bool {
			return e.Type == we.typ && e.Reason == we.reason && re.MatchString(e.Message)
		}); e == nil {
			t.Errorf("no event %q; events:\n  %s", what, framework.EventLines(env.PodEvents(t, c.ns, p.Name)))
		}
	}
	if len(row.maxEvents) > 0 {
		// Read once the pod is 30 s old: every event so far counts.
		time.Sleep(time.Until(created.CreationTimestamp.Add(30 * time.Second)))
		counts := map[string]int32{}
		for _, e := range env.PodEvents(t, c.ns, p.Name) {
			counts[e.Reason] += max(e.Count, 1)
		}
		for reason, most := range row.maxEvents {
			if counts[reason] > most {
				t.Errorf("%d %s events in the pod's first 30 s, a kubelet's back-off gives at most %d; events:\n  %s",
					counts[reason], reason, most, framework.EventLines(env.PodEvents(t, c.ns, p.Name)))
			}
		}
	}
	if row.then != nil {
		row.then(t, c, v.Pod)
	}
}

// expand fills a message pattern's placeholders: {pod} is the kubelet's
// format.Pod (name_namespace(uid)), {uid} the UID, both quoted for a
// regular expression.
func expand(pattern string, p *v1.Pod) string {
	pattern = strings.ReplaceAll(pattern, "{pod}", regexp.QuoteMeta(fmt.Sprintf("%s_%s(%s)", p.Name, p.Namespace, p.UID)))
	return strings.ReplaceAll(pattern, "{uid}", regexp.QuoteMeta(string(p.UID)))
}

func freeHostPort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// States.

func waiting(container, reason string, message *regexp.Regexp) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, container)
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == reason &&
			(message == nil || message.MatchString(cs.State.Waiting.Message))
	}
}

func terminated(phase v1.PodPhase, container, reason string, exitCode int32, message *regexp.Regexp) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, container)
		if p.Status.Phase != phase || cs == nil {
			return false
		}
		term := cs.State.Terminated
		if term == nil {
			term = cs.LastTerminationState.Terminated
		}
		return term != nil && term.Reason == reason && (exitCode < 0 || term.ExitCode == exitCode) &&
			(message == nil || message.MatchString(term.Message))
	}
}

func rejected(reason, message string) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodFailed && p.Status.Reason == reason && p.Status.Message == message
	}
}

func restarted(container string, atLeast int32) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool {
		cs := framework.StatusOf(p, container)
		return cs != nil && cs.RestartCount >= atLeast
	}
}

func pendingCreating(p *v1.Pod) bool { return containerCreating(p) }

func both(a, b func(*v1.Pod) bool) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool { return a(p) && b(p) }
}

func phase(ph v1.PodPhase) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool { return p.Status.Phase == ph }
}

func notReady(reason string) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool {
		c := framework.ConditionOf(p, v1.ContainersReady)
		return p.Status.Phase == v1.PodRunning && c != nil && c.Status == v1.ConditionFalse && c.Reason == reason
	}
}

// Pods.

func (c *corpus) one(ct v1.Container) *v1.Pod { return podOn(c.node.Name, "", ct) }

func (c *corpus) never(ct v1.Container) *v1.Pod {
	p := c.one(ct)
	p.Spec.RestartPolicy = v1.RestartPolicyNever
	return p
}

func with(ct v1.Container, f func(*v1.Container)) v1.Container {
	f(&ct)
	return ct
}

func execProbe(cmd ...string) *v1.Probe {
	return &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: cmd}}, PeriodSeconds: 1, FailureThreshold: 1}
}

func mustRe(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// probeTimedOut is the kubelet's message of an exec probe that outran its
// timeout, which a loaded machine may show instead of the command's empty
// output.
const probeTimedOut = `(command timed out: ".*" timed out after \d+s)?`

const missingImage = "127.0.0.1:1/faults/missing:1"

func badPods() []badPod {
	q := regexp.QuoteMeta
	// imagePullErrors are the kubelet's events of startContainer when
	// EnsureImageExists fails: "Failed" with "Error: <reason>".
	return []badPod{{
		name: "missing-image",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) { ct.Image = missingImage }))
		},
		want:  "Pending, app waiting ImagePullBackOff",
		until: both(phase(v1.PodPending), waiting("app", "ImagePullBackOff", mustRe("^Back-off pulling image "+q(`"`+missingImage+`"`)))),
		events: []wantEvent{
			{v1.EventTypeNormal, "Pulling", q(`Pulling image "` + missingImage + `"`)},
			{v1.EventTypeWarning, "Failed", q(`Failed to pull image "`+missingImage+`": `) + ".*"},
			{v1.EventTypeWarning, "Failed", "Error: ErrImagePull"},
			{v1.EventTypeNormal, "BackOff", q(`Back-off pulling image "`+missingImage+`"`) + ".*"},
			{v1.EventTypeWarning, "Failed", "Error: ImagePullBackOff"},
		},
	}, {
		name: "never-pull-missing",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) {
				ct.Image, ct.ImagePullPolicy = "faults/absent:1", v1.PullNever
			}))
		},
		want:  "Pending, app waiting ErrImageNeverPull",
		until: both(phase(v1.PodPending), waiting("app", "ErrImageNeverPull", mustRe("^"+q(`Container image "faults/absent:1" is not present with pull policy of Never`)+"$"))),
		events: []wantEvent{
			{v1.EventTypeWarning, "ErrImageNeverPull", q(`Container image "faults/absent:1" is not present with pull policy of Never`)},
			{v1.EventTypeWarning, "Failed", "Error: ErrImageNeverPull"},
		},
	}, {
		name: "invalid-image-name",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) { ct.Image = "faults/UPPER:1" }))
		},
		want: "Pending, app waiting InvalidImageName",
		until: both(phase(v1.PodPending), waiting("app", "InvalidImageName",
			mustRe("^"+q(`Failed to apply default image tag "faults/UPPER:1": couldn't parse image name "faults/UPPER:1": invalid reference format`)))),
		events: []wantEvent{
			{v1.EventTypeWarning, "InspectFailed", q(`Failed to apply default image tag "faults/UPPER:1": couldn't parse image name "faults/UPPER:1": invalid reference format`) + ".*"},
			{v1.EventTypeWarning, "Failed", "Error: InvalidImageName"},
		},
	}, {
		name: "command-not-found",
		pod: func(c *corpus) *v1.Pod {
			return c.never(with(sleeper("app"), func(ct *v1.Container) { ct.Command = []string{"/no/such/binary"} }))
		},
		// cri-dockerd: a container the engine could not start has exit
		// code 127 and the engine's error; its reason is ContainerCannotRun.
		want:   "Failed, app terminated ContainerCannotRun exit 127",
		until:  terminated(v1.PodFailed, "app", "ContainerCannotRun", 127, mustRe(`no such file or directory`)),
		events: []wantEvent{{v1.EventTypeWarning, "Failed", "Error: .*no such file or directory.*"}},
	}, {
		name: "bad-working-dir",
		pod: func(c *corpus) *v1.Pod {
			return c.never(with(sleeper("app"), func(ct *v1.Container) { ct.WorkingDir = "/etc/passwd" }))
		},
		// Docker 20.10 refuses the create itself ("Cannot mkdir: /etc/passwd
		// is not a directory"), so a kubelet on it (cri-dockerd) keeps the
		// pod Pending, CreateContainerError, retried with back-off.
		want:   "Pending, app waiting CreateContainerError",
		until:  both(phase(v1.PodPending), waiting("app", "CreateContainerError", mustRe(`not a directory`))),
		events: []wantEvent{{v1.EventTypeWarning, "Failed", "Error: .*not a directory.*"}},
	}, {
		name: "liveness-fails",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) { ct.LivenessProbe = execProbe("false") }))
		},
		want:  "app restarted by its liveness probe",
		until: restarted("app", 1),
		events: []wantEvent{
			{v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: " + probeTimedOut},
			{v1.EventTypeNormal, "Killing", "Container app failed liveness probe, will be restarted"},
		},
	}, {
		name: "readiness-fails",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) { ct.ReadinessProbe = execProbe("sh", "-c", "echo not yet; exit 1") }))
		},
		want:   "Running, ContainersReady False ContainersNotReady",
		until:  notReady("ContainersNotReady"),
		events: []wantEvent{{v1.EventTypeWarning, "Unhealthy", "Readiness probe failed: (not yet\n?|" + probeTimedOut + ")"}},
	}, {
		name: "readiness-tcp-refused",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) {
				ct.ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(9)}}, PeriodSeconds: 1}
			}))
		},
		want:   "Running, ContainersReady False ContainersNotReady",
		until:  notReady("ContainersNotReady"),
		events: []wantEvent{{v1.EventTypeWarning, "Unhealthy", `Readiness probe failed: dial tcp [0-9.]+:9: connect: connection refused`}},
	}, {
		name: "startup-fails",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) { ct.StartupProbe = execProbe("false") }))
		},
		want:  "app restarted by its startup probe",
		until: restarted("app", 1),
		events: []wantEvent{
			{v1.EventTypeWarning, "Unhealthy", "Startup probe failed: " + probeTimedOut},
			{v1.EventTypeNormal, "Killing", "Container app failed startup probe, will be restarted"},
		},
	}, {
		name: "unsupported-volume",
		pod: func(c *corpus) *v1.Pod {
			p := c.one(sleeper("app"))
			p.Spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{CSI: &v1.CSIVolumeSource{Driver: "csi.example.com"}}}}
			return p
		},
		want:   "Pending, nothing created",
		until:  phase(v1.PodPending),
		events: []wantEvent{{v1.EventTypeWarning, "FailedMount", `.*volume "data" : .*`}},
		then: func(t *testing.T, c *corpus, p *v1.Pod) {
			if cs, err := env.Docker.ContainerList(context.Background(), dockerhost.PodSelector(string(p.UID))); err != nil || len(cs) != 0 {
				t.Errorf("containers of the pod on the engine: %d (%v), want none", len(cs), err)
			}
		},
	}, {
		name: "missing-configmap-volume",
		pod: func(c *corpus) *v1.Pod {
			p := c.one(sleeper("app"))
			p.Spec.Volumes = []v1.Volume{{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}}}}}
			return p
		},
		want:   "Pending, ContainerCreating",
		until:  pendingCreating,
		events: []wantEvent{{v1.EventTypeWarning, "FailedMount", q(`MountVolume.SetUp failed for volume "cfg" : configmap "absent" not found`)}},
	}, {
		name: "missing-secret-volume",
		pod: func(c *corpus) *v1.Pod {
			p := c.one(sleeper("app"))
			p.Spec.Volumes = []v1.Volume{{Name: "sec", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "absent"}}}}
			return p
		},
		want:   "Pending, ContainerCreating",
		until:  pendingCreating,
		events: []wantEvent{{v1.EventTypeWarning, "FailedMount", q(`MountVolume.SetUp failed for volume "sec" : secret "absent" not found`)}},
	}, {
		name: "missing-secret-env",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) {
				ct.Env = []v1.EnvVar{{Name: "PW", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}, Key: "pw"}}}}
			}))
		},
		want:      "Pending, app waiting CreateContainerConfigError",
		until:     both(phase(v1.PodPending), waiting("app", "CreateContainerConfigError", mustRe(`^secret "absent" not found$`))),
		events:    []wantEvent{{v1.EventTypeWarning, "Failed", q(`Error: secret "absent" not found`)}},
		maxEvents: map[string]int32{"Failed": 4},
		pending:   "back-off, item 3",
	}, {
		name: "missing-configmap-env",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) {
				ct.EnvFrom = []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}}}}
			}))
		},
		want:      "Pending, app waiting CreateContainerConfigError",
		until:     both(phase(v1.PodPending), waiting("app", "CreateContainerConfigError", mustRe(`^configmap "absent" not found$`))),
		events:    []wantEvent{{v1.EventTypeWarning, "Failed", q(`Error: configmap "absent" not found`)}},
		maxEvents: map[string]int32{"Failed": 4},
		pending:   "back-off, item 3",
	}, {
		name: "forbidden-sysctl",
		pod: func(c *corpus) *v1.Pod {
			p := c.one(sleeper("app"))
			p.Spec.SecurityContext = &v1.PodSecurityContext{Sysctls: []v1.Sysctl{{Name: "kernel.msgmax", Value: "65536"}}}
			return p
		},
		want:   "Failed, rejected SysctlForbidden",
		until:  rejected("SysctlForbidden", `Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted`),
		events: []wantEvent{{v1.EventTypeWarning, "SysctlForbidden", q(`forbidden sysctl: "kernel.msgmax" not allowlisted`)}},
	}, {
		name: "privileged",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) { ct.SecurityContext = &v1.SecurityContext{Privileged: ptr.To(true)} }))
		},
		// The kubelet before --allow-privileged went away (1.15):
		// canRunPod kept the pod Pending, Forbidden, containers Blocked.
		want: "Pending, Forbidden, app waiting Blocked",
		until: func(p *v1.Pod) bool {
			return p.Status.Phase == v1.PodPending && p.Status.Reason == "Forbidden" && waiting("app", "Blocked", nil)(p)
		},
		events: []wantEvent{{v1.EventTypeWarning, "Forbidden", `pod with UID "{uid}" specified privileged container, but is disallowed`}},
	}, {
		name: "host-network-without-flag",
		pod: func(c *corpus) *v1.Pod {
			p := c.one(sleeper("app"))
			p.Spec.HostNetwork = true
			return p
		},
		want:   "Pending",
		until:  phase(v1.PodPending),
		events: []wantEvent{{v1.EventTypeWarning, "Unsupported", q(`hostNetwork is not allowed on this node (start vk-docker with --allow-host-network to allow it)`)}},
	}, {
		name: "env-512KiB",
		pod: func(c *corpus) *v1.Pod {
			return c.never(with(sleeper("app"), func(ct *v1.Container) {
				ct.Env = []v1.EnvVar{{Name: "BIG", Value: strings.Repeat("x", 512<<10)}}
			}))
		},
		// Linux refuses an execve with a string over 128 KiB (E2BIG). The
		// engine starts the container; its init fails the exec of the
		// command, logs "exec /bin/sleep: argument list too long" and exits
		// 1: terminated Error, as under a kubelet on the same engine.
		want:  "Failed, app terminated Error exit 1",
		until: terminated(v1.PodFailed, "app", "Error", 1, nil),
	}, {
		name: "thirty-containers",
		pod: func(c *corpus) *v1.Pod {
			p := c.one(sleeper("c00"))
			for i := 1; i < 30; i++ {
				p.Spec.Containers = append(p.Spec.Containers, sleeper(fmt.Sprintf("c%02d", i)))
			}
			return p
		},
		want:  "Running and Ready, 30 containers",
		until: func(p *v1.Pod) bool { return framework.Running(p) && len(runningIDs(p)) == 30 },
		events: []wantEvent{
			{v1.EventTypeNormal, "Started", "Container started"},
		},
	}, {
		name: "memory-limit-4MiB",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) {
				ct.Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("4Mi")}
			}))
		},
		// The engine refuses a limit under 6 MB when creating the
		// container: CreateContainerError with its message.
		want:      "Pending, app waiting CreateContainerError",
		until:     both(phase(v1.PodPending), waiting("app", "CreateContainerError", mustRe(`Minimum memory limit allowed is 6MB`))),
		events:    []wantEvent{{v1.EventTypeWarning, "Failed", "Error: .*Minimum memory limit allowed is 6MB.*"}},
		maxEvents: map[string]int32{"Failed": 4},
		pending:   "back-off, item 3",
	}, {
		name: "run-as-non-root-root-image",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) { ct.SecurityContext = &v1.SecurityContext{RunAsNonRoot: ptr.To(true)} }))
		},
		want: "Pending, app waiting CreateContainerConfigError",
		until: both(phase(v1.PodPending), waiting("app", "CreateContainerConfigError",
			mustRe(`^container has runAsNonRoot and image will run as root \(pod: ".*", container: app\)$`))),
		events:    []wantEvent{{v1.EventTypeWarning, "Failed", `Error: container has runAsNonRoot and image will run as root \(pod: "{pod}", container: app\)`}},
		maxEvents: map[string]int32{"Failed": 4},
		pending:   "back-off, item 3",
	}, {
		name: "read-only-root-written",
		pod: func(c *corpus) *v1.Pod {
			return c.never(with(busybox("app", "touch /written"), func(ct *v1.Container) {
				ct.SecurityContext = &v1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)}
				ct.TerminationMessagePolicy = v1.TerminationMessageFallbackToLogsOnError
			}))
		},
		want:  "Failed, app terminated Error exit 1 (Read-only file system)",
		until: terminated(v1.PodFailed, "app", "Error", 1, mustRe(`Read-only file system`)),
	}, {
		name: "init-fails-never",
		pod: func(c *corpus) *v1.Pod {
			p := c.never(sleeper("app"))
			p.Spec.InitContainers = []v1.Container{busybox("init", "exit 2")}
			return p
		},
		want:   "Failed, init terminated Error exit 2",
		until:  terminated(v1.PodFailed, "init", "Error", 2, nil),
		events: []wantEvent{{v1.EventTypeNormal, "Started", "Container started"}},
		then: func(t *testing.T, c *corpus, p *v1.Pod) {
			if cs := framework.StatusOf(p, "app"); cs == nil || cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" {
				t.Errorf("app status = %s, want waiting PodInitializing", framework.Dump(cs))
			}
		},
	}, {
		name: "init-crash-loop",
		pod: func(c *corpus) *v1.Pod {
			p := c.one(sleeper("app"))
			p.Spec.InitContainers = []v1.Container{busybox("init", "exit 1")}
			return p
		},
		want:   "Pending, init waiting CrashLoopBackOff",
		until:  both(phase(v1.PodPending), waiting("init", "CrashLoopBackOff", nil)),
		events: []wantEvent{{v1.EventTypeWarning, "BackOff", `Back-off restarting failed container init in pod {pod}`}},
	}, {
		name: "exit-nonzero-never",
		pod: func(c *corpus) *v1.Pod {
			return c.never(busybox("app", "exit 3"))
		},
		want:  "Failed, app terminated Error exit 3",
		until: terminated(v1.PodFailed, "app", "Error", 3, nil),
	}, {
		name: "active-deadline",
		pod: func(c *corpus) *v1.Pod {
			p := c.one(sleeper("app"))
			p.Spec.ActiveDeadlineSeconds = ptr.To(int64(3))
			return p
		},
		want:   "Failed, DeadlineExceeded",
		until:  rejected("DeadlineExceeded", "Pod was active on the node longer than the specified deadline"),
		events: []wantEvent{{v1.EventTypeNormal, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"}},
	}, {
		name: "host-port-conflict",
		pod: func(c *corpus) *v1.Pod {
			// The first holder of the port, through the scheduler.
			holder := c.one(with(sleeper("app"), func(ct *v1.Container) {
				ct.Ports = []v1.ContainerPort{{ContainerPort: 8080, HostPort: c.port}}
			}))
			holder.Name = "host-port-holder"
			if _, err := env.Client.CoreV1().Pods(c.ns).Create(context.Background(), holder, metav1.CreateOptions{}); err == nil {
				_, _ = framework.WaitForPod(context.Background(), env, c.ns, holder.Name, time.Minute, "Running", framework.Running)
			}
			// The second is bound with nodeName, past the scheduler's
			// NodePorts filter: the kubelet's admission rejects it.
			p := c.one(with(sleeper("app"), func(ct *v1.Container) {
				ct.Ports = []v1.ContainerPort{{ContainerPort: 8080, HostPort: c.port}}
			}))
			p.Spec.NodeSelector = nil
			p.Spec.NodeName = c.node.Name
			return p
		},
		want:    "Failed, rejected NodePorts",
		until:   rejected("NodePorts", "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"),
		events:  []wantEvent{{v1.EventTypeWarning, "NodePorts", q("Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports")}},
		pending: "admission, item 2",
	}, {
		name: "post-start-fails",
		pod: func(c *corpus) *v1.Pod {
			return c.one(with(sleeper("app"), func(ct *v1.Container) {
				ct.Lifecycle = &v1.Lifecycle{PostStart: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", "exit 1"}}}}
			}))
		},
		want:  "app restarted after its failed postStart hook",
		until: restarted("app", 1),
		events: []wantEvent{
			{v1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed"},
			{v1.EventTypeNormal, "Killing", "FailedPostStartHook"},
		},
	}, {
		name: "delete-during-back-off",
		pod: func(c *corpus) *v1.Pod {
			return c.one(busybox("app", "exit 1"))
		},
		want:   "app waiting CrashLoopBackOff",
		until:  waiting("app", "CrashLoopBackOff", mustRe(`^back-off [0-9ms]+ restarting failed container=app pod=\S+_\S+\(.+\)$`)),
		events: []wantEvent{{v1.EventTypeWarning, "BackOff", `Back-off restarting failed container app in pod {pod}`}},
		then: func(t *testing.T, c *corpus, p *v1.Pod) {
			ctx := context.Background()
			at := time.Now()
			if err := env.Client.CoreV1().Pods(c.ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			// Grace 2 s, plus the kubelet's slack.
			if err := framework.WaitForPodGone(ctx, env, c.ns, p.Name, 7*time.Second); err != nil {
				t.Errorf("deleted during back-off: %v", err)
			}
			if err := env.WaitNoContainers(ctx, p.UID, time.Until(at.Add(7*time.Second))); err != nil {
				t.Errorf("containers of the pod still on the engine %v after its deletion", time.Since(at))
			}
		},
	}}
}
