package provider

import (
	"strconv"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

const recoverUID = types.UID("0b7f3f0e-8a51-4d8e-9a52-6f3f1f4c2d10")

// labelled is a container summary as the engine lists one that vk-docker
// created: the labels lifecycle puts on every sandbox and app container.
func labelled(kind, name string, index, attempt int, image string, grace string) container.Summary {
	l := map[string]string{
		dockerhost.LabelNode:          "vk-test",
		dockerhost.LabelPodName:       "web",
		dockerhost.LabelPodNamespace:  "shop",
		dockerhost.LabelPodUID:        string(recoverUID),
		dockerhost.LabelContainerName: name,
	}
	if grace != "" {
		l[dockerhost.LabelTerminationGracePeriod] = grace
	}
	if kind == "sandbox" {
		l[dockerhost.LabelDockerType] = dockerhost.DockerTypeSandbox
	} else {
		l[dockerhost.LabelDockerType] = dockerhost.DockerTypeContainer
		l[dockerhost.LabelContainerKind] = kind
		l[dockerhost.LabelContainerIndex] = strconv.Itoa(index)
		l[dockerhost.LabelRestartCount] = strconv.Itoa(attempt)
		l[dockerhost.LabelContainerImage] = image
	}
	n := dockerhost.ContainerName{Container: name, Pod: "web", Namespace: "shop", UID: string(recoverUID), Attempt: attempt}
	return container.Summary{ID: name + strconv.Itoa(attempt), Names: []string{"/" + n.String()}, Labels: l, State: "running"}
}

func TestPodFromLabels(t *testing.T) {
	sandbox := labelled("sandbox", dockerhost.SandboxContainerName, 0, 0, "", "45")
	cases := []struct {
		name       string
		containers []container.Summary
		wantSpec   v1.PodSpec
	}{
		{
			name: "containers come back in spec order whatever the engine's order",
			containers: []container.Summary{
				labelled(dockerhost.KindApp, "metrics", 2, 0, "example.com/metrics:3", "45"),
				sandbox,
				labelled(dockerhost.KindApp, "app", 0, 0, "example.com/app:1", "45"),
				labelled(dockerhost.KindApp, "proxy", 1, 0, "example.com/proxy:2", "45"),
			},
			wantSpec: v1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](45),
				Containers: []v1.Container{
					{Name: "app", Image: "example.com/app:1"},
					{Name: "proxy", Image: "example.com/proxy:2"},
					{Name: "metrics", Image: "example.com/metrics:3"},
				},
			},
		},
		{
			name: "several attempts of a container are one container",
			containers: []container.Summary{
				labelled(dockerhost.KindApp, "app", 0, 0, "example.com/app:1", "45"),
				labelled(dockerhost.KindApp, "app", 0, 1, "example.com/app:1", "45"),
				sandbox,
			},
			wantSpec: v1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](45),
				Containers:                    []v1.Container{{Name: "app", Image: "example.com/app:1"}},
			},
		},
		{
			name:       "a pod with only its sandbox still comes back",
			containers: []container.Summary{sandbox},
			wantSpec:   v1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](45)},
		},
		{
			name: "init containers are not app containers",
			containers: []container.Summary{
				sandbox,
				labelled(dockerhost.KindInit, "setup", 0, 0, "example.com/setup:1", "45"),
				labelled(dockerhost.KindApp, "app", 0, 0, "example.com/app:1", "45"),
			},
			wantSpec: v1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](45),
				Containers:                    []v1.Container{{Name: "app", Image: "example.com/app:1"}},
			},
		},
		{
			name: "ephemeral containers come back as ephemeral containers, in spec order",
			containers: []container.Summary{
				labelled(dockerhost.KindEphemeral, "debugger-b", 1, 0, "example.com/tools:2", "45"),
				sandbox,
				labelled(dockerhost.KindApp, "app", 0, 0, "example.com/app:1", "45"),
				labelled(dockerhost.KindEphemeral, "debugger-a", 0, 0, "example.com/tools:1", "45"),
			},
			wantSpec: v1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](45),
				Containers:                    []v1.Container{{Name: "app", Image: "example.com/app:1"}},
				EphemeralContainers: []v1.EphemeralContainer{
					{EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "debugger-a", Image: "example.com/tools:1"}},
					{EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "debugger-b", Image: "example.com/tools:2"}},
				},
			},
		},
		{
			name:       "no grace label leaves the API default",
			containers: []container.Summary{labelled("sandbox", dockerhost.SandboxContainerName, 0, 0, "", "")},
			wantSpec:   v1.PodSpec{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := podFromLabels(recoverUID, c.containers)
			if pod == nil {
				t.Fatal("podFromLabels = nil, want a pod")
			}
			if pod.Name != "web" || pod.Namespace != "shop" || pod.UID != recoverUID {
				t.Errorf("identity = %s/%s %s, want shop/web %s", pod.Namespace, pod.Name, pod.UID, recoverUID)
			}
			if !equality.Semantic.DeepEqual(pod.Spec, c.wantSpec) {
				t.Errorf("spec =\n%+v\nwant\n%+v", pod.Spec, c.wantSpec)
			}
			if pod.DeletionTimestamp != nil || pod.Status.Phase != "" {
				t.Errorf("a rebuilt pod carries state it cannot know: %+v", pod.Status)
			}
		})
	}
}

func TestPodFromLabelsNeedsTheIdentityLabels(t *testing.T) {
	anonymous := labelled(dockerhost.KindApp, "app", 0, 0, "example.com/app:1", "30")
	delete(anonymous.Labels, dockerhost.LabelPodName)
	if pod := podFromLabels(recoverUID, []container.Summary{anonymous}); pod != nil {
		t.Errorf("podFromLabels without a pod name = %+v, want nil", pod)
	}
	if pod := podFromLabels(recoverUID, nil); pod != nil {
		t.Errorf("podFromLabels without containers = %+v, want nil", pod)
	}
}
