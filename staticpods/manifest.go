// Package staticpods reads the kubelet's static pods: Pod manifests in a
// directory (--pod-manifest-path), watched and rescanned, turned into pods
// named and identified as the kubelet names and identifies them, and the
// mirror pods that show them in the API server.
package staticpods

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Annotations the kubelet puts on static pods and their mirror pods.
const (
	// AnnotationSource names where a pod came from: "file" for a manifest.
	AnnotationSource = "kubernetes.io/config.source"
	// AnnotationHash is the pod's content hash (its UID).
	AnnotationHash = "kubernetes.io/config.hash"
	// AnnotationSeen is when the node first saw the pod (RFC 3339, ns).
	AnnotationSeen = "kubernetes.io/config.seen"
	// AnnotationMirror marks a mirror pod; its value is the static pod's hash.
	AnnotationMirror = "kubernetes.io/config.mirror"

	// SourceFile is AnnotationSource's value for manifests.
	SourceFile = "file"
)

// IsMirror reports whether pod is a mirror pod (in the API, the view of a
// static pod).
func IsMirror(pod *v1.Pod) bool {
	_, ok := pod.Annotations[AnnotationMirror]
	return ok
}

// IsStatic reports whether pod came from a manifest file.
func IsStatic(pod *v1.Pod) bool {
	return pod.Annotations[AnnotationSource] == SourceFile
}

// Decode reads one manifest file's content: a Pod or a PodList, in YAML or
// JSON, as the kubelet accepts them. path and nodeName take part in each
// pod's UID, as in the kubelet; every pod comes back named
// <name>-<nodeName>, bound to the node, defaulted and annotated.
func Decode(data []byte, path, nodeName string) ([]*v1.Pod, error) {
	var head metav1.TypeMeta
	if err := yaml.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var pods []v1.Pod
	switch {
	case head.Kind == "Pod" && isCoreV1(head.APIVersion):
		var pod v1.Pod
		if err := yaml.UnmarshalStrict(data, &pod); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		pods = []v1.Pod{pod}
	case head.Kind == "PodList" && isCoreV1(head.APIVersion):
		var list v1.PodList
		if err := yaml.UnmarshalStrict(data, &list); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		pods = list.Items
	default:
		return nil, fmt.Errorf("%s: kind %q apiVersion %q is not a v1 Pod or PodList", path, head.Kind, head.APIVersion)
	}
	out := make([]*v1.Pod, 0, len(pods))
	for i := range pods {
		pod := &pods[i]
		if err := prepare(pod, path, nodeName); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, pod)
	}
	return out, nil
}

func isCoreV1(apiVersion string) bool { return apiVersion == "v1" || apiVersion == "" }

// prepare turns a decoded manifest pod into the static pod, as the kubelet's
// applyDefaults does: UID from the content, node name and file unless the
// manifest sets one, name suffixed with the node, namespace "default",
// bound to the node, tolerating every NoExecute taint.
func prepare(pod *v1.Pod, path, nodeName string) error {
	if pod.Name == "" {
		return fmt.Errorf("pod has no metadata.name")
	}
	if pod.Kind == "" {
		pod.Kind, pod.APIVersion = "Pod", "v1"
	}
	setDefaults(pod)
	if pod.UID == "" {
		pod.UID = contentUID(pod, path, nodeName)
	}
	pod.Name = pod.Name + "-" + strings.ToLower(nodeName)
	if errs := validation.IsDNS1123Subdomain(pod.Name); len(errs) > 0 {
		return fmt.Errorf("pod name %q: %s", pod.Name, strings.Join(errs, "; "))
	}
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	pod.Spec.NodeName = nodeName
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationHash] = string(pod.UID)
	pod.Annotations[AnnotationSource] = SourceFile
	tolerateNoExecute(pod)
	pod.Status = v1.PodStatus{Phase: v1.PodPending}
	return nil
}

// contentUID is the kubelet's UID of a static pod: a 128-bit FNV-1a hash
// of the decoded pod's content (printed deterministically), then
// "host:<node>" and "file:<path>", in hex.
func contentUID(pod *v1.Pod, path, nodeName string) types.UID {
	h := fnv.New128a()
	deepHash(h, pod)
	fmt.Fprintf(h, "host:%s", nodeName)
	fmt.Fprintf(h, "file:%s", path)
	return types.UID(hex.EncodeToString(h.Sum(nil)))
}

// tolerateNoExecute adds the toleration of every NoExecute taint, so that
// node problems do not evict static pods.
func tolerateNoExecute(pod *v1.Pod) {
	t := v1.Toleration{Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}
	for _, have := range pod.Spec.Tolerations {
		if have.MatchToleration(&t) {
			return
		}
	}
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, t)
}
