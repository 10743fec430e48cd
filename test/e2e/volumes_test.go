//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// Two containers share a disk emptyDir and a Memory emptyDir; the latter is
// a tmpfs of its sizeLimit.
func TestVolumesEmptyDirsAreSharedAndMemoryIsTmpfs(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	p := pod("emptydirs",
		busybox("writer", "echo disk > /disk/f; echo mem > /mem/f; trap 'exit 0' TERM; while true; do sleep 1; done"),
		sleeper("reader"))
	p.Spec.Volumes = []v1.Volume{
		{Name: "disk", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
		{Name: "mem", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("16Mi"))}}},
	}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].VolumeMounts = []v1.VolumeMount{{Name: "disk", MountPath: "/disk"}, {Name: "mem", MountPath: "/mem"}}
	}
	created := createPod(t, ns, p)
	waitRunning(t, ns, p.Name)
	waitExecOutput(t, ns, p.Name, "reader", "disk\nmem", 10*time.Second, "cat", "/disk/f", "/mem/f")
	mounts := mustExec(t, ns, p.Name, "reader", "cat", "/proc/mounts")
	if !hasMount(mounts, "/mem", "tmpfs", "size=16384k") {
		t.Errorf("/mem is not a 16Mi tmpfs:\n%s", mounts)
	}
	if hasMount(mounts, "/disk", "tmpfs", "") {
		t.Errorf("/disk is a tmpfs, want the disk:\n%s", mounts)
	}
	deleteAndCheckEngineClean(t, ns, p.Name, created.UID)
}

// A non-root user writes into emptyDirs, which are 0777 as on a kubelet;
// with an fsGroup the volumes belong to that group (setgid, so new files
// join it) and a 0400 secret becomes 0440 for the group to read.
func TestVolumesFSGroupOwnership(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                   string
		fsGroup                *int64
		disk, mem, file, token string // stat -c '%a %g'
		readsToken             bool
	}{
		{name: "without fsGroup", disk: "777 0", mem: "1777 0", file: "644 3000", token: "400 0"},
		{name: "with fsGroup", fsGroup: ptr.To[int64](2000), disk: "2777 2000", mem: "3777 2000", file: "644 2000", token: "440 2000", readsToken: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ns := namespace(t)
			secret := &v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"}, StringData: map[string]string{"token": "t0ken"}}
			if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			p := pod("owned", busybox("app", "umask 022; echo x > /disk/f; echo x > /mem/f; trap 'exit 0' TERM; while true; do sleep 1; done"))
			p.Spec.SecurityContext = &v1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000), FSGroup: tc.fsGroup}
			p.Spec.Volumes = []v1.Volume{
				{Name: "disk", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
				{Name: "mem", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory}}},
				{Name: "creds", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "creds", DefaultMode: ptr.To[int32](0o400)}}},
			}
			p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "disk", MountPath: "/disk"}, {Name: "mem", MountPath: "/mem"}, {Name: "creds", MountPath: "/creds"}}
			createPod(t, ns, p)
			waitRunning(t, ns, p.Name)
			waitExecOutput(t, ns, p.Name, "app", "x\nx", 10*time.Second, "cat", "/disk/f", "/mem/f")
			for path, want := range map[string]string{"/disk": tc.disk, "/mem": tc.mem, "/disk/f": tc.file, "/creds/token": tc.token} {
				if got := strings.TrimSpace(mustExec(t, ns, p.Name, "app", "stat", "-L", "-c", "%a %g", path)); got != want {
					t.Errorf("stat %s = %q, want %q", path, got, want)
				}
			}
			got, err := env.Exec(ctx, ns, p.Name, "app", "cat", "/creds/token")
			if tc.readsToken && (err != nil || got != "t0ken") {
				t.Errorf("user 1000 in the fsGroup reads the 0400 secret: %q, %v; want t0ken", got, err)
			}
			if !tc.readsToken && err == nil {
				t.Errorf("user 1000 read a root-owned 0400 secret: %q", got)
			}
		})
	}
}

