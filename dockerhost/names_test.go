package dockerhost

import "testing"

func TestContainerNameRoundTrip(t *testing.T) {
	cases := []ContainerName{
		{Container: SandboxContainerName, Pod: "nginx", Namespace: "default", UID: "1f0c2a5e-3b1e-4b7a-9d7e-2c0f6a1b9e11", Attempt: 0},
		{Container: "sidecar-1", Pod: "web.example-0", Namespace: "team-a", UID: "u", Attempt: 12},
	}
	for _, want := range cases {
		t.Run(want.String(), func(t *testing.T) {
			for _, name := range []string{want.String(), "/" + want.String()} {
				got, err := ParseContainerName(name)
				if err != nil {
					t.Fatalf("parse %q: %v", name, err)
				}
				if got != want {
					t.Fatalf("parse %q = %+v, want %+v", name, got, want)
				}
			}
		})
	}
}

func TestParseContainerNameRejectsForeignNames(t *testing.T) {
	for _, name := range []string{
		"",
		"nginx",
		"/k8s_app_pod_ns_uid",        // too few parts
		"k8s_app_pod_ns_uid_1_extra", // too many parts
		"k8s_app_pod_ns_uid_x",       // attempt not a number
		"k8s_app_pod_ns_uid_-1",      // negative attempt
		"k8s__pod_ns_uid_0",          // empty container
		"abc_app_pod_ns_uid_0",       // wrong prefix
	} {
		if got, err := ParseContainerName(name); err == nil {
			t.Errorf("ParseContainerName(%q) = %+v, want an error", name, got)
		}
	}
}

func TestIsManaged(t *testing.T) {
	cases := []struct {
		name   string
		labels map[string]string
		node   string
		want   bool
	}{
		{"own pod container", map[string]string{LabelNode: "n1", LabelPodUID: "u"}, "n1", true},
		{"other node", map[string]string{LabelNode: "n2", LabelPodUID: "u"}, "n1", false},
		{"no pod uid", map[string]string{LabelNode: "n1"}, "n1", false},
		{"unlabelled", nil, "n1", false},
		{"empty node name never matches", map[string]string{LabelNode: "", LabelPodUID: "u"}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := IsManaged(c.labels, c.node); got != c.want {
				t.Fatalf("IsManaged = %v, want %v", got, c.want)
			}
		})
	}
}
