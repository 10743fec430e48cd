package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// The labels a node may set on its own Node object: the NodeRestriction
// admission plugin refuses others in the kubernetes.io and k8s.io
// namespaces, and the kubelet refuses such --node-labels at start
// (k8s.io/kubernetes pkg/kubelet/apis well_known_labels.go).
var (
	kubeletLabels = []string{
		"kubernetes.io/hostname",
		"topology.kubernetes.io/zone",
		"topology.kubernetes.io/region",
		"failure-domain.beta.kubernetes.io/zone",
		"failure-domain.beta.kubernetes.io/region",
		"beta.kubernetes.io/instance-type",
		"node.kubernetes.io/instance-type",
		"kubernetes.io/os",
		"kubernetes.io/arch",
		"beta.kubernetes.io/os",
		"beta.kubernetes.io/arch",
		"node.kubernetes.io/windows-build",
	}
	kubeletLabelNamespaces = []string{"kubelet.kubernetes.io", "node.kubernetes.io"}
)

// isKubeletLabel reports whether a node may set key on itself although it
// is in a kubernetes.io or k8s.io namespace.
func isKubeletLabel(key string) bool {
	if slices.Contains(kubeletLabels, key) {
		return true
	}
	ns := labelNamespace(key)
	for _, allowed := range kubeletLabelNamespaces {
		if ns == allowed || strings.HasSuffix(ns, "."+allowed) {
			return true
		}
	}
	return false
}

// labelNamespace is the prefix of a label key before "/", lower case.
func labelNamespace(key string) string {
	ns, _, ok := strings.Cut(key, "/")
	if !ok {
		return ""
	}
	return strings.ToLower(ns)
}

func inReservedNamespace(key string) bool {
	ns := labelNamespace(key)
	for _, reserved := range []string{"kubernetes.io", "k8s.io"} {
		if ns == reserved || strings.HasSuffix(ns, "."+reserved) {
			return true
		}
	}
	return false
}

// checkNodeLabels refuses --node-labels the API server would not let the
// node set on itself, naming them, with the kubelet's wording.
func checkNodeLabels(labels map[string]string) error {
	var bad []string
	for k := range labels {
		if inReservedNamespace(k) && !isKubeletLabel(k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: %v\n"+
		"--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (%s) or be in the specifically allowed set (%s)",
		bad, strings.Join(kubeletLabelNamespaces, ", "), strings.Join(kubeletLabels, ", "))
}

// ownLabels drops from the labels virtual-kubelet gives new nodes those a
// node may not set on itself (kubernetes.io/role).
func ownLabels(labels map[string]string) {
	for k := range labels {
		if inReservedNamespace(k) && !isKubeletLabel(k) {
			delete(labels, k)
		}
	}
}