// ConfigMap and Secret volumes show the kubelet's files, modes and ..data
// layout; an edit of the ConfigMap reaches the file (not a subPath mount)
// within 90 s; the secret lives on tmpfs and its bytes appear in no inspect
// output and not in the node's log.
func TestVolumesConfigMapAndSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	secretBytes := "s3cr3t-" + framework.RandomSuffix() + "-" + framework.RandomSuffix()
	cm := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"color": "blue", "size": "L"}}
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sec := &v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"password": []byte(secretBytes), "user": []byte("admin")}}
	if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	app := sleeper("app")
	app.VolumeMounts = []v1.VolumeMount{
		{Name: "config", MountPath: "/etc/config"},
		{Name: "config", MountPath: "/etc/size", SubPath: "size"},
		{Name: "creds", MountPath: "/etc/creds"},
	}
	p := pod("cm-secret", app)
	p.Spec.Volumes = []v1.Volume{
		{Name: "config", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{
			LocalObjectReference: v1.LocalObjectReference{Name: "settings"},
			DefaultMode:          ptr.To[int32](0o640),
			Items:                []v1.KeyToPath{{Key: "color", Path: "colors/main", Mode: ptr.To[int32](0o600)}, {Key: "size", Path: "size"}},
		}}},
		{Name: "creds", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "creds", DefaultMode: ptr.To[int32](0o400)}}},
	}
	created := createPod(t, ns, p)
	waitRunning(t, ns, p.Name)

	got := mustExec(t, ns, p.Name, "app", "sh", "-c",
		"cat /etc/config/colors/main; echo; stat -L -c '%a' /etc/config/colors/main /etc/config/size /etc/creds/password /etc/creds/user; readlink /etc/config/size; cat /etc/creds/user; echo; cat /etc/size")
	want := "blue\n600\n640\n400\n400\n..data/size\nadmin\nL"
	if strings.TrimSpace(got) != want {
		t.Errorf("files and modes:\n%s\nwant:\n%s", got, want)
	}
	if out := mustExec(t, ns, p.Name, "app", "cat", "/etc/creds/password"); out != secretBytes {
		t.Errorf("password = %q, want the secret's bytes", out)
	}
	mounts := mustExec(t, ns, p.Name, "app", "cat", "/proc/mounts")
	if !hasMount(mounts, "/etc/creds", "tmpfs", "ro") || !hasMount(mounts, "/etc/config", "tmpfs", "ro") {
		t.Errorf("secret and configMap volumes are not read-only tmpfs:\n%s", mounts)
	}
	if out, err := env.Exec(ctx, ns, p.Name, "app", "sh", "-c", "echo x > /etc/creds/new"); err == nil {
		t.Errorf("the secret volume is writable: %q", out)
	}

	// The secret's bytes are in no container's inspect output (config, env,
	// mounts, labels) and never in the node's log.
	cs, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(created.UID)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		in, err := env.Docker.ContainerInspect(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(in)
		if strings.Contains(string(b), secretBytes) {
			t.Errorf("docker inspect of %s shows the secret", c.Names)
		}
	}

	cm.Data["color"] = "green"
	cm.Data["size"] = "XL"
	start := time.Now()
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitExecOutput(t, ns, p.Name, "app", "green", 90*time.Second, "cat", "/etc/config/colors/main")
	t.Logf("the ConfigMap edit reached the file after %v", time.Since(start).Round(time.Second))
	if out := mustExec(t, ns, p.Name, "app", "cat", "/etc/config/size"); out != "XL" {
		t.Errorf("/etc/config/size = %q after the edit, want XL", out)
	}
	if out := mustExec(t, ns, p.Name, "app", "cat", "/etc/size"); out != "L" {
		t.Errorf("the subPath mount /etc/size = %q after the edit, want the old L (subPath mounts do not update)", out)
	}

	deleteAndCheckEngineClean(t, ns, p.Name, created.UID)
	if b, err := os.ReadFile(node.LogPath); err != nil {
		t.Fatal(err)
	} else if strings.Contains(string(b), secretBytes) {
		t.Errorf("the node's log %s contains the secret", node.LogPath)
	}
}

