package lifecycle

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

func TestEnsureImageFollowsThePullPolicy(t *testing.T) {
	const missing = "example.com/missing:2"
	cases := []struct {
		name        string
		image       string
		policy      v1.PullPolicy
		remote      bool // the registry has the missing image
		wantPull    bool
		wantWaiting string
		wantMessage string
		wantEvents  []string
	}{
		{
			name: "Never with the image missing waits with the kubelet's reason", image: missing, policy: v1.PullNever,
			wantWaiting: ReasonErrImageNeverPull,
			wantMessage: `Container image "example.com/missing:2" is not present with pull policy of Never`,
			wantEvents: []string{`Warning ErrImageNeverPull Container image "example.com/missing:2" is not present with pull policy of Never`,
				"Warning Failed Error: ErrImageNeverPull"},
		},
		{
			name: "Never with the image present runs", image: appImage, policy: v1.PullNever,
			wantEvents: []string{`Normal Pulled Container image "example.com/app:1" already present on machine and can be accessed by the pod`, "Normal Created Container created", "Normal Started Container started"},
		},
		{
			name: "IfNotPresent with the image present does not pull", image: appImage, policy: v1.PullIfNotPresent,
			wantEvents: []string{`Normal Pulled Container image "example.com/app:1" already present on machine and can be accessed by the pod`, "Normal Created Container created", "Normal Started Container started"},
		},
		{
			name: "IfNotPresent with the image missing pulls it", image: missing, policy: v1.PullIfNotPresent, remote: true, wantPull: true,
			wantEvents: []string{`Normal Pulling Pulling image "example.com/missing:2"`,
				`Normal Pulled Successfully pulled image "example.com/missing:2" in 0s (0s including waiting). Image size: 4096 bytes.`,
				"Normal Created Container created", "Normal Started Container started"},
		},
		{
			name: "a tag other than latest defaults to IfNotPresent", image: appImage,
			wantEvents: []string{`Normal Pulled Container image "example.com/app:1" already present on machine and can be accessed by the pod`, "Normal Created Container created", "Normal Started Container started"},
		},
		{
			name: "no tag defaults to Always and pulls latest, named as written", image: "example.com/missing", remote: true, wantPull: true,
			wantEvents: []string{`Normal Pulling Pulling image "example.com/missing"`,
				`Normal Pulled Successfully pulled image "example.com/missing" in 0s (0s including waiting). Image size: 4096 bytes.`,
				"Normal Created Container created", "Normal Started Container started"},
		},
		{
			name: "Always pulls a present image", image: appImage, policy: v1.PullAlways, wantPull: true,
			wantEvents: []string{`Normal Pulling Pulling image "example.com/app:1"`,
				`Normal Pulled Successfully pulled image "example.com/app:1" in 0s (0s including waiting). Image size: 0 bytes.`,
				"Normal Created Container created", "Normal Started Container started"},
		},
		{
			name: "a failed pull waits with ErrImagePull and the registry's error", image: missing, policy: v1.PullIfNotPresent, wantPull: true,
			wantWaiting: ReasonErrImagePull,
			wantMessage: `manifest for example.com/missing:2 not found: manifest unknown: manifest unknown: not found`,
			wantEvents: []string{`Normal Pulling Pulling image "example.com/missing:2"`,
				`Warning Failed Failed to pull image "example.com/missing:2": manifest for example.com/missing:2 not found: manifest unknown: manifest unknown: not found`,
				"Warning Failed Error: ErrImagePull"},
		},
		{
			name: "an unparsable reference waits with InvalidImageName", image: "Example.com/UPPER:1", wantWaiting: ReasonInvalidImageName,
			wantMessage: `Failed to apply default image tag "Example.com/UPPER:1": couldn't parse image name "Example.com/UPPER:1": invalid reference format: repository name (UPPER) must be lowercase`,
			wantEvents: []string{`Warning InspectFailed Failed to apply default image tag "Example.com/UPPER:1": couldn't parse image name "Example.com/UPPER:1": invalid reference format: repository name (UPPER) must be lowercase`,
				"Warning Failed Error: InvalidImageName"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.docker.SetRemoteImage(appImage, "", "", 0)
			if c.remote {
				h.docker.SetRemoteImage(c.image, "", "", 4096)
			}
			app := appContainer()
			app.Image, app.ImagePullPolicy = c.image, c.policy
			pod := newPod(app)
			w := NewWorker(h.rt, pod, true)
			next := h.sync(w)

			pulls := h.calls("ImagePull")
			if c.wantPull != (len(pulls) == 1) || len(pulls) > 1 {
				t.Errorf("pulls = %q, want a pull: %v", pulls, c.wantPull)
			}
			if got := h.events(); !slices.Equal(got, c.wantEvents) {
				t.Errorf("events\n%q\nwant\n%q", got, c.wantEvents)
			}
			s := h.status()
			cs := containerStatus(t, s, "app")
			if c.wantWaiting == "" {
				if cs.State.Running == nil || s.Phase != v1.PodRunning {
					t.Errorf("phase %s state %+v, want running", s.Phase, cs.State)
				}
				return
			}
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != c.wantWaiting || cs.State.Waiting.Message != c.wantMessage {
				t.Errorf("state = %+v, want waiting %s: %s", cs.State, c.wantWaiting, c.wantMessage)
			}
			if s.Phase != v1.PodPending || next != retryAfterError {
				t.Errorf("phase %s, next look in %v; want Pending and a retry in %v", s.Phase, next, retryAfterError)
			}
			if _, ok := h.podContainers(testUID)[dockerName(pod, "app", 0)]; ok {
				t.Errorf("a container was created without its image")
			}
			// Held for the same reason on the next pass: no new events.
			h.sync(w)
			if got := h.events(); len(got) != 0 && c.wantWaiting != ReasonErrImagePull {
				t.Errorf("a second pass repeated events %q", got)
			}
		})
	}
}

