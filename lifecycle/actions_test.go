package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/probes"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The decisions of computePodActions, as the kubelet tests its
// computePodActions: tables of (pod, observation, memory) → actions, with
// no engine and no clock. Each case lists the actions in the order apply
// carries them out (see describeActions).

const sbID = "sandbox-1"

// obsBuilder makes observations of the test pod.
type obsBuilder struct{ obs *observation }

func newObs() *obsBuilder {
	return &obsBuilder{obs: &observation{containers: map[string][]*instance{}}}
}

func (b *obsBuilder) sandbox(state string) *obsBuilder {
	inst := fakeInstance(dockerhost.SandboxContainerName, 0, state, 0, t0)
	inst.inspect.ID = sbID
	b.obs.sandbox = inst
	b.obs.all = append(b.obs.all, inst)
	return b
}

// container adds an attempt of a container (newest first: add the newest
// last); states are "running", "created", "cannotrun" and "exited".
func (b *obsBuilder) container(name string, attempt int, state string, exit int, finished time.Time) *obsBuilder {
	inst := fakeInstance(name, attempt, state, exit, finished)
	inst.inspect.HostConfig = &container.HostConfig{NetworkMode: container.NetworkMode("container:" + sbID)}
	b.obs.containers[name] = append([]*instance{inst}, b.obs.containers[name]...)
	b.obs.all = append(b.obs.all, inst)
	return b
}

func fakeInstance(name string, attempt int, state string, exit int, finished time.Time) *instance {
	st := &container.State{Status: state, ExitCode: exit}
	switch state {
	case "running":
		st.Running = true
		st.StartedAt = t0.Format(time.RFC3339Nano)
	case "cannotrun":
		st.Status, st.Error = "created", "exec: no such file"
	case "exited":
		st.StartedAt = t0.Format(time.RFC3339Nano)
		st.FinishedAt = finished.Format(time.RFC3339Nano)
	}
	return &instance{
		name: dockerhost.ContainerName{Container: name, Pod: "web", Namespace: "default", UID: string(testUID), Attempt: attempt},
		inspect: container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{ID: fmt.Sprintf("%s-%d", name, attempt), State: st, Created: t0.Format(time.RFC3339Nano)},
			Config:            &container.Config{Labels: map[string]string{}, StopSignal: stopSignals[name]},
		},
	}
}

// stopSignals are the STOPSIGNALs of the test images (appImage's is SIGQUIT).
var stopSignals = map[string]string{"app": "SIGQUIT"}

// describeActions renders actions as lines a reader can check against the
// kubelet's behaviour.
func describeActions(a podActions) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if a.fail != nil {
		add("fail %s by +%v", a.fail.reason, a.fail.deadline.Sub(t0))
	}
	if a.admit {
		add("admit")
	}
	for _, u := range a.unsupported {
		add("unsupported %s", u)
	}
	if len(a.unsupportedVolumes) > 0 {
		add("unsupported volumes %d", len(a.unsupportedVolumes))
	}
	if a.volumes {
		add("volumes")
	}
	if a.finish != nil {
		add("finish by +%v", a.finish.Sub(t0))
	}
	for _, k := range a.kills {
		out = append(out, describeKill(k))
	}
	if a.stopSandbox != nil {
		add("sandbox %s", a.stopSandbox.signal)
	}
	switch s := a.sandbox; {
	case s == nil:
	case s.start != nil:
		add("sandbox start %s", s.start.id())
	case s.replaces:
		add("sandbox replace attempt %d", s.attempt)
	default:
		add("sandbox create attempt %d", s.attempt)
	}
	if a.volumeContent {
		add("volume content")
	}
	for _, st := range a.containers {
		out = append(out, describeStep(st)...)
	}
	if a.remove {
		add("remove")
	}
	if a.holdStatus {
		add("hold status")
	}
	add("requeue %v", minDelay(a.requeue, a.deadlineCheck))
	return out
}

func describeKill(k killStep) string {
	s := "kill " + k.inst.id()
	if k.begin {
		s += fmt.Sprintf(" begin %q", k.message)
	}
	if k.signal != "" {
		s += " signal " + k.signal
	}
	if k.kill {
		s += " SIGKILL"
	}
	return s + fmt.Sprintf(" deadline +%v", k.deadline.Sub(t0))
}

