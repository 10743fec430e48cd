// Package examples holds the seed's Pods as manifests for the virtual node;
// this test keeps them loadable and runnable without a registry.
package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vk-docker/vk-docker/staticpods"
	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func TestExamplesArePodsOnLocalImages(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d examples, want every seed pod (10) and two-containers.yaml", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var pod v1.Pod
			if err := yaml.UnmarshalStrict(b, &pod); err != nil {
				t.Fatalf("not a Pod: %v", err)
			}
			if pod.Kind != "Pod" || pod.Name == "" {
				t.Fatalf("kind %q name %q, want a named Pod", pod.Kind, pod.Name)
			}
			for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
				// No registry is reachable: images are the project's own,
				// never :latest (which would mean pull Always).
				if !strings.HasPrefix(c.Image, "vk-docker/") || strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
					t.Errorf("container %s uses image %q, want a tagged vk-docker/ image", c.Name, c.Image)
				}
			}
		})
	}
}

// examples/static holds manifests for --pod-manifest-path: each must be
// accepted as a static pod (no reference to other API objects) on a local
// image.
func TestStaticExamplesAreAcceptedStaticPods(t *testing.T) {
	files, err := filepath.Glob("static/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no static pod examples (%v)", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pods, err := staticpods.Decode(b, f, "demo")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range pods {
			if why := staticpods.APIReference(p); why != "" {
				t.Errorf("%s: pod %s references %s", f, p.Name, why)
			}
			for _, c := range p.Spec.Containers {
				if !strings.HasPrefix(c.Image, "vk-docker/") || c.ImagePullPolicy != v1.PullIfNotPresent {
					t.Errorf("%s: container %s image %q policy %s, want a tagged local vk-docker/ image", f, c.Name, c.Image, c.ImagePullPolicy)
				}
			}
		}
	}
}
