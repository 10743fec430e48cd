package hostpool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func twoHosts(t *testing.T) (*Pool, *dockerfake.Client, *dockerfake.Client) {
	t.Helper()
	a, b := dockerfake.New(), dockerfake.New()
	a.SetInfo(2, 8<<30)
	b.SetInfo(2, 8<<30)
	p := New(nil, &Host{Spec: Spec{URL: "unix:///a.sock"}, Docker: a}, &Host{Spec: Spec{URL: "tcp://198.18.0.2:2376"}, Docker: b})
	p.Check(context.Background())
	return p, a, b
}

func cpu(s string) v1.ResourceList { return v1.ResourceList{v1.ResourceCPU: resource.MustParse(s)} }

// A pod goes to the host left least allocated; a tie goes to the first;
// a host that does not answer gets none, and with none answering the
// error says so.
func TestPlaceLeastAllocatedHealthyHost(t *testing.T) {
	p, _, b := twoHosts(t)
	a0 := p.Hosts()[0]
	b0 := p.Hosts()[1]
	steps := []struct {
		uid  string
		req  v1.ResourceList
		want *Host
	}{
		{"big", cpu("1"), a0},    // tie: the first
		{"small1", nil, b0},      // b is empty
		{"small2", nil, b0},      // b holds 100m, a 1000m
		{"big", cpu("1"), a0},    // placed once, kept
		{"small3", cpu("3"), b0}, // a would hold more
	}
	for _, s := range steps {
		h, err := p.Place(s.uid, s.req)
		if err != nil || h != s.want {
			t.Fatalf("Place(%s) = %v, %v; want %s", s.uid, h.Name(), err, s.want.Name())
		}
	}
	p.Release("small3")
	b.InjectError("Ping", errors.New("connection refused"))
	p.Check(context.Background())
	if h, _ := p.Place("new", nil); h != a0 {
		t.Errorf("a pod went to %s while it does not answer", h.Name())
	}
	if got := p.PodsOn(b0); len(got) != 2 {
		t.Errorf("pods on the silent host: %v; they stay placed there", got)
	}
	p.Hosts()[0].Docker.(*dockerfake.Client).InjectError("Ping", errors.New("gone"))
	p.Check(context.Background())
	if _, err := p.Place("none", nil); !errors.Is(err, ErrNoHealthyHost) {
		t.Errorf("with no host answering Place says %v", err)
	}
}

// Health changes reach the listeners once per transition.
func TestCheckTellsTransitions(t *testing.T) {
	p, _, b := twoHosts(t)
	var got []string
	p.OnChange(func(c Change) {
		got = append(got, c.Host.Name()+map[bool]string{true: " up", false: " down"}[c.Healthy])
	})
	b.InjectError("Ping", errors.New("timeout"))
	p.Check(context.Background())
	p.Check(context.Background())
	b.InjectError("Ping", nil)
	p.Check(context.Background())
	if strings.Join(got, ",") != "tcp://198.18.0.2:2376 down,tcp://198.18.0.2:2376 up" {
		t.Errorf("transitions %v", got)
	}
}

// A host is healthy while it answers pings: an engine too busy to answer
// its info in time (a walk over hundreds of containers) keeps its last
// info and its pods, but a host never described yet is not healthy.
func TestABusyEngineStaysHealthy(t *testing.T) {
	p, a, _ := twoHosts(t)
	h := p.Hosts()[0]
	a.InjectError("Info", context.DeadlineExceeded)
	p.Check(context.Background())
	if st := h.Health(); !st.Healthy || !st.Known || st.Info.NCPU != 2 {
		t.Errorf("a host answering pings but not its info: %+v; want healthy with its last info", st)
	}

	// Silent since the first ping: the second one, after the failed info,
	// says so.
	pings := 0
	a.SetHook(func(op string, _ []string) error {
		if op == "Ping" {
			if pings++; pings > 1 {
				return context.DeadlineExceeded
			}
		}
		return nil
	})
	p.Check(context.Background())
	if st := h.Health(); st.Healthy || pings != 2 {
		t.Errorf("a host that stopped answering during its info: %+v after %d pings; want unhealthy after 2", st, pings)
	}

	fresh := dockerfake.New()
	fresh.InjectError("Info", context.DeadlineExceeded)
	q := New(nil, &Host{Spec: Spec{URL: "unix:///c.sock"}, Docker: fresh})
	q.Check(context.Background())
	if st := q.Hosts()[0].Health(); st.Healthy || !errors.Is(st.Err, context.DeadlineExceeded) {
		t.Errorf("a host never described: %+v; want unhealthy with the info's error", st)
	}
}

func TestParseSpecs(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("DOCKER_HOST", "")
	specs, err := ParseSpecs(nil, nil)
	if err != nil || len(specs) != 1 || specs[0].URL != DefaultLocalHost || !specs[0].FromEnv {
		t.Errorf("no flags: %+v, %v", specs, err)
	}
	specs, err = ParseSpecs([]string{"unix:///var/run/docker.sock", "tcp://10.0.0.5:2376"}, []string{"tcp://10.0.0.5:2376=" + dir})
	if err != nil || len(specs) != 2 || specs[1].CertDir != dir || specs[0].Remote() || !specs[1].Remote() || specs[1].Address() != "10.0.0.5" {
		t.Errorf("two hosts: %+v, %v", specs, err)
	}
	for _, bad := range []struct {
		hosts, certs []string
		want         string
	}{
		{[]string{"http://x"}, nil, "want unix:///path or tcp://host:port"},
		{[]string{"tcp://a:1", "tcp://a:1"}, nil, "given twice"},
		{[]string{"tcp://a:1"}, []string{"tcp://b:1=" + dir}, "is not a --docker-host"},
		{[]string{"unix:///s"}, []string{"unix:///s=" + dir}, "TLS is for tcp:// hosts"},
		{[]string{"tcp://a:1"}, []string{"tcp://a:1=/nonexistent"}, "ca.pem"},
		{nil, []string{"tcp://a:1=" + dir}, "needs the --docker-host"},
	} {
		if _, err := ParseSpecs(bad.hosts, bad.certs); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseSpecs(%v, %v) = %v; want an error saying %q", bad.hosts, bad.certs, err, bad.want)
		}
	}
}
