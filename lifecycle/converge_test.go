package lifecycle

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestConvergeRunsATwoContainerPodInOneSandbox(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	w := NewWorker(h.rt, pod, true)

	if next := h.sync(w); next != 0 {
		t.Errorf("a converged pod asks to be looked at again in %v, want only when woken", next)
	}

	sbName := dockerName(pod, "POD", 0)
	sb := h.inspect(sbName)
	t.Run("one sandbox owns the pod's namespaces", func(t *testing.T) {
		if sb.Config.Image != pauseImage || !sb.State.Running {
			t.Errorf("sandbox image %s running %v, want %s running", sb.Config.Image, sb.State.Running, pauseImage)
		}
		if sb.HostConfig.IpcMode != container.IPCModeShareable {
			t.Errorf("sandbox IpcMode = %q, want shareable", sb.HostConfig.IpcMode)
		}
		if sb.HostConfig.NetworkMode != "bridge" {
			t.Errorf("sandbox NetworkMode = %q, want bridge", sb.HostConfig.NetworkMode)
		}
		if !slices.Equal(sb.HostConfig.DNS, h.rt.DNS.ClusterDNS) {
			t.Errorf("sandbox DNS = %q, want the cluster DNS %q", sb.HostConfig.DNS, h.rt.DNS.ClusterDNS)
		}
		if sb.Config.Hostname != "web" {
			t.Errorf("sandbox hostname = %q, want the pod name", sb.Config.Hostname)
		}
		wantLabels := map[string]string{
			dockerhost.LabelPodName: "web", dockerhost.LabelPodNamespace: "default", dockerhost.LabelPodUID: string(testUID),
			dockerhost.LabelContainerName: "POD", dockerhost.LabelDockerType: "podsandbox", dockerhost.LabelNode: testNode,
			dockerhost.LabelTerminationGracePeriod: "30",
		}
		for k, v := range wantLabels {
			if sb.Config.Labels[k] != v {
				t.Errorf("sandbox label %s = %q, want %q", k, sb.Config.Labels[k], v)
			}
		}
	})

	app, side := h.inspect(dockerName(pod, "app", 0)), h.inspect(dockerName(pod, "sidecar", 0))
	t.Run("containers are created and started in spec order after the sandbox", func(t *testing.T) {
		got := h.calls("ContainerCreate", "ContainerStart")
		want := []string{
			"ContainerCreate " + sbName, "ContainerStart " + sb.ID,
			"ContainerCreate " + dockerName(pod, "app", 0), "ContainerStart " + app.ID,
			"ContainerCreate " + dockerName(pod, "sidecar", 0), "ContainerStart " + side.ID,
		}
		if !slices.Equal(got, want) {
			t.Errorf("engine calls\n%q\nwant\n%q", got, want)
		}
		if len(h.podContainers(testUID)) != 3 {
			t.Errorf("the engine holds %d containers of the pod, want 3", len(h.podContainers(testUID)))
		}
	})

	t.Run("each container joins the sandbox and carries the dockershim labels", func(t *testing.T) {
		for i, c := range []container.InspectResponse{app, side} {
			spec := pod.Spec.Containers[i]
			if !c.State.Running {
				t.Errorf("%s is %s, want running", spec.Name, c.State.Status)
			}
			join := "container:" + sb.ID
			if string(c.HostConfig.NetworkMode) != join || string(c.HostConfig.IpcMode) != join {
				t.Errorf("%s NetworkMode %q IpcMode %q, want %q", spec.Name, c.HostConfig.NetworkMode, c.HostConfig.IpcMode, join)
			}
			if c.HostConfig.PidMode != "" {
				t.Errorf("%s PidMode = %q without shareProcessNamespace", spec.Name, c.HostConfig.PidMode)
			}
			want := map[string]string{
				dockerhost.LabelPodName: "web", dockerhost.LabelPodNamespace: "default", dockerhost.LabelPodUID: string(testUID),
				dockerhost.LabelContainerName: spec.Name, dockerhost.LabelDockerType: "container",
				dockerhost.LabelRestartCount: "0", dockerhost.LabelNode: testNode,
				dockerhost.LabelContainerIndex: fmt.Sprint(i), dockerhost.LabelContainerImage: spec.Image,
			}
			for k, v := range want {
				if c.Config.Labels[k] != v {
					t.Errorf("%s label %s = %q, want %q", spec.Name, k, c.Config.Labels[k], v)
				}
			}
		}
		if app.Config.Labels[dockerhost.LabelContainerPorts] != `[{"containerPort":8080,"protocol":"TCP"}]` {
			t.Errorf("app ports label = %q", app.Config.Labels[dockerhost.LabelContainerPorts])
		}
	})

	t.Run("command, args, env and workingDir become the container's process", func(t *testing.T) {
		if !slices.Equal(app.Config.Entrypoint, []string{"/bin/app", "--serve"}) || !slices.Equal(app.Config.Cmd, []string{"--port", "8080"}) {
			t.Errorf("app Entrypoint %q Cmd %q, want command and args", app.Config.Entrypoint, app.Config.Cmd)
		}
		if !slices.Contains(app.Config.Env, "MODE=test") || app.Config.WorkingDir != "/srv" {
			t.Errorf("app Env %q WorkingDir %q", app.Config.Env, app.Config.WorkingDir)
		}
		// Args without a command keep the image's entrypoint (none here).
		if len(side.Config.Entrypoint) != 0 || !slices.Equal(side.Config.Cmd, []string{"sleep", "3600"}) {
			t.Errorf("sidecar Entrypoint %q Cmd %q", side.Config.Entrypoint, side.Config.Cmd)
		}
	})

	t.Run("the emptyDir is a labelled volume mounted where the spec says", func(t *testing.T) {
		vol := dockerhost.VolumeName(string(testUID), "cache")
		if got := h.podVolumes(testUID); !slices.Equal(got, []string{vol}) {
			t.Fatalf("pod volumes = %q, want [%s]", got, vol)
		}
		vols, _ := h.docker.VolumeList(h.ctx, dockerhost.NodeSelector(testNode), dockerhost.LabelVolumeName+"=cache")
		if len(vols) != 1 {
			t.Fatalf("the volume lacks the node or volume-name label")
		}
		wantApp := []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/cache"}}
		wantSide := []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/data", ReadOnly: true}}
		if !slices.Equal(app.HostConfig.Mounts, wantApp) || !slices.Equal(side.HostConfig.Mounts, wantSide) {
			t.Errorf("mounts: app %+v sidecar %+v", app.HostConfig.Mounts, side.HostConfig.Mounts)
		}
	})

	t.Run("status reports a running, ready pod", func(t *testing.T) {
		s := h.status()
		ip := sb.NetworkSettings.Networks["bridge"].IPAddress
		if s.Phase != v1.PodRunning || s.PodIP != ip || ip == "" || len(s.PodIPs) != 1 || s.PodIPs[0].IP != ip {
			t.Errorf("phase %s podIP %q podIPs %v, want Running with the sandbox IP %q", s.Phase, s.PodIP, s.PodIPs, ip)
		}
		if s.HostIP != testHostIP || s.StartTime == nil || !s.StartTime.Time.Equal(t0) {
			t.Errorf("hostIP %q startTime %v", s.HostIP, s.StartTime)
		}
		for i, id := range []string{app.ID, side.ID} {
			cs := s.ContainerStatuses[i]
			if cs.Name != pod.Spec.Containers[i].Name || cs.ContainerID != "docker://"+id || !cs.Ready || cs.Started == nil || !*cs.Started ||
				cs.State.Running == nil || !cs.State.Running.StartedAt.Time.Equal(t0) || cs.RestartCount != 0 || cs.Image != pod.Spec.Containers[i].Image {
				t.Errorf("container status %d = %+v", i, cs)
			}
		}
		for _, ct := range []v1.PodConditionType{v1.PodReadyToStartContainers, v1.PodInitialized, v1.ContainersReady, v1.PodReady} {
			if c := podCondition(s, ct); c == nil || c.Status != v1.ConditionTrue || !c.LastTransitionTime.Time.Equal(t0) {
				t.Errorf("condition %s = %+v, want True since %v", ct, c, t0)
			}
		}
		if c := podCondition(s, v1.PodScheduled); c == nil || c.Status != v1.ConditionTrue {
			t.Errorf("the scheduler's PodScheduled condition was not passed through: %+v", s.Conditions)
		}
	})

	t.Run("the kubelet's events are recorded", func(t *testing.T) {
		got := h.events()
		want := []string{
			`Normal Pulled Container image "example.com/app:1" already present on machine and can be accessed by the pod`,
			"Normal Created Container created", "Normal Started Container started",
			`Normal Pulled Container image "example.com/sidecar:1" already present on machine and can be accessed by the pod`,
			"Normal Created Container created", "Normal Started Container started",
		}
		if !slices.Equal(got, want) {
			t.Errorf("events\n%q\nwant\n%q", got, want)
		}
	})
}

