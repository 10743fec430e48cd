//go:build !e2e_timing && !e2e_sandbox_probes

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	"golang.org/x/crypto/bcrypt"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// testRegistry is a distribution registry on 127.0.0.1 with htpasswd auth,
// behind a proxy that counts the manifest requests of each tag the registry
// answered with 200: one per pull that reached the registry.
type testRegistry struct {
	Host           string // 127.0.0.1:<port> of the proxy, as images name it
	User, Password string

	mu     sync.Mutex
	pulled map[string]int // "<repository>:<tag>" → successful manifest requests
}

var manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)

// Pulls is how many times ref ("<repository>:<tag>", without the host) was
// pulled from the registry.
func (r *testRegistry) Pulls(ref string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pulled[ref]
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// startRegistry runs bin/registry (hack/registry.sh builds it) for the test.
func startRegistry(t *testing.T) *testRegistry {
	t.Helper()
	bin := os.Getenv("VK_DOCKER_REGISTRY_BIN")
	if bin == "" {
		bin = filepath.Join(framework.RepoRoot(), "bin", "registry")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the registry binary is missing (run `make registry`): %v", err)
	}
	dir := t.TempDir()
	r := &testRegistry{User: "vk-e2e", Password: randomHex(t), pulled: map[string]int{}}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), fmt.Appendf(nil, "%s:%s\n", r.User, hash), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freeLocalPort(t)
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: 127.0.0.1:%d
  secret: %s
auth:
  htpasswd:
    realm: vk-docker-e2e
    path: %s
`, filepath.Join(dir, "data"), port, randomHex(t), filepath.Join(dir, "htpasswd"))
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// No tracing exporter: nothing but the test talks to the registry.
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("registry log:\n%s", b)
		}
	})
	target := &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		resp, err := http.Get(target.String() + "/v2/")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized, nil
	})
	if err != nil {
		t.Fatalf("registry on %s never asked for credentials: %v", target.Host, err)
	}

	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(rec, req)
		m := manifestPath.FindStringSubmatch(req.URL.Path)
		if m == nil || (req.Method != http.MethodGet && req.Method != http.MethodHead) || rec.status != http.StatusOK || strings.HasPrefix(m[2], "sha256:") {
			return
		}
		r.mu.Lock()
		r.pulled[m[1]+":"+m[2]]++
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// push pushes a local image to the registry as repoTag and removes the
// local tag, so that the registry is the only place that has it.
func (r *testRegistry) push(t *testing.T, local, repoTag string) {
	t.Helper()
	ref := r.Host + "/" + repoTag
	cfg := t.TempDir() // the docker CLI's login stays out of the user's config
	docker(t, "", "tag", local, ref)
	docker(t, r.Password+"\n", "--config", cfg, "login", "--username", r.User, "--password-stdin", r.Host)
	docker(t, "", "--config", cfg, "push", ref)
	docker(t, "", "image", "rm", ref)
}

// removeImage untags ref; the image stays under its other names
// (vk-docker/busybox).
func removeImage(t *testing.T, ref string) {
	out, err := exec.Command("docker", "image", "rm", "--force", ref).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such image") {
		t.Errorf("remove test image %s: %v: %s", ref, err, out)
	}
}

func docker(t *testing.T, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// freeLocalPort is a TCP port of 127.0.0.1 nothing listens on now.
func freeLocalPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// registrySecret is a kubernetes.io/dockerconfigjson secret for host.
func registrySecret(name, host, user, password string) *v1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       v1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{v1.DockerConfigJsonKey: fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, host, auth)},
	}
}

// waitWaiting waits until the pod's only container waits for reason.
func waitWaiting(t *testing.T, ns, name, reason string) v1.ContainerStateWaiting {
	t.Helper()
	p, err := framework.WaitForPod(context.Background(), env, ns, name, 60*time.Second, "waiting with "+reason, func(p *v1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == reason
	})
	if err != nil {
		t.Fatal(err)
	}
	return *p.Status.ContainerStatuses[0].State.Waiting
}

// Seed section 5: each pull policy pulls or does not pull as stated (pulls
// counted at a real registry with htpasswd auth), a private image pulls only
// with the right secret (and, once present, is used only by pods with it,
// also after the node restarts),
// Never with a missing image is ErrImageNeverPull, a missing image is
// ErrImagePull then ImagePullBackOff.
func TestImagesPullPoliciesAgainstARegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := startRegistry(t)
	const repoTag = "e2e/busybox:1"
	img := reg.Host + "/" + repoTag
	// Cleanups run last first: pods, then the node, the pulled image, the registry.
	t.Cleanup(func() { removeImage(t, img) })
	n := startNode(t, framework.NodeOptions{Name: "e2e-img-" + framework.RandomSuffix()})
	ns := namespace(t)
	reg.push(t, env.BusyboxImage(), repoTag)
	t.Logf("pushed %s; manifest requests so far: %d", img, reg.Pulls(repoTag))
	missing := reg.Host + "/e2e/missing:1"
	for _, s := range []*v1.Secret{
		registrySecret("regcred", reg.Host, reg.User, reg.Password),
		registrySecret("wrongcred", reg.Host, reg.User, "not-"+reg.Password),
	} {
		if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	podWith := func(name, image string, policy v1.PullPolicy, secrets ...string) *v1.Pod {
		c := sleeper("app")
		c.Image, c.ImagePullPolicy = image, policy
		grace := int64(1)
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PodSpec{Containers: []v1.Container{c}, TerminationGracePeriodSeconds: &grace}}
		for _, s := range secrets {
			p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, v1.LocalObjectReference{Name: s})
		}
		return createPod(t, ns, framework.OnNode(p, n.Name))
	}
	wantPulls := func(when string, want int) {
		t.Helper()
		if got := reg.Pulls(repoTag); got != want {
			t.Errorf("%s: the registry served %s %d times, want %d", when, repoTag, got, want)
		}
	}
	hasEvent := func(pod, reason string, message *regexp.Regexp) {
		t.Helper()
		env.WaitPodEvent(t, ns, pod, 20*time.Second, reason+" "+message.String(), func(e v1.Event) bool {
			return e.Reason == reason && message.MatchString(e.Message)
		})
	}
	authError := regexp.MustCompile(`no basic auth credentials|unauthorized|authentication required`)

	// With the image only in the registry: nothing may pull it yet.
	podWith("never-missing", img, v1.PullNever, "regcred")
	podWith("no-secret", img, v1.PullIfNotPresent)
	podWith("wrong-secret", img, v1.PullIfNotPresent, "wrongcred")
	podWith("missing-image", missing, v1.PullIfNotPresent, "regcred")

	if w := waitWaiting(t, ns, "never-missing", "ErrImageNeverPull"); w.Message != fmt.Sprintf("Container image %q is not present with pull policy of Never", img) {
		t.Errorf("never-missing: message %q", w.Message)
	}
	for _, name := range []string{"no-secret", "wrong-secret"} {
		w := waitWaiting(t, ns, name, "ImagePullBackOff")
		if !authError.MatchString(w.Message) || !strings.HasPrefix(w.Message, fmt.Sprintf("Back-off pulling image %q: ErrImagePull: ", img)) {
			t.Errorf("%s: ImagePullBackOff message %q, want the back-off with the registry's auth error", name, w.Message)
		}
		hasEvent(name, "Failed", regexp.MustCompile(`^Failed to pull image "`+regexp.QuoteMeta(img)+`": .*(`+authError.String()+`)`))
	}
	hasEvent("missing-image", "Failed", regexp.MustCompile(`^Error: ErrImagePull$`))
	w := waitWaiting(t, ns, "missing-image", "ImagePullBackOff")
	if want := fmt.Sprintf("Back-off pulling image %q: ErrImagePull: ", missing); !strings.HasPrefix(w.Message, want) || !strings.Contains(w.Message, "manifest unknown") {
		t.Errorf("missing-image: ImagePullBackOff message %q, want %q and the registry's manifest unknown", w.Message, want)
	}
	hasEvent("missing-image", "BackOff", regexp.MustCompile(`^Back-off pulling image "`+regexp.QuoteMeta(missing)+`"$`))
	wantPulls("before any pod could pull", 0)

	// IfNotPresent pulls once, with the right secret (a missing one is
	// reported but does not stop the pull).
	podWith("if-not-present", img, v1.PullIfNotPresent, "absent", "regcred")
	waitRunning(t, ns, "if-not-present")
	hasEvent("if-not-present", "Pulled", regexp.MustCompile(`^Successfully pulled image "`+regexp.QuoteMeta(img)+
		`" in [0-9.]+m?s \([0-9.]+m?s including waiting\)\. Image size: [1-9][0-9]* bytes\.$`))
	hasEvent("if-not-present", "FailedToRetrieveImagePullSecret", regexp.MustCompile(`^Unable to retrieve some image pull secrets \(absent\); attempting to pull the image may not succeed\.$`))
	wantPulls("after an IfNotPresent pull", 1)

	podWith("if-not-present-again", img, v1.PullIfNotPresent, "regcred")
	podWith("never-present", img, v1.PullNever, "regcred")
	for _, name := range []string{"if-not-present-again", "never-present"} {
		waitRunning(t, ns, name)
		hasEvent(name, "Pulled", regexp.MustCompile(`^Container image "`+regexp.QuoteMeta(img)+`" already present on machine and can be accessed by the pod$`))
	}
	wantPulls("after IfNotPresent and Never with the image present", 1)

	// Present, but pulled with credentials these pods lack: IfNotPresent
	// asks the registry (and is refused), Never does not see the image.
	podWith("present-no-secret", img, v1.PullIfNotPresent)
	podWith("never-present-no-secret", img, v1.PullNever)
	if w := waitWaiting(t, ns, "present-no-secret", "ImagePullBackOff"); !authError.MatchString(w.Message) {
		t.Errorf("present-no-secret: message %q, want the registry's auth error", w.Message)
	}
	waitWaiting(t, ns, "never-present-no-secret", "ErrImageNeverPull")
	wantPulls("after pods without the secret", 1)

	// Always pulls every time, and only with the right secret even though
	// the image is present.
	podWith("always-1", img, v1.PullAlways, "regcred")
	waitRunning(t, ns, "always-1")
	wantPulls("after one Always pod", 2)
	podWith("always-2", img, v1.PullAlways, "regcred")
	waitRunning(t, ns, "always-2")
	wantPulls("after two Always pods", 3)
	podWith("always-wrong-secret", img, v1.PullAlways, "wrongcred")
	if w := waitWaiting(t, ns, "always-wrong-secret", "ImagePullBackOff"); !authError.MatchString(w.Message) {
		t.Errorf("always-wrong-secret: message %q, want the registry's auth error", w.Message)
	}
	wantPulls("after an Always pod with a wrong secret", 3)

	// The node keeps its pull records across a restart: the image is still
	// not for pods without the secret.
	n.Stop()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	podWith("never-after-restart", img, v1.PullNever)
	waitWaiting(t, ns, "never-after-restart", "ErrImageNeverPull")
	wantPulls("after the restart", 3)
}
