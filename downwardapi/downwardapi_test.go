package downwardapi

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var pod = &v1.Pod{
	ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1", Labels: map[string]string{"b": "2", "a": "1"}},
	Spec: v1.PodSpec{NodeName: "vk", ServiceAccountName: "sa",
		InitContainers: []v1.Container{{Name: "init", Resources: v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}}}},
		Containers: []v1.Container{{Name: "app", Resources: v1.ResourceRequirements{
			Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")},
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m")},
		}}}},
}

func TestPodField(t *testing.T) {
	status := Status{PodIP: "10.0.0.5", HostIP: "192.168.1.10"}
	for path, want := range map[string]string{
		"metadata.name":           "web",
		"metadata.uid":            "u1",
		"metadata.labels":         "a=\"1\"\nb=\"2\"",
		"metadata.labels['b']":    "2",
		"spec.nodeName":           "vk",
		"spec.serviceAccountName": "sa",
		"status.podIP":            "10.0.0.5",
		"status.hostIP":           "192.168.1.10",
	} {
		if got, err := PodField(pod, path, status); err != nil || got != want {
			t.Errorf("PodField(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := PodField(pod, "spec.hostname", status); err == nil {
		t.Error("an unsupported field resolved")
	}
}

// A limit the container does not set is the node's allocatable; a request
// it does not set is zero.
func TestContainerResource(t *testing.T) {
	alloc := v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")}
	for _, tc := range []struct {
		name, self string
		ref        v1.ResourceFieldSelector
		want       string
	}{
		{"own limit", "app", v1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}, "64"},
		{"unset limit is allocatable", "app", v1.ResourceFieldSelector{Resource: "limits.cpu"}, "4"},
		{"request rounded up", "app", v1.ResourceFieldSelector{Resource: "requests.cpu"}, "1"},
		{"request in millicores", "app", v1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}, "250"},
		{"unset request", "app", v1.ResourceFieldSelector{Resource: "requests.memory"}, "0"},
		{"named init container", "app", v1.ResourceFieldSelector{ContainerName: "init", Resource: "limits.cpu", Divisor: resource.MustParse("1m")}, "100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := ContainerResource(pod, tc.self, &tc.ref, alloc); err != nil || got != tc.want {
				t.Errorf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := ContainerResource(pod, "app", &v1.ResourceFieldSelector{ContainerName: "gone", Resource: "limits.cpu"}, alloc); err == nil {
		t.Error("a missing container resolved")
	}
}