func TestConvergeSharesThePIDNamespaceOnlyWhenAsked(t *testing.T) {
	for _, share := range []*bool{nil, ptr.To(false), ptr.To(true)} {
		t.Run(fmt.Sprintf("shareProcessNamespace=%v", ptr.Deref(share, false)), func(t *testing.T) {
			h := newHarness(t)
			pod := newPod(appContainer())
			pod.Spec.ShareProcessNamespace = share
			h.running(pod)
			sb := h.inspect(dockerName(pod, "POD", 0))
			want := container.PidMode("")
			if ptr.Deref(share, false) {
				want = container.PidMode("container:" + sb.ID)
			}
			if got := h.inspect(dockerName(pod, "app", 0)).HostConfig.PidMode; got != want {
				t.Errorf("PidMode = %q, want %q", got, want)
			}
		})
	}
}

func TestConvergeIsIdempotent(t *testing.T) {
	h := newHarness(t)
	pod := twoContainerPod()
	w := h.running(pod)
	before := h.podContainers(testUID)
	h.events()
	h.docker.ResetCalls()
	notified := len(h.notifications())

	for range 3 {
		h.clock.Step(time.Minute)
		h.sync(w)
	}

	if got := h.calls("ContainerCreate", "ContainerStart", "ContainerRemove", "ContainerKill", "ImagePull"); len(got) != 0 {
		t.Errorf("later syncs changed containers: %q", got)
	}
	if after := h.podContainers(testUID); !maps.EqualFunc(before, after, func(a, b container.Summary) bool { return a.ID == b.ID && a.State == b.State }) {
		t.Errorf("containers changed from %v to %v", before, after)
	}
	if got := h.podVolumes(testUID); len(got) != 1 {
		t.Errorf("volumes = %q, want the one emptyDir", got)
	}
	if got := h.events(); len(got) != 0 {
		t.Errorf("later syncs recorded events %q", got)
	}
	if got := len(h.notifications()); got != notified {
		t.Errorf("an unchanged pod was reported %d more times", got-notified)
	}
}

