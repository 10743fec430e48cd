package main

import (
	"strings"
	"testing"
)

func TestNodeLabelsANodeMaySetOnItself(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		bad    string // a label the error must name; "" for none
	}{
		{labels: map[string]string{"type": "normal", "example.com/team": "a"}},
		{labels: map[string]string{"kubernetes.io/hostname": "x", "topology.kubernetes.io/zone": "z"}},
		{labels: map[string]string{"node.kubernetes.io/pool": "a", "kubelet.kubernetes.io/x": "y", "sub.node.kubernetes.io/z": "1"}},
		{labels: map[string]string{"kubernetes.io/role": "agent"}, bad: "kubernetes.io/role"},
		{labels: map[string]string{"node-role.kubernetes.io/worker": ""}, bad: "node-role.kubernetes.io/worker"},
		{labels: map[string]string{"node-restriction.kubernetes.io/x": "1"}, bad: "node-restriction.kubernetes.io/x"},
		{labels: map[string]string{"example.k8s.io/a": "1", "type": "x"}, bad: "example.k8s.io/a"},
	} {
		err := checkNodeLabels(tc.labels)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%v: refused: %v", tc.labels, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%v: want an error naming %s, got %v", tc.labels, tc.bad, err)
		}
	}
}

func TestOwnLabelsDropsVirtualKubeletsRole(t *testing.T) {
	l := map[string]string{"type": "virtual-kubelet", "kubernetes.io/role": "agent", "kubernetes.io/hostname": "n"}
	ownLabels(l)
	if _, ok := l["kubernetes.io/role"]; ok || l["type"] != "virtual-kubelet" || l["kubernetes.io/hostname"] != "n" {
		t.Fatalf("labels %v", l)
	}
}
