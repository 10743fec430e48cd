package main

import (
	"fmt"
	"sort"
	"strings"

	kubeletapis "k8s.io/kubelet/pkg/apis"
)

// isKubernetesLabel: the key is in the kubernetes.io or k8s.io namespace
// (or a subdomain), where a node may set only the kubelet's labels.
func isKubernetesLabel(key string) bool {
	ns, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	ns = strings.ToLower(ns)
	for _, reserved := range []string{"kubernetes.io", "k8s.io"} {
		if ns == reserved || strings.HasSuffix(ns, "."+reserved) {
			return true
		}
	}
	return false
}

// mayNotSetOnItself: the NodeRestriction admission plugin refuses the label
// on the node's own Node object.
func mayNotSetOnItself(key string) bool {
	return isKubernetesLabel(key) && !kubeletapis.IsKubeletLabel(key)
}

// checkNodeLabels refuses --node-labels the API server would not let the
// node set on itself, naming them, with the kubelet's wording.
func checkNodeLabels(labels map[string]string) error {
	var bad []string
	for k := range labels {
		if mayNotSetOnItself(k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: %v\n"+
		"--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (%s) or be in the specifically allowed set (%s)",
		bad, strings.Join(kubeletapis.KubeletLabelNamespaces(), ", "), strings.Join(kubeletapis.KubeletLabels(), ", "))
}

// ownLabels drops from the labels virtual-kubelet gives new nodes those a
// node may not set on itself (kubernetes.io/role).
func ownLabels(labels map[string]string) {
	for k := range labels {
		if mayNotSetOnItself(k) {
			delete(labels, k)
		}
	}
}