func describeStep(st containerStep) []string {
	name := st.slot.c.Name
	var out []string
	switch {
	case st.killDetached != nil:
		out = append(out, name+" kill detached "+st.killDetached.id())
	case st.kill != nil:
		out = append(out, name+" "+describeKill(*st.kill))
	case st.wait != nil:
		out = append(out, fmt.Sprintf("%s wait %s: %s", name, st.wait.reason, st.wait.message))
		if st.backOffEvent != nil {
			out = append(out, name+" BackOff event")
		}
		if st.failedEvent {
			out = append(out, name+" Failed event")
		}
	case st.start != nil:
		out = append(out, name+" start "+st.start.id())
	case st.create:
		s := fmt.Sprintf("%s create attempt %d", name, st.attempt)
		if st.advance != nil {
			s += " back-off from +" + st.advance.Sub(t0).String()
		}
		for _, p := range st.prune {
			s += " prune " + p.id()
		}
		if st.slot.pidTarget != "" {
			s += " in the PID namespace of " + st.slot.pidTarget
		}
		out = append(out, s)
	case st.clearWaiting && st.slot.ephemeral:
		out = append(out, name+" left as it is")
	case st.clearWaiting:
		out = append(out, name+" runs")
	}
	return out
}

type actionCase struct {
	name   string
	pod    func() *v1.Pod
	obs    *obsBuilder
	mem    func(*podMemory)
	probes probeResults
	at     time.Duration // after t0
	want   []string
}

