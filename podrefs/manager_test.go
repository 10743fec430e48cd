package podrefs

import (
	"context"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

func podWithSecretVolume(name, secret string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       v1.PodSpec{Volumes: []v1.Volume{{Name: "s", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: secret}}}}},
	}
}

func secret(name, value string) *v1.Secret {
	return &v1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Data: map[string][]byte{"k": []byte(value)}}
}

// startManager runs a Manager over a fake API holding objs, tracking its pods.
func startManager(t *testing.T, objs ...any) (*Manager, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *v1.Pod:
			_, err = client.CoreV1().Pods(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{})
		case *v1.Secret:
			_, err = client.CoreV1().Secrets(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(client, 0)
	pods := factory.Core().V1().Pods().Informer()
	m := New(client)
	if err := m.Track(pods); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	factory.Start(ctx.Done())
	cache.WaitForCacheSync(ctx.Done(), pods.HasSynced)
	t.Cleanup(func() { cancel(); <-done; factory.Shutdown() })
	return m, client
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("%s: not within 5s", what)
	}
}

func TestASecretAPodRefersToIsReadAndWatchedWhileReferenced(t *testing.T) {
	m, client := startManager(t, podWithSecretVolume("web", "creds"), secret("creds", "v1"), secret("other", "x"))
	s, err := m.Secrets().Secrets("ns").Get("creds")
	if err != nil || string(s.Data["k"]) != "v1" {
		t.Fatalf("Get creds = %v, %v", s, err)
	}
	if got := m.secrets.watching(); !slices.Equal(got, []string{"ns/creds"}) {
		t.Fatalf("watching %v, want only ns/creds", got)
	}

	// An edit reaches the reader through the watch.
	if _, err := client.CoreV1().Secrets("ns").Update(context.Background(), secret("creds", "v2"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the edit is seen", func() bool {
		s, err := m.Secrets().Secrets("ns").Get("creds")
		return err == nil && string(s.Data["k"]) == "v2"
	})

	// Once the pod is gone, so is the watch.
	if err := client.CoreV1().Pods("ns").Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the watch stops", func() bool { return len(m.secrets.watching()) == 0 })
}

func TestASecretNoPodRefersToIsNotRead(t *testing.T) {
	m, client := startManager(t, podWithSecretVolume("web", "creds"), secret("other", "x"))
	if _, err := m.Secrets().Secrets("ns").Get("other"); err == nil {
		t.Fatal("read a secret no pod of the node refers to")
	}
	if len(m.secrets.watching()) != 0 || len(client.Actions()) == 0 {
		t.Fatalf("watching %v", m.secrets.watching())
	}
	for _, a := range client.Actions() {
		if a.GetResource().Resource == "secrets" && a.GetVerb() != "create" {
			t.Errorf("the API was asked: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	if _, err := m.Secrets().List(nil); err == nil {
		t.Error("listed every secret")
	}
}

func TestASecretCreatedAfterItsPodIsPickedUp(t *testing.T) {
	m, client := startManager(t, podWithSecretVolume("web", "late"))
	if _, err := m.Secrets().Secrets("ns").Get("late"); !apierrors.IsNotFound(err) {
		t.Fatalf("Get before it exists: %v, want NotFound", err)
	}
	if _, err := client.CoreV1().Secrets("ns").Create(context.Background(), secret("late", "here"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new secret is seen", func() bool {
		s, err := m.Secrets().Secrets("ns").Get("late")
		return err == nil && string(s.Data["k"]) == "here"
	})
}

func TestPodRefsNamesEverySource(t *testing.T) {
	pod := &v1.Pod{Spec: v1.PodSpec{
		ImagePullSecrets: []v1.LocalObjectReference{{Name: "pull"}},
		Volumes: []v1.Volume{
			{VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cm-vol"}}}},
			{VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
				{Secret: &v1.SecretProjection{LocalObjectReference: v1.LocalObjectReference{Name: "proj-s"}}},
				{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "proj-cm"}}},
			}}}},
		},
		InitContainers: []v1.Container{{EnvFrom: []v1.EnvFromSource{{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "init-s"}}}}}},
		Containers: []v1.Container{{
			EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "envfrom-cm"}}}},
			Env: []v1.EnvVar{
				{Name: "A", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "env-s"}, Key: "k"}}},
				{Name: "B", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "env-cm"}, Key: "k"}}},
			},
		}},
	}}
	r := PodRefs(pod)
	if got, want := sets.List(r.Secrets), []string{"env-s", "init-s", "proj-s", "pull"}; !slices.Equal(got, want) {
		t.Errorf("secrets %v, want %v", got, want)
	}
	if got, want := sets.List(r.ConfigMaps), []string{"cm-vol", "env-cm", "envfrom-cm", "proj-cm"}; !slices.Equal(got, want) {
		t.Errorf("configmaps %v, want %v", got, want)
	}
}

// A watch stops once no pod needs it: when its pod ends, as when it goes.
func TestAWatchStopsWhenItsPodEnds(t *testing.T) {
	m, client := startManager(t, podWithSecretVolume("web", "creds"), secret("creds", "v1"))
	if _, err := m.Secrets().Secrets("ns").Get("creds"); err != nil {
		t.Fatal(err)
	}
	pod := podWithSecretVolume("web", "creds")
	pod.Status.Phase = v1.PodSucceeded
	if _, err := client.CoreV1().Pods("ns").UpdateStatus(context.Background(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the watch stops", func() bool { return len(m.secrets.watching()) == 0 })
}

// Only an update that can free a watch costs a sweep of every pod: a
// status update of a running pod does not.
func TestDropsRefs(t *testing.T) {
	running := func(secret string) *v1.Pod {
		p := podWithSecretVolume("web", secret)
		p.Status.Phase = v1.PodRunning
		return p
	}
	ended := func(phase v1.PodPhase) *v1.Pod {
		p := running("creds")
		p.Status.Phase = phase
		return p
	}
	withEnvFrom := running("creds")
	withEnvFrom.Spec.EphemeralContainers = []v1.EphemeralContainer{{EphemeralContainerCommon: v1.EphemeralContainerCommon{
		Name: "debug", EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}}}}}}
	for _, c := range []struct {
		name     string
		old, new *v1.Pod
		want     bool
	}{
		{"status update", running("creds"), running("creds"), false},
		{"a reference added", running("creds"), withEnvFrom, false},
		{"succeeded", running("creds"), ended(v1.PodSucceeded), true},
		{"failed", running("creds"), ended(v1.PodFailed), true},
		{"already ended", ended(v1.PodFailed), ended(v1.PodFailed), false},
		{"a reference dropped", withEnvFrom, running("creds"), true},
		{"another secret", running("creds"), running("other"), true},
	} {
		if got := dropsRefs(c.old, c.new); got != c.want {
			t.Errorf("%s: dropsRefs = %v, want %v", c.name, got, c.want)
		}
	}
}