func TestFailedPullsBackOffPerImageLikeTheKubelet(t *testing.T) {
	const img = "example.com/late:1"
	h := newHarness(t)
	h.docker.SetRemoteImage(appImage, "", "", 0)
	app := appContainer()
	app.Image = img
	w := NewWorker(h.rt, newPod(app), true)
	notFound := "manifest for example.com/late:1 not found: manifest unknown: manifest unknown: not found"

	waiting := func() *v1.ContainerStateWaiting {
		t.Helper()
		return containerStatus(t, h.status(), "app").State.Waiting
	}
	pullsSoFar := func() int { return len(h.docker.Pulls()) }

	h.sync(w)
	if wt := waiting(); wt == nil || wt.Reason != ReasonErrImagePull || wt.Message != notFound {
		t.Fatalf("after a failed pull: waiting %+v, want ErrImagePull: %s", wt, notFound)
	}
	h.events()

	// Every pass inside the back-off reports ImagePullBackOff with the last
	// error and does not pull; the BackOff event is recorded once.
	backOffMsg := `Back-off pulling image "example.com/late:1": ErrImagePull: ` + notFound
	for _, step := range []time.Duration{retryAfterError, retryAfterError, 5 * time.Second} {
		h.clock.Step(step)
		h.sync(w)
		if wt := waiting(); wt == nil || wt.Reason != ReasonImagePullBackOff || wt.Message != backOffMsg {
			t.Fatalf("inside the back-off: waiting %+v, want ImagePullBackOff: %s", wt, backOffMsg)
		}
	}
	want := []string{`Normal BackOff Back-off pulling image "example.com/late:1"`, "Warning Failed Error: ImagePullBackOff"}
	if got := h.events(); !slices.Equal(got, want) {
		t.Errorf("back-off events %q, want %q", got, want)
	}
	if n := pullsSoFar(); n != 1 {
		t.Fatalf("%d pulls inside the back-off, want the first one only", n)
	}

	// 10 s after the failure it pulls again; the next back-off is 20 s.
	h.clock.Step(time.Second)
	h.sync(w)
	if n := pullsSoFar(); n != 2 {
		t.Fatalf("%d pulls 10 s after the failure, want 2", n)
	}
	if wt := waiting(); wt == nil || wt.Reason != ReasonErrImagePull {
		t.Fatalf("after the second failure: waiting %+v, want ErrImagePull", wt)
	}
	h.clock.Step(19 * time.Second)
	h.sync(w)
	if n := pullsSoFar(); n != 2 {
		t.Fatalf("pulled again %v into a 20 s back-off", 19*time.Second)
	}

	// The image appears in the registry: the next attempt starts the container.
	h.docker.SetRemoteImage(img, "", "", 1)
	h.clock.Step(time.Second)
	h.sync(w)
	if cs := containerStatus(t, h.status(), "app"); cs.State.Running == nil {
		t.Fatalf("after a successful pull: state %+v, want running", cs.State)
	}
	if n := pullsSoFar(); n != 3 {
		t.Errorf("%d pulls, want 3", n)
	}
}

