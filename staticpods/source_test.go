package staticpods

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// recorder keeps what a Source reports.
type recorder struct {
	mu      sync.Mutex
	changes [][]*v1.Pod
	refused []string
}

func (r *recorder) changed(pods []*v1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, pods)
}

func (r *recorder) refuse(pod *v1.Pod, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = append(r.refused, pod.Name+": "+why)
}

func (r *recorder) last() []*v1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.changes) == 0 {
		return nil
	}
	return r.changes[len(r.changes)-1]
}

func newTestSource(t *testing.T) (*Source, *recorder, string) {
	t.Helper()
	dir := t.TempDir()
	r := &recorder{}
	s, err := New(Config{Dir: dir, NodeName: "n1", Changed: r.changed, Refused: r.refuse})
	if err != nil {
		t.Fatal(err)
	}
	return s, r, dir
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func names(pods []*v1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return strings.Join(out, ",")
}

func TestScanFollowsAddedEditedAndRemovedFiles(t *testing.T) {
	ctx := context.Background()
	s, r, dir := newTestSource(t)
	path := filepath.Join(dir, "nginx.yaml")

	write(t, path, nginxYAML)
	write(t, filepath.Join(dir, ".nginx.yaml.swp"), "not a manifest")
	added := s.Scan(ctx)
	if names(added) != "nginx-n1" || len(r.changes) != 1 {
		t.Fatalf("after adding: pods %q, %d changes; want nginx-n1 reported once", names(added), len(r.changes))
	}
	seen := added[0].Annotations[AnnotationSeen]
	if _, err := time.Parse(time.RFC3339Nano, seen); err != nil {
		t.Errorf("config.seen %q is not an RFC 3339 time: %v", seen, err)
	}

	s.Scan(ctx)
	if len(r.changes) != 1 {
		t.Errorf("an unchanged directory was reported again (%d changes)", len(r.changes))
	}

	write(t, path, strings.Replace(nginxYAML, "containerPort: 80", "containerPort: 8080", 1))
	edited := s.Scan(ctx)
	if len(r.changes) != 2 || names(edited) != "nginx-n1" || edited[0].UID == added[0].UID {
		t.Fatalf("after editing: %d changes, UID %s (was %s); want a new pod of the same name", len(r.changes), edited[0].UID, added[0].UID)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if removed := s.Scan(ctx); len(removed) != 0 || len(r.changes) != 3 || len(r.last()) != 0 {
		t.Fatalf("after removing: pods %q, %d changes; want none left, reported", names(removed), len(r.changes))
	}
}

func TestScanSkipsBrokenFilesAndDuplicateNames(t *testing.T) {
	s, _, dir := newTestSource(t)
	write(t, filepath.Join(dir, "a.yaml"), nginxYAML)
	write(t, filepath.Join(dir, "b.json"), `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"nginx"},"spec":{"containers":[{"name":"c","image":"i:1"}]}}`)
	write(t, filepath.Join(dir, "c.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containerz: []}\n")
	if got := names(s.Scan(context.Background())); got != "nginx-n1" {
		t.Errorf("pods %q, want only nginx-n1 from a.yaml", got)
	}
}

func TestScanRefusesPodsReferencingAPIObjectsOnce(t *testing.T) {
	ctx := context.Background()
	s, r, dir := newTestSource(t)
	write(t, filepath.Join(dir, "secret.yaml"), `apiVersion: v1
kind: Pod
metadata: {name: uses-secret}
spec:
  containers: [{name: c, image: vk-docker/busybox:0.1.0}]
  volumes: [{name: creds, secret: {secretName: db}}]
`)
	for i := 0; i < 3; i++ {
		if pods := s.Scan(ctx); len(pods) != 0 {
			t.Fatalf("pods %q, want the manifest refused", names(pods))
		}
	}
	want := `uses-secret-n1: static pods may not reference secrets`
	if len(r.refused) != 1 || r.refused[0] != want {
		t.Errorf("refusals %q, want exactly [%q]", r.refused, want)
	}
}

func TestRunPicksUpANewFileWithinSeconds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, r, dir := newTestSource(t)
	s.Scan(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(100 * time.Millisecond) // the watch is in place
	write(t, filepath.Join(dir, "nginx.yaml"), nginxYAML)
	deadline := time.Now().Add(5 * time.Second)
	for names(r.last()) != "nginx-n1" {
		if time.Now().After(deadline) {
			t.Fatal("a new manifest was not picked up within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
