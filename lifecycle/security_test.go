package lifecycle

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// The effective securityContext (the container's fields winning over the
// pod's) reaches the engine as cri-dockerd would set it.
func TestSecurityContextBecomesEngineSettings(t *testing.T) {
	type want struct {
		user                 string
		groups, add, drop    []string
		privileged, readOnly bool
		opts                 []string
	}
	unconfined := []string{"seccomp=unconfined"}
	cases := []struct {
		name      string
		pod       *v1.PodSecurityContext
		c         *v1.SecurityContext
		imageUser string
		policy    translate.SecurityPolicy
		want      want
	}{
		{name: "nothing set: image user, no seccomp like the kubelet", want: want{opts: unconfined}},
		{name: "pod runAsUser and runAsGroup", pod: &v1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000)},
			want: want{user: "1000:3000", opts: unconfined}},
		{name: "the container's user wins", pod: &v1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}, c: &v1.SecurityContext{RunAsUser: ptr.To[int64](2000)},
			want: want{user: "2000", opts: unconfined}},
		{name: "a group alone keeps the image's user", imageUser: "nobody:nogroup", c: &v1.SecurityContext{RunAsGroup: ptr.To[int64](5)},
			want: want{user: "nobody:5", opts: unconfined}},
		{name: "a group alone on a root image", c: &v1.SecurityContext{RunAsGroup: ptr.To[int64](5)},
			want: want{user: "0:5", opts: unconfined}},
		{name: "fsGroup and supplementalGroups", pod: &v1.PodSecurityContext{FSGroup: ptr.To[int64](2000), SupplementalGroups: []int64{4000, 2000}},
			want: want{groups: []string{"2000", "4000"}, opts: unconfined}},
		{name: "capabilities", c: &v1.SecurityContext{Capabilities: &v1.Capabilities{Add: []v1.Capability{"NET_ADMIN"}, Drop: []v1.Capability{"ALL"}}},
			want: want{add: []string{"NET_ADMIN"}, drop: []string{"ALL"}, opts: unconfined}},
		{name: "read-only root, no privilege escalation", c: &v1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false)},
			want: want{readOnly: true, opts: []string{"no-new-privileges", "seccomp=unconfined"}}},
		{name: "privileged when the node allows it", policy: translate.SecurityPolicy{AllowPrivileged: true}, c: &v1.SecurityContext{Privileged: ptr.To(true)},
			want: want{privileged: true, opts: unconfined}},
		{name: "RuntimeDefault seccomp is the engine's default", pod: &v1.PodSecurityContext{SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault}}},
		{name: "--seccomp-default", policy: translate.SecurityPolicy{SeccompDefault: true}},
		{name: "the container's Unconfined wins over the pod's RuntimeDefault", pod: &v1.PodSecurityContext{SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault}},
			c: &v1.SecurityContext{SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeUnconfined}}, want: want{opts: unconfined}},
		{name: "runAsNonRoot with a non-root user runs", c: &v1.SecurityContext{RunAsNonRoot: ptr.To(true)}, imageUser: "65534",
			want: want{user: "65534", opts: unconfined}},
		{name: "AppArmor Unconfined needs no AppArmor", c: &v1.SecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeUnconfined}},
			want: want{opts: []string{"seccomp=unconfined", "apparmor=unconfined"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.rt.Security = c.policy
			h.docker.SetImageUser(appImage, c.imageUser)
			app := appContainer()
			app.SecurityContext = c.c
			pod := newPod(app)
			pod.Spec.SecurityContext = c.pod
			h.running(pod)
			in := h.inspect(dockerName(pod, "app", 0))
			hc := in.HostConfig
			got := want{user: in.Config.User, groups: hc.GroupAdd, add: hc.CapAdd, drop: hc.CapDrop,
				privileged: hc.Privileged, readOnly: hc.ReadonlyRootfs, opts: hc.SecurityOpt}
			wantUser := c.want.user
			if wantUser == "" {
				wantUser = c.imageUser // the engine runs the image's user
			}
			if got.user != wantUser || !slices.Equal(got.groups, c.want.groups) || !slices.Equal(got.add, c.want.add) ||
				!slices.Equal(got.drop, c.want.drop) || got.privileged != c.want.privileged || got.readOnly != c.want.readOnly ||
				!slices.Equal(got.opts, c.want.opts) {
				c.want.user = wantUser
				t.Errorf("engine settings = %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// runAsNonRoot is checked against the image's user before the container is
// created; a root or unverifiable user leaves the container waiting with
// CreateContainerConfigError and the kubelet's message.
func TestRunAsNonRootRefusesRoot(t *testing.T) {
	const podDesc = `web_default(6f1c7c2e-5d1a-4d0b-9a43-0c2f3b1d8e01)`
	cases := []struct {
		name, imageUser string
		sc              *v1.SecurityContext
		want            string
	}{
		{"root image", "", &v1.SecurityContext{RunAsNonRoot: ptr.To(true)},
			`container has runAsNonRoot and image will run as root (pod: "` + podDesc + `", container: app)`},
		{"uid 0 image", "0:0", &v1.SecurityContext{RunAsNonRoot: ptr.To(true)},
			`container has runAsNonRoot and image will run as root (pod: "` + podDesc + `", container: app)`},
		{"named user", "www-data", &v1.SecurityContext{RunAsNonRoot: ptr.To(true)},
			`container has runAsNonRoot and image has non-numeric user (www-data), cannot verify user is non-root (pod: "` + podDesc + `", container: app)`},
		{"runAsUser 0", "1000", &v1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](0)},
			`container's runAsUser breaks non-root policy (pod: "` + podDesc + `", container: app)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.docker.SetImageUser(appImage, c.imageUser)
			app := appContainer()
			app.SecurityContext = c.sc
			pod := newPod(app)
			w := NewWorker(h.rt, pod, true)
			h.sync(w)
			cs := containerStatus(t, h.status(), "app")
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonCreateContainerConfigError || cs.State.Waiting.Message != c.want {
				t.Errorf("state = %+v, want waiting %s %q", cs.State, ReasonCreateContainerConfigError, c.want)
			}
			if got := h.events(); !slices.Contains(got, "Warning Failed Error: "+c.want) {
				t.Errorf("events = %q, want the refusal", got)
			}
			if _, ok := h.podContainers(testUID)[dockerName(pod, "app", 0)]; ok {
				t.Error("the container was created")
			}
		})
	}
}

// Without --allow-privileged a pod with a privileged container is held
// Pending as the kubelet held it: reason Forbidden, containers Blocked.
func TestPrivilegedNeedsTheNodeFlag(t *testing.T) {
	h := newHarness(t)
	app := appContainer()
	app.SecurityContext = &v1.SecurityContext{Privileged: ptr.To(true)}
	pod := newPod(app)
	w := NewWorker(h.rt, pod, true)
	h.sync(w)
	h.sync(w)
	want := `pod with UID "6f1c7c2e-5d1a-4d0b-9a43-0c2f3b1d8e01" specified privileged container, but is disallowed`
	s := h.status()
	if s.Phase != v1.PodPending || s.Reason != ReasonForbidden || s.Message != want {
		t.Errorf("status = %s %q %q, want Pending Forbidden %q", s.Phase, s.Reason, s.Message, want)
	}
	if cs := containerStatus(t, s, "app"); cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonBlocked {
		t.Errorf("container state = %+v, want waiting Blocked", cs.State)
	}
	if got := h.events(); !slices.Equal(got, []string{"Warning Forbidden " + want}) {
		t.Errorf("events = %q, want the refusal once", got)
	}
	if got := h.calls(mutations...); len(got) != 0 {
		t.Errorf("the engine was changed: %q", got)
	}
}

// A profile other than Unconfined needs an engine that enforces AppArmor:
// elsewhere the pod is rejected as the kubelet rejects it.
func TestAppArmorNeedsAnEngineThatEnforcesIt(t *testing.T) {
	for _, enforced := range []bool{false, true} {
		h := newHarness(t)
		if enforced {
			h.docker.SetSecurityOptions("name=apparmor", "name=seccomp,profile=builtin")
		}
		pod := newPod(appContainer())
		pod.Spec.SecurityContext = &v1.PodSecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr.To("k8s-deny-write")}}
		w := NewWorker(h.rt, pod, true)
		h.sync(w)
		s := h.status()
		if !enforced {
			want := "Pod was rejected: Cannot enforce AppArmor: AppArmor is not enabled on the host"
			if s.Phase != v1.PodFailed || s.Reason != ReasonAppArmor || s.Message != want {
				t.Errorf("status = %s %q %q, want Failed AppArmor %q", s.Phase, s.Reason, s.Message, want)
			}
			continue
		}
		if s.Phase != v1.PodRunning {
			t.Fatalf("phase = %s, want Running", s.Phase)
		}
		if opts := h.inspect(dockerName(pod, "app", 0)).HostConfig.SecurityOpt; !slices.Contains(opts, "apparmor=k8s-deny-write") {
			t.Errorf("security options = %q, want the profile", opts)
		}
	}
}

// A Localhost seccomp profile is read from --seccomp-profile-root and given
// to the engine as content; a missing one leaves the container waiting.
func TestLocalhostSeccompProfile(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	profile := "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n"
	if err := os.WriteFile(filepath.Join(root, "profiles", "allow.json"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string) (*harness, *v1.Pod) {
		h := newHarness(t)
		h.rt.Security.SeccompProfileRoot = root
		app := appContainer()
		app.SecurityContext = &v1.SecurityContext{SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To(name)}}
		pod := newPod(app)
		h.sync(NewWorker(h.rt, pod, true))
		return h, pod
	}
	h, pod := run("profiles/allow.json")
	if opts := h.inspect(dockerName(pod, "app", 0)).HostConfig.SecurityOpt; !slices.Equal(opts, []string{`seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`}) {
		t.Errorf("security options = %q", opts)
	}
	h, _ = run("profiles/missing.json")
	cs := containerStatus(t, h.status(), "app")
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonCreateContainerError {
		t.Errorf("state = %+v, want waiting CreateContainerError", cs.State)
	}
}

// Settings this engine cannot honour are named in an event, never silently
// dropped; the pod still runs.
func TestIgnoredSecuritySettingsAreAnnounced(t *testing.T) {
	h := newHarness(t)
	pod := newPod(appContainer())
	pod.Spec.SecurityContext = &v1.PodSecurityContext{SELinuxOptions: &v1.SELinuxOptions{Level: "s0:c123,c456"}}
	w := h.running(pod)
	h.sync(w)
	want := "Warning Unsupported seLinuxOptions are ignored: the Docker engine does not enforce SELinux"
	var got []string
	for _, e := range h.events() {
		if e == want {
			got = append(got, e)
		}
	}
	if len(got) != 1 {
		t.Errorf("SELinux warnings = %d, want 1", len(got))
	}
	if opts := h.inspect(dockerName(pod, "app", 0)).HostConfig.SecurityOpt; slices.ContainsFunc(opts, func(o string) bool { return strings.HasPrefix(o, "label=") }) {
		t.Errorf("label options given to an engine without SELinux: %q", opts)
	}
}

// What the engine cannot do at all fails the pod at admission, with the
// kubelet's reasons and messages.
func TestPodsTheEngineCannotRunAreRejected(t *testing.T) {
	cases := []struct {
		name, reason, message string
		set                   func(*v1.PodSpec)
	}{
		{"windows", ReasonPodOSNotSupported, "Failed to admit pod as the OS field doesn't match node OS",
			func(s *v1.PodSpec) { s.OS = &v1.PodOS{Name: v1.Windows} }},
		{"strict supplemental groups", ReasonSupplementalGroupsPolicyNotSupported, "SupplementalGroupsPolicy=Strict is not supported in this node",
			func(s *v1.PodSpec) {
				s.SecurityContext = &v1.PodSecurityContext{SupplementalGroupsPolicy: ptr.To(v1.SupplementalGroupsPolicyStrict)}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			pod := newPod(appContainer())
			c.set(&pod.Spec)
			w := NewWorker(h.rt, pod, true)
			h.sync(w)
			h.sync(w)
			s := h.status()
			if s.Phase != v1.PodFailed || s.Reason != c.reason || s.Message != "Pod was rejected: "+c.message {
				t.Errorf("status = %s %q %q, want Failed %s %q", s.Phase, s.Reason, s.Message, c.reason, c.message)
			}
			if got := h.events(); !slices.Equal(got, []string{"Warning " + c.reason + " " + c.message}) {
				t.Errorf("events = %q, want the rejection once", got)
			}
			if got := h.calls(mutations...); len(got) != 0 {
				t.Errorf("the engine was changed: %q", got)
			}
		})
	}
}