func TestConvergeNameConflicts(t *testing.T) {
	t.Run("a container of this pod holding the name is reused", func(t *testing.T) {
		h := newHarness(t)
		pod := newPod(appContainer())
		w := NewWorker(h.rt, pod, true)
		name := dockerName(pod, "app", 0)
		// The container appears between the worker's look at the engine and
		// its create, as when an earlier create's answer was lost.
		var earlier string
		h.docker.SetHook(func(op string, args []string) error {
			if op != "ContainerCreate" || args[0] != name || earlier != "" {
				return nil
			}
			earlier = "creating"
			sbID := h.inspect(dockerName(pod, "POD", 0)).ID
			cfg, host := h.rt.ContainerConfig(pod, appSlots(pod)[0].c, translate.Slot{}, 0, sbID)
			resp, err := h.docker.ContainerCreate(h.ctx, cfg, host, nil, name)
			earlier = resp.ID
			return err
		})
		h.sync(w)

		got := h.podContainers(testUID)
		if len(got) != 2 || got[name].ID != earlier || got[name].State != "running" {
			t.Fatalf("containers = %+v, want the earlier %s running", got, earlier)
		}
		if cs := containerStatus(t, h.status(), "app"); cs.ContainerID != "docker://"+earlier || !cs.Ready {
			t.Errorf("status = %+v", cs)
		}
		if got := h.calls("ContainerRemove"); len(got) != 0 {
			t.Errorf("the pod's own container was removed: %q", got)
		}
	})

	t.Run("a foreign container holding the name is removed and the create retried", func(t *testing.T) {
		h := newHarness(t)
		pod := newPod(appContainer())
		name := dockerName(pod, "app", 0)
		// Another node on the same engine, or a hand-made container.
		foreign, err := h.docker.ContainerCreate(h.ctx, &container.Config{Image: appImage, Labels: map[string]string{
			dockerhost.LabelNode: "other-node", dockerhost.LabelPodUID: string(testUID),
		}}, nil, nil, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.docker.ContainerStart(h.ctx, foreign.ID); err != nil {
			t.Fatal(err)
		}
		h.docker.ResetCalls()
		h.running(pod)

		if want := []string{"ContainerRemove " + foreign.ID}; !slices.Equal(h.calls("ContainerRemove"), want) {
			t.Errorf("removals = %q, want %q", h.calls("ContainerRemove"), want)
		}
		now := h.inspect(name)
		if now.ID == foreign.ID || now.Config.Labels[dockerhost.LabelNode] != testNode || !now.State.Running {
			t.Errorf("container %s = %s labels %v, want a new running container of this node", name, now.ID, now.Config.Labels)
		}
		if got := h.calls("ContainerCreate"); len(got) != 3 { // sandbox, conflict, retry
			t.Errorf("creates = %q", got)
		}
	})
}

func TestConvergeWaitsOnVolumesItCannotProvide(t *testing.T) {
	cases := []struct {
		name   string
		source v1.VolumeSource
		why    string
	}{
		{"hostPath outside the allowed paths", v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/etc"}}, `hostPath "/etc" is not allowed on this node: it allows no host paths (--allowed-host-paths)`},
		{"pvc", v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}, "volume type persistentVolumeClaim is not supported by vk-docker"},
		{"csi", v1.VolumeSource{CSI: &v1.CSIVolumeSource{Driver: "d"}}, "volume type csi is not supported by vk-docker"},
		{"ephemeral", v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}, "volume type ephemeral is not supported by vk-docker"},
		{"image", v1.VolumeSource{Image: &v1.ImageVolumeSource{Reference: "x"}}, "volume type image is not supported by vk-docker"},
		{"hugepages emptyDir", v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumHugePages}}, `emptyDir medium "HugePages" is not supported by vk-docker`},
		{"projected clusterTrustBundle", v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{{ClusterTrustBundle: &v1.ClusterTrustBundleProjection{Path: "b"}}}}}, "projected source clusterTrustBundle is not supported by vk-docker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			pod := twoContainerPod()
			pod.Spec.Volumes = append(pod.Spec.Volumes, v1.Volume{Name: "extra", VolumeSource: c.source})
			w := NewWorker(h.rt, pod, true)
			h.sync(w)
			h.clock.Step(time.Minute)
			h.sync(w)

			if got := h.calls(mutations...); len(got) != 0 {
				t.Errorf("the engine was changed: %q", got)
			}
			want := []string{`Warning FailedMount MountVolume.SetUp failed for volume "extra" : ` + c.why}
			if got := h.events(); !slices.Equal(got, want) {
				t.Errorf("events = %q, want %q once", got, want)
			}
			s := h.status()
			if s.Phase != v1.PodPending || s.PodIP != "" {
				t.Errorf("phase %s podIP %q, want Pending without an IP", s.Phase, s.PodIP)
			}
			for _, cs := range s.ContainerStatuses {
				if cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonContainerCreating || cs.Ready {
					t.Errorf("container %s state %+v, want waiting ContainerCreating", cs.Name, cs.State)
				}
			}
			if c := podCondition(s, v1.ContainersReady); c == nil || c.Status != v1.ConditionFalse || c.Reason != "ContainersNotReady" ||
				c.Message != "containers with unready status: [app sidecar]" {
				t.Errorf("ContainersReady = %+v", c)
			}
			if c := podCondition(s, v1.PodReadyToStartContainers); c == nil || c.Status != v1.ConditionFalse {
				t.Errorf("PodReadyToStartContainers = %+v", c)
			}
		})
	}
}