// A mandatory ConfigMap that does not exist keeps the pod Pending with the
// kubelet's FailedMount event until it is created; an optional one that
// does not exist is an empty volume.
func TestVolumesMissingConfigMap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	app := sleeper("app")
	app.VolumeMounts = []v1.VolumeMount{{Name: "must", MountPath: "/must"}, {Name: "may", MountPath: "/may"}}
	p := pod("missing-cm", app)
	p.Spec.Volumes = []v1.Volume{
		{Name: "must", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "later"}}}},
		{Name: "may", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "never", Optional: ptr.To(true)}}},
	}
	createPod(t, ns, p)
	waitFailedMount(t, ns, p.Name, `MountVolume.SetUp failed for volume "must" : configmap "later" not found`)
	_, err := framework.WaitForPod(ctx, env, ns, p.Name, 10*time.Second, "Pending with the container ContainerCreating", func(p *v1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return p.Status.Phase == v1.PodPending && len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "ContainerCreating"
	})
	if err != nil {
		t.Fatal(err)
	}
	cm := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later"}, Data: map[string]string{"k": "v"}}
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, ns, p.Name)
	if out := mustExec(t, ns, p.Name, "app", "sh", "-c", "cat /must/k; ls /may | wc -l"); strings.TrimSpace(out) != "v0" {
		t.Errorf("volumes = %q, want /must/k = v and /may empty", out)
	}
}

// The API server's service-account volume works: an in-pod client with the
// projected token is the pod's ServiceAccount (refused without a role,
// allowed with one); ca.crt and namespace are there; downwardAPI labels
// follow a label change.
func TestVolumesServiceAccountTokenAndDownwardAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	app := sleeper("app")
	app.VolumeMounts = []v1.VolumeMount{{Name: "podinfo", MountPath: "/podinfo"}}
	p := pod("sa-client", app)
	p.Labels = map[string]string{"tier": "front"}
	p.Spec.Volumes = []v1.Volume{{Name: "podinfo", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{Items: []v1.DownwardAPIVolumeFile{
		{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		{Path: "name", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}},
	}}}}}
	created := createPod(t, ns, p)
	waitRunning(t, ns, p.Name)

	const sa = "/var/run/secrets/kubernetes.io/serviceaccount"
	if out := mustExec(t, ns, p.Name, "app", "sh", "-c", "cat "+sa+"/namespace; echo; grep -q 'BEGIN CERTIFICATE' "+sa+"/ca.crt && echo has-ca"); strings.TrimSpace(out) != ns+"\nhas-ca" {
		t.Errorf("namespace and ca.crt = %q", out)
	}
	request := "wget -qO- --no-check-certificate --header \"Authorization: Bearer $(cat " + sa + "/token)\" " +
		"https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/" + ns + "/pods 2>&1"
	// Authenticated but not authorized: 403, not 401.
	if out, _ := env.Exec(ctx, ns, p.Name, "app", "sh", "-c", request); !strings.Contains(out, "403") {
		t.Errorf("request without a role = %q, want 403 Forbidden", out)
	}
	user := "system:serviceaccount:" + ns + ":default"
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}}}
	if _, err := env.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pod-reader"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}}}
	if _, err := env.Client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var out string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		out, _ = env.Exec(ctx, ns, p.Name, "app", "sh", "-c", request)
		// The API server pretty-prints JSON for clients like wget.
		return strings.Contains(out, `"PodList"`), nil
	})
	if err != nil || !strings.Contains(out, `"sa-client"`) {
		t.Errorf("request as %s with a role binding = %q, want the PodList with the pod", user, out)
	}

	if out := mustExec(t, ns, p.Name, "app", "cat", "/podinfo/labels", "/podinfo/name"); out != "tier=\"front\"sa-client" {
		t.Errorf("downwardAPI files = %q", out)
	}
	patch := []byte(`{"metadata":{"labels":{"tier":"back"}}}`)
	start := time.Now()
	if _, err := env.Client.CoreV1().Pods(ns).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitExecOutput(t, ns, p.Name, "app", `tier="back"`, 90*time.Second, "cat", "/podinfo/labels")
	t.Logf("the label change reached the file after %v", time.Since(start).Round(time.Second))
	deleteAndCheckEngineClean(t, ns, p.Name, created.UID)
}