// dockerConfigJSON is a kubernetes.io/dockerconfigjson secret for server.
func dockerConfigJSON(name, server, user, password string) *v1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Type:       v1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{v1.DockerConfigJsonKey: fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, server, auth)},
	}
}

func TestPullSecretsBecomeRegistryAuth(t *testing.T) {
	const private = "registry.example.com:5000/team/private:1"
	dockercfg := &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: "default"},
		Type:       v1.SecretTypeDockercfg,
		Data:       map[string][]byte{v1.DockerConfigKey: []byte(`{"https://registry.example.com:5000":{"username":"ann","password":"s3cret"}}`)},
	}
	cases := []struct {
		name        string
		secrets     []*v1.Secret
		refs        []string
		wantUsers   []string // the user of each pull attempt, "" for anonymous
		wantRunning bool
		wantEvent   string
	}{
		{
			name:    "the right dockerconfigjson secret pulls",
			secrets: []*v1.Secret{dockerConfigJSON("right", "registry.example.com:5000", "ann", "s3cret")},
			refs:    []string{"right"}, wantUsers: []string{"ann"}, wantRunning: true,
		},
		{
			name:    "a dockercfg secret pulls",
			secrets: []*v1.Secret{dockercfg}, refs: []string{"legacy"}, wantUsers: []string{"ann"}, wantRunning: true,
		},
		{
			name: "every matching credential is tried in turn, the most specific first",
			secrets: []*v1.Secret{
				dockerConfigJSON("right", "registry.example.com:5000", "ann", "s3cret"),
				dockerConfigJSON("wrong", "https://registry.example.com:5000/v2/team", "bob", "guess"),
			},
			refs: []string{"right", "wrong"}, wantUsers: []string{"bob", "ann"}, wantRunning: true,
		},
		{
			name:    "a wrong password fails",
			secrets: []*v1.Secret{dockerConfigJSON("wrong", "registry.example.com:5000", "ann", "guess")},
			refs:    []string{"wrong"}, wantUsers: []string{"ann"},
		},
		{
			name:    "a secret for another registry is not sent",
			secrets: []*v1.Secret{dockerConfigJSON("other", "registry.example.com:5001", "ann", "s3cret")},
			refs:    []string{"other"}, wantUsers: []string{""},
		},
		{
			name: "no secret pulls anonymously", wantUsers: []string{""},
		},
		{
			name:    "a missing secret is reported and the pull still attempted",
			secrets: []*v1.Secret{dockerConfigJSON("right", "registry.example.com:5000", "ann", "s3cret")},
			refs:    []string{"gone", "right"}, wantUsers: []string{"ann"}, wantRunning: true,
			wantEvent: "Warning FailedToRetrieveImagePullSecret Unable to retrieve some image pull secrets (gone); attempting to pull the image may not succeed.",
		},
	}
	for _, c := range cases {
		for _, source := range []string{"cache", "API"} {
			t.Run(c.name+" (secret from the "+source+")", func(t *testing.T) {
				h := newHarness(t)
				h.docker.SetRemoteImage(private, "ann", "s3cret", 10)
				indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
				client := fake.NewClientset()
				for _, s := range c.secrets {
					if source == "cache" {
						_ = indexer.Add(s)
					} else {
						_, _ = client.CoreV1().Secrets(s.Namespace).Create(h.ctx, s, metav1.CreateOptions{})
					}
				}
				h.rt.Secrets, h.rt.Kube = corev1listers.NewSecretLister(indexer), client
				app := appContainer()
				app.Image = private
				pod := newPod(app)
				for _, r := range c.refs {
					pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, v1.LocalObjectReference{Name: r})
				}
				w := NewWorker(h.rt, pod, true)
				h.sync(w)

				var users []string
				for _, p := range h.docker.Pulls() {
					users = append(users, p.Username)
				}
				if !slices.Equal(users, c.wantUsers) {
					t.Errorf("pulls as %q, want %q", users, c.wantUsers)
				}
				cs := containerStatus(t, h.status(), "app")
				if running := cs.State.Running != nil; running != c.wantRunning {
					t.Errorf("state %+v, want running: %v", cs.State, c.wantRunning)
				}
				if !c.wantRunning && (cs.State.Waiting == nil || cs.State.Waiting.Reason != ReasonErrImagePull ||
					!strings.Contains(cs.State.Waiting.Message, "no basic auth credentials")) {
					t.Errorf("state %+v, want ErrImagePull with the registry's auth error", cs.State)
				}
				events := h.events()
				if c.wantEvent != "" && !slices.Contains(events, c.wantEvent) {
					t.Errorf("events %q lack %q", events, c.wantEvent)
				}
			})
		}
	}
}