func TestConvergeReportsSandboxFailures(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	h.docker.InjectError("ContainerStart", errors.New("OCI runtime create failed"))
	w := NewWorker(h.rt, pod, true)
	if next := h.sync(w); next != syncErrorBackOff {
		t.Errorf("next look in %v, want %v", next, syncErrorBackOff)
	}
	sbName := dockerName(pod, "POD", 0)
	want := []string{"Warning FailedCreatePodSandBox Failed to create pod sandbox: start sandbox " + sbName + ": OCI runtime create failed"}
	if got := h.events(); !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if cs := containerStatus(t, h.status(), "app"); cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonContainerCreating {
		t.Errorf("app state = %+v", cs.State)
	}

	// The engine recovers: the created sandbox is started, not made again.
	h.docker.InjectError("ContainerStart", nil)
	h.clock.Step(syncErrorBackOff)
	h.sync(w)
	if got := h.calls("ContainerCreate"); !slices.Equal(got, []string{"ContainerCreate " + sbName, "ContainerCreate " + dockerName(pod, "app", 0)}) {
		t.Errorf("creates = %q", got)
	}
	if s := h.status(); s.Phase != v1.PodRunning || s.PodIP == "" {
		t.Errorf("phase %s podIP %q after recovery", s.Phase, s.PodIP)
	}
}