func runActionCases(t *testing.T, cases []actionCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := newPodMemory()
			mem.startTime = metav1.NewTime(t0)
			mem.admission.admitted = true
			if tc.mem != nil {
				tc.mem(mem)
			}
			obs := tc.obs
			if obs == nil {
				obs = newObs()
			}
			pod := tc.pod()
			rt := &Runtime{}
			got := describeActions(computePodActions(syncInput{
				pod: pod, obs: obs.obs, mem: mem, probes: tc.probes, now: t0.Add(tc.at),
				plan: podPlan{unsupported: rt.unsupported(pod), volumes: rt.PlanVolumes(pod)},
			}))
			if !slices.Equal(got, tc.want) {
				t.Errorf("actions\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func onePod(policy v1.RestartPolicy) func() *v1.Pod {
	return func() *v1.Pod {
		pod := newPod(appContainer())
		pod.Spec.RestartPolicy = policy
		return pod
	}
}

func TestComputePodActionsStartsAndRestarts(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	runActionCases(t, []actionCase{{
		name: "a new pod is admitted, gets a sandbox, its volumes' content, then its containers",
		pod:  func() *v1.Pod { return twoContainerPod() },
		mem:  func(m *podMemory) { m.admission.admitted = false },
		want: []string{"admit", "volumes", "sandbox create attempt 0", "volume content",
			"app create attempt 0", "sidecar create attempt 0", "requeue 0s"},
	}, {
		name: "a running pod needs nothing",
		pod:  onePod(v1.RestartPolicyAlways),
		obs:  newObs().sandbox("running").container("app", 0, "running", 0, t0),
		want: []string{"volumes", "volume content", "app runs", "requeue 0s"},
	}, {
		name: "a created instance is started, not made again",
		pod:  onePod(v1.RestartPolicyAlways),
		obs:  newObs().sandbox("running").container("app", 0, "created", 0, t0),
		want: []string{"volumes", "volume content", "app start app-0", "requeue 0s"},
	}, {
		name: "the first exit restarts at once and starts the back-off",
		pod:  onePod(v1.RestartPolicyAlways),
		obs:  newObs().sandbox("running").container("app", 0, "exited", 1, at(5*time.Second)),
		at:   6 * time.Second,
		want: []string{"volumes", "volume content", "app create attempt 1 back-off from +5s", "requeue 0s"},
	}, {
		name: "a restart within the back-off waits in CrashLoopBackOff with one BackOff event",
		pod:  onePod(v1.RestartPolicyAlways),
		obs:  newObs().sandbox("running").container("app", 0, "exited", 1, t0).container("app", 1, "exited", 1, at(20*time.Second)),
		mem: func(m *podMemory) {
			m.crashLoop[backOffKey(newPod(appContainer()), ptr.To(appContainer()))] = backOffEntry{delay: backOffInitial, lastUpdate: at(15 * time.Second)}
		},
		at: 24 * time.Second,
		want: []string{"volumes", "volume content",
			"app wait CrashLoopBackOff: back-off 10s restarting failed container=app pod=web_default(" + string(testUID) + ")",
			"app BackOff event", "requeue 6s"},
	}, {
		name: "the BackOff event is recorded once per exit",
		pod:  onePod(v1.RestartPolicyAlways),
		obs:  newObs().sandbox("running").container("app", 1, "exited", 1, at(20*time.Second)),
		mem: func(m *podMemory) {
			m.crashLoop[backOffKey(newPod(appContainer()), ptr.To(appContainer()))] = backOffEntry{delay: 20 * time.Second, lastUpdate: at(15 * time.Second)}
			m.record("app-1").backOffReported = true
		},
		at: 30 * time.Second,
		want: []string{"volumes", "volume content",
			"app wait CrashLoopBackOff: back-off 20s restarting failed container=app pod=web_default(" + string(testUID) + ")",
			"requeue 10s"},
	}, {
		name: "once the back-off passed the next attempt is made and older ones pruned",
		pod:  onePod(v1.RestartPolicyAlways),
		obs:  newObs().sandbox("running").container("app", 0, "exited", 1, t0).container("app", 1, "exited", 1, at(20*time.Second)),
		mem: func(m *podMemory) {
			m.crashLoop[backOffKey(newPod(appContainer()), ptr.To(appContainer()))] = backOffEntry{delay: backOffInitial, lastUpdate: at(15 * time.Second)}
		},
		at:   30 * time.Second,
		want: []string{"volumes", "volume content", "app create attempt 2 back-off from +20s prune app-0", "requeue 0s"},
	}, {
		name: "a container that never ran (ContainerCannotRun) restarts like one that exited",
		pod:  onePod(v1.RestartPolicyOnFailure),
		obs:  newObs().sandbox("running").container("app", 0, "cannotrun", 0, t0),
		want: []string{"volumes", "volume content", "app create attempt 1 back-off from +0s", "requeue 0s"},
	}, {
		name: "OnFailure: a success ends the pod, whose sandbox then stops",
		pod:  onePod(v1.RestartPolicyOnFailure),
		obs:  newObs().sandbox("running").container("app", 0, "exited", 0, t0),
		want: []string{"volumes", "finish by +30s", "sandbox SIGTERM", "requeue 2s"},
	}, {
		name: "Never: a failure ends the pod",
		pod:  onePod(v1.RestartPolicyNever),
		obs:  newObs().sandbox("running").container("app", 0, "exited", 2, t0),
		want: []string{"volumes", "finish by +30s", "sandbox SIGTERM", "requeue 2s"},
	}, {
		name: "a dead sandbox is replaced and the containers joined to it killed",
		pod:  onePod(v1.RestartPolicyAlways),
		obs:  newObs().sandbox("exited").container("app", 0, "running", 0, t0),
		want: []string{"volumes", "sandbox replace attempt 1", "volume content", "app kill detached app-0", "requeue 2s"},
	}, {
		name: "a volume the node cannot provide is reported and nothing starts",
		pod:  claimPod,
		want: []string{"unsupported volumes 1", "requeue 0s"},
	}, {
		name: "and reported once",
		pod:  claimPod,
		mem:  func(m *podMemory) { m.reportedVolumes = true },
		want: []string{"requeue 0s"},
	}, {
		name: "host namespaces the node does not allow hold the pod",
		pod: func() *v1.Pod {
			pod := newPod(appContainer())
			pod.Spec.HostNetwork = true
			return pod
		},
		want: []string{"unsupported hostNetwork is not allowed on this node (start vk-docker with --allow-host-network to allow it)", "requeue 0s"},
	}})
}

func claimPod() *v1.Pod {
	pod := newPod(appContainer())
	pod.Spec.Volumes = []v1.Volume{{Name: "claim", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}}}
	return pod
}

func initPod(inits ...v1.Container) func() *v1.Pod {
	return func() *v1.Pod {
		pod := newPod(appContainer())
		pod.Spec.InitContainers = inits
		return pod
	}
}

func withStartupProbe(c v1.Container) v1.Container {
	c.StartupProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}}
	return c
}