// hostPath volumes: allowed under --allowed-host-paths with the kubelet's
// type checks, refused elsewhere with a reason.
func TestVolumesHostPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	allowed := t.TempDir()
	// Started before the namespace, so it closes after the namespace is gone.
	hp := startNode(t, framework.NodeOptions{Name: "e2e-vol-" + framework.RandomSuffix(), Args: []string{"--allowed-host-paths", allowed}})
	ns := namespace(t)
	onNode := func(p *v1.Pod) *v1.Pod { return framework.OnNode(p, hp.Name) }

	app := busybox("app", "echo from-pod > /host/out; trap 'exit 0' TERM; while true; do sleep 1; done")
	app.VolumeMounts = []v1.VolumeMount{{Name: "host", MountPath: "/host"}}
	ok := onNode(pod("inside", app))
	ok.Spec.Volumes = []v1.Volume{{Name: "host", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{
		Path: filepath.Join(allowed, "made"), Type: ptr.To(v1.HostPathDirectoryOrCreate)}}}}
	created := createPod(t, ns, ok)

	refused := onNode(pod("outside", sleeper("app")))
	refused.Spec.Volumes = []v1.Volume{{Name: "etc", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/etc"}}}}
	createPod(t, ns, refused)

	wrongType := onNode(pod("wrong-type", sleeper("app")))
	wrongType.Spec.Volumes = []v1.Volume{{Name: "dir", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{
		Path: filepath.Join(allowed, "absent"), Type: ptr.To(v1.HostPathDirectory)}}}}
	createPod(t, ns, wrongType)

	waitRunning(t, ns, ok.Name)
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		b, err := os.ReadFile(filepath.Join(allowed, "made", "out"))
		return err == nil && string(b) == "from-pod\n", nil
	})
	if err != nil {
		t.Errorf("the pod's file did not appear in the host directory: %v", err)
	}
	waitFailedMount(t, ns, refused.Name, `MountVolume.SetUp failed for volume "etc" : hostPath "/etc" is not under a path this node allows`)
	waitFailedMount(t, ns, wrongType.Name, "hostPath type check failed: "+filepath.Join(allowed, "absent")+" is not a directory")
	for _, name := range []string{refused.Name, wrongType.Name} {
		got, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase != v1.PodPending {
			t.Errorf("%s phase = %s, want Pending", name, got.Status.Phase)
		}
	}
	deleteAndCheckEngineClean(t, ns, ok.Name, created.UID)
}

// hasMount reports whether /proc/mounts shows target as a filesystem of
// type fstype whose options include opt.
func hasMount(mounts, target, fstype, opt string) bool {
	for _, l := range strings.Split(mounts, "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] == target && f[2] == fstype && (opt == "" || strings.Contains(","+f[3]+",", ","+opt+",")) {
			return true
		}
	}
	return false
}

// waitExecOutput runs command until its trimmed output is want.
func waitExecOutput(t *testing.T, ns, pod, container, want string, timeout time.Duration, command ...string) {
	t.Helper()
	var out string
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		out, _ = env.Exec(ctx, ns, pod, container, command...)
		return strings.TrimSpace(out) == want, nil
	})
	if err != nil {
		t.Fatalf("%v in %s/%s = %q after %v, want %q", command, pod, container, out, timeout, want)
	}
}

// waitFailedMount waits for the pod's FailedMount warning containing want.
func waitFailedMount(t *testing.T, ns, pod, want string) {
	t.Helper()
	env.WaitPodEvent(t, ns, pod, 30*time.Second, "FailedMount: "+want, func(e v1.Event) bool {
		return e.Type == v1.EventTypeWarning && e.Reason == "FailedMount" && strings.Contains(e.Message, want)
	})
}

// deleteAndCheckEngineClean deletes the pod, waits for it to leave the API,
// and then until none of its containers and volumes is left on the engine.
func deleteAndCheckEngineClean(t *testing.T, ns, pod string, uid types.UID) {
	t.Helper()
	ctx := context.Background()
	deletePod(t, ns, pod)
	if err := framework.WaitForPodGone(ctx, env, ns, pod, 30*time.Second); err != nil {
		t.Fatalf("pod still in the API: %v", err)
	}
	var left []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		left = nil
		cs, err := env.Docker.ContainerList(ctx, dockerhost.PodSelector(string(uid)))
		if err != nil {
			return false, err
		}
		for _, c := range cs {
			left = append(left, strings.Join(c.Names, ","))
		}
		vs, err := env.Docker.VolumeList(ctx, dockerhost.PodSelector(string(uid)))
		if err != nil {
			return false, err
		}
		for _, v := range vs {
			left = append(left, "volume "+v.Name)
		}
		return len(left) == 0, nil
	})
	if err != nil {
		t.Fatalf("left on the engine after deleting %s: %v (%v)", pod, left, err)
	}
}
