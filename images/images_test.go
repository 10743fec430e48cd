package images

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	v1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestPullPolicyDefaultsLikeTheAPI(t *testing.T) {
	cases := []struct {
		image  string
		policy v1.PullPolicy
		want   v1.PullPolicy
	}{
		{image: "busybox", want: v1.PullAlways},
		{image: "busybox:latest", want: v1.PullAlways},
		{image: "127.0.0.1:5000/team/app", want: v1.PullAlways},
		{image: "127.0.0.1:5000/team/app:1.2", want: v1.PullIfNotPresent},
		{image: "busybox@sha256:" + strings.Repeat("a", 64), want: v1.PullIfNotPresent},
		{image: "busybox:latest@sha256:" + strings.Repeat("a", 64), want: v1.PullAlways},
		{image: "busybox", policy: v1.PullNever, want: v1.PullNever},
		{image: "busybox:1", policy: v1.PullAlways, want: v1.PullAlways},
		{image: "Not A Name", want: v1.PullIfNotPresent},
	}
	for _, c := range cases {
		if got := pullPolicy(&v1.Container{Image: c.image, ImagePullPolicy: c.policy}); got != c.want {
			t.Errorf("image %q policy %q: effective policy %q, want %q", c.image, c.policy, got, c.want)
		}
	}
}

func TestDefaultTagKeepsTheNameAsWritten(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("b", 64)
	cases := map[string]string{
		"busybox":                   "busybox:latest",
		"busybox:1.36":              "busybox:1.36",
		"127.0.0.1:5000/a/b":        "127.0.0.1:5000/a/b:latest",
		"127.0.0.1:5000/a/b:2":      "127.0.0.1:5000/a/b:2",
		"busybox" + digest:          "busybox" + digest,
		"docker.io/library/busybox": "docker.io/library/busybox:latest",
	}
	for in, want := range cases {
		if got, err := withDefaultTag(in); err != nil || got != want {
			t.Errorf("withDefaultTag(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := withDefaultTag("UPPER:1"); err == nil {
		t.Errorf("an unparsable reference got a default tag")
	}
}

func TestKeyringMatchesLikeTheKubelet(t *testing.T) {
	cases := []struct {
		key, repo string
		want      bool
	}{
		{"127.0.0.1:5000", "127.0.0.1:5000/team/app", true},
		{"127.0.0.1:5000", "127.0.0.1:5001/team/app", false},
		{"127.0.0.1", "127.0.0.1:5000/team/app", false},
		{"registry.example.com/team", "registry.example.com/team/app", true},
		{"registry.example.com/team", "registry.example.com/other/app", false},
		{"*.example.com", "registry.example.com/team/app", true},
		{"*.example.com", "a.registry.example.com/team/app", false},
		{"example.com", "registry.example.com/team/app", false},
	}
	for _, c := range cases {
		if got := keyMatches(c.key, c.repo); got != c.want {
			t.Errorf("keyMatches(%q, %q) = %v, want %v", c.key, c.repo, got, c.want)
		}
	}
	k := &keyring{}
	if err := k.add("default/hub", map[string]dockerConfigEntry{"https://index.docker.io/v1/": {Username: "hub", Password: "x"}}); err != nil {
		t.Fatal(err)
	}
	for repo, want := range map[string]int{"docker.io/library/busybox": 1, "docker.io/team/app": 1, "127.0.0.1:5000/busybox": 0} {
		if got := len(k.lookup(repo)); got != want {
			t.Errorf("Docker Hub credentials for %s: %d, want %d", repo, got, want)
		}
	}
	if err := k.add("default/bad", map[string]dockerConfigEntry{"r.example.com": {Auth: base64.StdEncoding.EncodeToString([]byte("no-colon"))}}); err == nil {
		t.Errorf("an auth field without user:password was accepted")
	}
}

func TestSharedPullSurvivesThePodThatStartedIt(t *testing.T) {
	docker := dockerfake.New()
	m := NewManager(Config{Docker: docker, Clock: clocktesting.NewFakeClock(time.Now())})
	calls := 0
	docker.SetHook(func(op string, args []string) error {
		if op == "ImagePull" {
			calls++
			if calls == 1 {
				return fmt.Errorf("pull: %w", errors.Join(errors.New("request cancelled"), context.Canceled))
			}
		}
		return nil
	})
	if _, err := m.pullShared(context.Background(), "example.com/x:1", ""); err != nil {
		t.Fatalf("a pull whose starter went away failed for a waiting pod: %v", err)
	}
	if calls != 2 {
		t.Errorf("%d pulls, want the cancelled one and a retry", calls)
	}
}