func TestComputePodActionsInitContainersAndSidecars(t *testing.T) {
	runActionCases(t, []actionCase{{
		name: "init containers start one at a time, before any app container",
		pod:  initPod(initContainer("first"), initContainer("second")),
		obs:  newObs().sandbox("running"),
		want: []string{"volumes", "volume content", "first create attempt 0", "requeue 0s"},
	}, {
		name: "the next one starts once the previous exited 0",
		pod:  initPod(initContainer("first"), initContainer("second")),
		obs:  newObs().sandbox("running").container("first", 0, "exited", 0, t0),
		want: []string{"volumes", "volume content", "second create attempt 0", "requeue 0s"},
	}, {
		name: "app containers start once every init container succeeded",
		pod:  initPod(initContainer("first"), initContainer("second")),
		obs:  newObs().sandbox("running").container("first", 0, "exited", 0, t0).container("second", 0, "exited", 0, t0),
		want: []string{"volumes", "volume content", "app create attempt 0", "requeue 0s"},
	}, {
		name: "a failed init container is retried (Always)",
		pod:  initPod(initContainer("first")),
		obs:  newObs().sandbox("running").container("first", 0, "exited", 1, t0),
		want: []string{"volumes", "volume content", "first create attempt 1 back-off from +0s", "requeue 0s"},
	}, {
		name: "with Never a failed init container fails the pod",
		pod: func() *v1.Pod {
			pod := initPod(initContainer("first"))()
			pod.Spec.RestartPolicy = v1.RestartPolicyNever
			return pod
		},
		obs:  newObs().sandbox("running").container("first", 0, "exited", 1, t0),
		want: []string{"volumes", "finish by +30s", "sandbox SIGTERM", "requeue 2s"},
	}, {
		name: "a sidecar not started yet (startupProbe) holds the next init container back",
		pod:  initPod(withStartupProbe(nativeSidecar("proxy")), initContainer("migrate")),
		obs:  newObs().sandbox("running").container("proxy", 0, "running", 0, t0),
		want: []string{"volumes", "volume content", "proxy runs", "requeue 0s"},
	}, {
		name: "a started sidecar lets the next one start",
		pod:  initPod(withStartupProbe(nativeSidecar("proxy")), initContainer("migrate")),
		obs:  newObs().sandbox("running").container("proxy", 0, "running", 0, t0),
		probes: probeResults{
			{"proxy-0", probes.Startup}: probes.Success,
		},
		want: []string{"volumes", "volume content", "migrate create attempt 0", "requeue 0s"},
	}, {
		name: "a sidecar that exited during init restarts without holding the others",
		pod:  initPod(nativeSidecar("proxy"), initContainer("migrate")),
		obs:  newObs().sandbox("running").container("proxy", 0, "exited", 1, t0),
		want: []string{"volumes", "volume content", "proxy create attempt 1 back-off from +0s", "migrate create attempt 0", "requeue 0s"},
	}, {
		name: "once the apps run, sidecars come first, then apps",
		pod:  initPod(nativeSidecar("proxy")),
		obs:  newObs().sandbox("running").container("proxy", 0, "exited", 137, t0).container("app", 0, "running", 0, t0),
		want: []string{"volumes", "volume content", "proxy create attempt 1 back-off from +0s", "app runs", "requeue 0s"},
	}, {
		name: "a finished pod stops its sidecars within its grace period",
		pod: func() *v1.Pod {
			pod := initPod(nativeSidecar("proxy"))()
			pod.Spec.RestartPolicy = v1.RestartPolicyNever
			return pod
		},
		obs:  newObs().sandbox("running").container("proxy", 0, "running", 0, t0).container("app", 0, "exited", 0, t0),
		want: []string{"volumes", "finish by +30s", `kill proxy-0 begin "Stopping container proxy" signal SIGTERM deadline +30s`, "requeue 30s"},
	}})
}