func TestConcurrentPullsOfOneImageAreOnePull(t *testing.T) {
	const img = "example.com/shared:1"
	h := newHarness(t)
	h.docker.SetRemoteImage(img, "", "", 1)
	release := make(chan struct{})
	h.docker.SetHook(func(op string, args []string) error {
		if op == "ImagePull" {
			<-release
		}
		return nil
	})
	const pods = 3
	var wg sync.WaitGroup
	var started []*v1.Pod
	for i := range pods {
		app := appContainer()
		app.Image = img
		pod := newPod(app)
		pod.Name, pod.UID = fmt.Sprintf("web-%d", i), types.UID(fmt.Sprintf("uid-%d", i))
		started = append(started, pod)
		w := NewWorker(h.rt, pod, true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.sync(w)
		}()
	}
	// Every pod announced its pull: all are at (or just before) the pull.
	for seen := 0; seen < pods; {
		if e := <-h.rec.Events; strings.Contains(e, "Pulling image") {
			seen++
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := len(h.docker.Pulls()); n != 1 {
		t.Errorf("%d engine pulls for %d pods pulling one image, want 1", n, pods)
	}
	for _, pod := range started {
		if _, ok := h.podContainers(pod.UID)[dockerName(pod, "app", 0)]; !ok {
			t.Errorf("pod %s has no container after the shared pull", pod.Name)
		}
	}
}

// An image pulled with a secret is not handed to pods without that secret
// just because it is present (the kubelet's KubeletEnsureSecretPulledImages,
// on by default): IfNotPresent pulls again with the pod's own credentials,
// Never reports the image as not present.
func TestImagesPulledWithASecretNeedTheSecret(t *testing.T) {
	const private = "registry.example.com:5000/team/private:1"
	h := newHarness(t)
	h.docker.SetRemoteImage(private, "ann", "s3cret", 10)
	client := fake.NewClientset(
		dockerConfigJSON("right", "registry.example.com:5000", "ann", "s3cret"),
		dockerConfigJSON("same-login", "registry.example.com:5000", "ann", "s3cret"),
	)
	h.rt.Kube = client
	start := func(name string, policy v1.PullPolicy, secret string) v1.ContainerStatus {
		t.Helper()
		return startWithImage(t, h, h.rt, private, name, secret, policy)
	}
	if cs := start("first", v1.PullIfNotPresent, "right"); cs.State.Running == nil {
		t.Fatalf("the pod with the secret: %+v, want running", cs.State)
	}
	cases := []struct {
		name, secret string
		policy       v1.PullPolicy
		wantWaiting  string
		wantPull     bool
	}{
		{name: "no-secret", policy: v1.PullIfNotPresent, wantWaiting: ReasonErrImagePull, wantPull: true},
		{name: "never-no-secret", policy: v1.PullNever, wantWaiting: ReasonErrImageNeverPull},
		{name: "same-secret", secret: "right", policy: v1.PullIfNotPresent},
		{name: "same-credentials", secret: "same-login", policy: v1.PullNever},
	}
	for _, c := range cases {
		before := len(h.docker.Pulls())
		cs := start(c.name, c.policy, c.secret)
		switch {
		case c.wantWaiting == "" && cs.State.Running == nil:
			t.Errorf("%s: %+v, want running", c.name, cs.State)
		case c.wantWaiting != "" && (cs.State.Waiting == nil || cs.State.Waiting.Reason != c.wantWaiting):
			t.Errorf("%s: %+v, want waiting %s", c.name, cs.State, c.wantWaiting)
		}
		if pulled := len(h.docker.Pulls()) > before; pulled != c.wantPull {
			t.Errorf("%s: pulled %v, want %v", c.name, pulled, c.wantPull)
		}
	}
}

// startWithImage runs a pod of one container of image under policy, with
// the pull secret when given, through rt, and returns the container's status.
func startWithImage(t *testing.T, h *harness, rt *Runtime, image, name, secret string, policy v1.PullPolicy) v1.ContainerStatus {
	t.Helper()
	app := appContainer()
	app.Image, app.ImagePullPolicy = image, policy
	pod := newPod(app)
	pod.Name, pod.UID = name, types.UID("uid-"+name)
	if secret != "" {
		pod.Spec.ImagePullSecrets = []v1.LocalObjectReference{{Name: secret}}
	}
	h.sync(NewWorker(rt, pod, true))
	return containerStatus(t, h.status(), "app")
}

// The pull records outlive the node's process when it keeps them in a file:
// after a restart, a pod without the secret still may not use the image
// (Never: not present); with no file, the image counts as preloaded. A
// record file that cannot be read stops the node.
func TestImagePullRecordsSurviveARestart(t *testing.T) {
	const private = "registry.example.com:5000/team/private:1"
	for _, tc := range []struct {
		name        string
		keep        bool
		wantWaiting string
	}{
		{name: "kept in a file", keep: true, wantWaiting: ReasonErrImageNeverPull},
		{name: "in memory only", keep: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.keep {
				h.rt.ImagePullRecords = filepath.Join(t.TempDir(), "node", "image-pulls.json")
			}
			h.docker.SetRemoteImage(private, "ann", "s3cret", 10)
			h.rt.Kube = fake.NewClientset(dockerConfigJSON("right", "registry.example.com:5000", "ann", "s3cret"))
			if cs := startWithImage(t, h, h.rt, private, "first", "right", v1.PullIfNotPresent); cs.State.Running == nil {
				t.Fatalf("the pod with the secret: %+v, want running", cs.State)
			}

			restarted := &Runtime{}
			*restarted = *h.rt
			restarted.images = nil
			if err := restarted.LoadImagePullRecords(); err != nil {
				t.Fatal(err)
			}
			cs := startWithImage(t, h, restarted, private, "after-restart", "", v1.PullNever)
			switch {
			case tc.wantWaiting == "" && cs.State.Running == nil:
				t.Errorf("after a restart: %+v, want running (preloaded)", cs.State)
			case tc.wantWaiting != "" && (cs.State.Waiting == nil || cs.State.Waiting.Reason != tc.wantWaiting):
				t.Errorf("after a restart: %+v, want waiting %s", cs.State, tc.wantWaiting)
			}
		})
	}
	t.Run("an unreadable file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "image-pulls.json")
		if err := os.WriteFile(file, []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		rt := &Runtime{ImagePullRecords: file}
		if err := rt.LoadImagePullRecords(); err == nil || !strings.Contains(err.Error(), file) {
			t.Errorf("LoadImagePullRecords = %v, want an error naming %s", err, file)
		}
	})
}