func TestComputePodActionsKillsForRestart(t *testing.T) {
	liveness := func() *v1.Pod {
		app := appContainer()
		app.LivenessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}, TerminationGracePeriodSeconds: ptr.To[int64](5)}
		return newPod(app)
	}
	runActionCases(t, []actionCase{{
		name:   "a failed liveness probe kills with the probe's grace period",
		pod:    liveness,
		obs:    newObs().sandbox("running").container("app", 0, "running", 0, t0),
		probes: probeResults{{"app-0", probes.Liveness}: probes.Failure},
		want: []string{"volumes", "volume content",
			`app kill app-0 begin "Container app failed liveness probe, will be restarted" signal SIGQUIT deadline +5s`, "requeue 5s"},
	}, {
		name:   "the kill keeps its deadline, and SIGKILL comes at it",
		pod:    liveness,
		obs:    newObs().sandbox("running").container("app", 0, "running", 0, t0),
		probes: probeResults{{"app-0", probes.Liveness}: probes.Failure},
		mem: func(m *podMemory) {
			m.record("app-0").stop = &stopRecord{deadline: t0.Add(5 * time.Second), signalledAt: t0, preStop: donePreStop()}
		},
		at:   5 * time.Second,
		want: []string{"volumes", "volume content", "app kill app-0 SIGKILL deadline +5s", "requeue 2s"},
	}, {
		name: "a failed postStart hook kills with the pod's grace period",
		pod:  onePod(v1.RestartPolicyAlways),
		obs:  newObs().sandbox("running").container("app", 0, "running", 0, t0),
		mem:  func(m *podMemory) { m.record("app-0").postStartFailed = true },
		want: []string{"volumes", "volume content",
			`app kill app-0 begin "FailedPostStartHook" signal SIGQUIT deadline +30s`, "requeue 30s"},
	}})
}

func TestComputePodActionsTermination(t *testing.T) {
	deleted := func(m *podMemory) { m.terminate(true, t0.Add(10*time.Second)) }
	withSidecar := func() *v1.Pod {
		pod := newPod(withPreStop(appContainer(), sleepHook(5)))
		pod.Spec.InitContainers = []v1.Container{nativeSidecar("proxy")}
		return pod
	}
	running := func() *obsBuilder {
		return newObs().sandbox("running").container("proxy", 0, "running", 0, t0).container("app", 0, "running", 0, t0)
	}
	runActionCases(t, []actionCase{{
		name: "deletion: every container gets its Killing event; the app's preStop runs first; the sidecar waits for the app",
		pod:  withSidecar,
		obs:  running(),
		mem:  deleted,
		want: []string{
			`kill app-0 begin "Stopping container app" deadline +10s`,
			`kill proxy-0 begin "Stopping container proxy" deadline +10s`,
			"requeue 10s"},
	}, {
		name: "the app's stop signal follows its preStop hook",
		pod:  withSidecar,
		obs:  running(),
		mem: func(m *podMemory) {
			deleted(m)
			m.record("app-0").stop = &stopRecord{deadline: t0.Add(10 * time.Second), preStop: donePreStop()}
			m.record("proxy-0").stop = &stopRecord{deadline: t0.Add(10 * time.Second), preStop: donePreStop()}
		},
		at:   5 * time.Second,
		want: []string{"kill app-0 signal SIGQUIT deadline +10s", "requeue 5s"},
	}, {
		name: "the sidecar's turn comes once the app exited",
		pod:  withSidecar,
		obs:  newObs().sandbox("running").container("proxy", 0, "running", 0, t0).container("app", 0, "exited", 0, t0),
		mem: func(m *podMemory) {
			deleted(m)
			m.record("proxy-0").stop = &stopRecord{deadline: t0.Add(10 * time.Second), preStop: donePreStop()}
		},
		at:   6 * time.Second,
		want: []string{"kill proxy-0 signal SIGTERM deadline +10s", "requeue 4s"},
	}, {
		name: "at the deadline whatever runs gets SIGKILL",
		pod:  withSidecar,
		obs:  running(),
		mem: func(m *podMemory) {
			deleted(m)
			m.record("app-0").stop = &stopRecord{deadline: t0.Add(10 * time.Second), preStop: pendingPreStop(), signalledAt: t0}
			m.record("proxy-0").stop = &stopRecord{deadline: t0.Add(10 * time.Second), preStop: donePreStop()}
		},
		at:   10 * time.Second,
		want: []string{"kill app-0 SIGKILL deadline +10s", "kill proxy-0 SIGKILL deadline +10s", "requeue 2s"},
	}, {
		name: "once the containers stopped the sandbox stops, and the status waits for the terminal one",
		pod:  withSidecar,
		obs:  newObs().sandbox("running").container("proxy", 0, "exited", 143, t0).container("app", 0, "exited", 0, t0),
		mem:  deleted,
		want: []string{"sandbox SIGTERM", "hold status", "requeue 2s"},
	}, {
		name: "a sandbox that ignores SIGTERM for 2 s is killed",
		pod:  withSidecar,
		obs:  newObs().sandbox("running"),
		mem: func(m *podMemory) {
			deleted(m)
			m.record(sbID).stop = &stopRecord{signalledAt: t0}
		},
		at:   2 * time.Second,
		want: []string{"sandbox SIGKILL", "hold status", "requeue 2s"},
	}, {
		name: "then the pod is removed",
		pod:  withSidecar,
		obs:  newObs().sandbox("exited").container("app", 0, "exited", 0, t0),
		mem:  deleted,
		want: []string{"remove", "requeue 0s"},
	}, {
		name: "activeDeadlineSeconds not reached: checked again when it is",
		pod: func() *v1.Pod {
			pod := newPod(appContainer())
			pod.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
			return pod
		},
		obs:  newObs().sandbox("running").container("app", 0, "running", 0, t0),
		at:   45 * time.Second,
		want: []string{"volumes", "volume content", "app runs", "requeue 15s"},
	}, {
		name: "activeDeadlineSeconds passed: the pod fails and its containers stop with its grace period",
		pod: func() *v1.Pod {
			pod := newPod(appContainer())
			pod.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
			return pod
		},
		obs: newObs().sandbox("running").container("app", 0, "running", 0, t0),
		at:  60 * time.Second,
		want: []string{"fail DeadlineExceeded by +1m30s",
			`kill app-0 begin "Stopping container app" signal SIGQUIT deadline +1m30s`, "requeue 30s"},
	}})
}

func donePreStop() *preStopRun {
	r := &preStopRun{done: make(chan struct{}), cancel: func() {}}
	close(r.done)
	return r
}

func pendingPreStop() *preStopRun {
	return &preStopRun{done: make(chan struct{}), cancel: func() {}}
}

// debugged is the test pod with an ephemeral container "debugger" (kubectl
// debug --target=target; no target when empty), and init containers.
func debugged(target string, inits ...v1.Container) func() *v1.Pod {
	return func() *v1.Pod {
		pod := newPod(appContainer())
		pod.Spec.InitContainers = inits
		pod.Spec.EphemeralContainers = []v1.EphemeralContainer{{
			EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "debugger", Image: sidecarImage, Command: []string{"sh"}, Stdin: true, TTY: true},
			TargetContainerName:      target,
		}}
		return pod
	}
}

func TestComputePodActionsEphemeralContainers(t *testing.T) {
	deleted := func(m *podMemory) { m.terminate(true, t0.Add(10*time.Second)) }
	runActionCases(t, []actionCase{{
		name: "an ephemeral container added to a running pod starts first, in its target's PID namespace",
		pod:  debugged("app"),
		obs:  newObs().sandbox("running").container("app", 0, "running", 0, t0),
		want: []string{"volumes", "volume content", "debugger create attempt 0 in the PID namespace of app-0", "app runs", "requeue 0s"},
	}, {
		name: "without a target it keeps a PID namespace of its own",
		pod:  debugged(""),
		obs:  newObs().sandbox("running").container("app", 0, "running", 0, t0),
		want: []string{"volumes", "volume content", "debugger create attempt 0", "app runs", "requeue 0s"},
	}, {
		name: "it runs while the pod initializes (the kubelet starts it before init containers)",
		pod:  debugged("", initContainer("migrate")),
		obs:  newObs().sandbox("running").container("migrate", 0, "running", 0, t0),
		want: []string{"volumes", "volume content", "debugger create attempt 0", "migrate runs", "requeue 0s"},
	}, {
		name: "it is never started again, whatever its exit",
		pod:  debugged("app"),
		obs:  newObs().sandbox("running").container("app", 0, "running", 0, t0).container("debugger", 0, "exited", 1, t0),
		at:   time.Hour,
		want: []string{"volumes", "volume content", "debugger left as it is", "app runs", "requeue 0s"},
	}, {
		name: "not even when it could not run at all",
		pod:  debugged("app"),
		obs:  newObs().sandbox("running").container("app", 0, "running", 0, t0).container("debugger", 0, "cannotrun", 0, t0),
		want: []string{"volumes", "volume content", "debugger left as it is", "app runs", "requeue 0s"},
	}, {
		name: "created by a pass that ended before its start: started, still its one run",
		pod:  debugged("app"),
		obs:  newObs().sandbox("running").container("app", 0, "running", 0, t0).container("debugger", 0, "created", 0, t0),
		want: []string{"volumes", "volume content", "debugger start debugger-0", "app runs", "requeue 0s"},
	}, {
		name: "its target has no container yet: it waits with the kubelet's config error and one Failed event",
		pod:  debugged("app", initContainer("migrate")),
		obs:  newObs().sandbox("running").container("migrate", 0, "running", 0, t0),
		want: []string{"volumes", "volume content",
			"debugger wait CreateContainerConfigError: unable to find target container app", "debugger Failed event",
			"migrate runs", "requeue 2s"},
	}, {
		name: "the event is not repeated while it keeps waiting",
		pod:  debugged("app", initContainer("migrate")),
		obs:  newObs().sandbox("running").container("migrate", 0, "running", 0, t0),
		mem: func(m *podMemory) {
			m.waiting["debugger"] = waiting{ReasonCreateContainerConfigError, "unable to find target container app"}
		},
		want: []string{"volumes", "volume content",
			"debugger wait CreateContainerConfigError: unable to find target container app",
			"migrate runs", "requeue 2s"},
	}, {
		name: "its target exited: its newest instance is the target all the same, as in the kubelet",
		pod:  debugged("app"),
		obs:  newObs().sandbox("running").container("app", 0, "exited", 1, t0),
		want: []string{"volumes", "volume content", "debugger create attempt 0 in the PID namespace of app-0",
			"app create attempt 1 back-off from +0s", "requeue 0s"},
	}, {
		name: "its sandbox died: killed with the others, and only they come back",
		pod:  debugged("app"),
		obs:  newObs().sandbox("exited").container("app", 0, "running", 0, t0).container("debugger", 0, "running", 0, t0),
		want: []string{"volumes", "sandbox replace attempt 1", "volume content", "debugger kill detached debugger-0", "app kill detached app-0", "requeue 2s"},
	}, {
		name: "one never started waits for a new sandbox to run",
		pod:  debugged(""),
		obs:  newObs().sandbox("exited").container("app", 0, "exited", 137, t0),
		want: []string{"volumes", "sandbox replace attempt 1", "volume content", "app create attempt 1 back-off from +0s", "requeue 0s"},
	}, {
		name: "the pod's deletion stops it with the app containers, in the pod's grace period",
		pod:  debugged("app"),
		obs:  newObs().sandbox("running").container("app", 0, "running", 0, t0).container("debugger", 0, "running", 0, t0),
		mem:  deleted,
		want: []string{
			`kill app-0 begin "Stopping container app" signal SIGQUIT deadline +10s`,
			`kill debugger-0 begin "Stopping container debugger" signal SIGTERM deadline +10s`,
			"requeue 10s"},
	}, {
		name: "a pod that finished stops it and is not started for it",
		pod: func() *v1.Pod {
			pod := debugged("")()
			pod.Spec.RestartPolicy = v1.RestartPolicyNever
			return pod
		},
		obs: newObs().sandbox("running").container("app", 0, "exited", 0, t0).container("debugger", 0, "running", 0, t0),
		want: []string{"volumes", "finish by +30s",
			`kill debugger-0 begin "Stopping container debugger" signal SIGTERM deadline +30s`, "requeue 30s"},
	}})
}
