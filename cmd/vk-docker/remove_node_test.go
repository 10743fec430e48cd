package main

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestRemoveNodeDeletesItsPodsThenTheNode(t *testing.T) {
	pod := func(ns, name, node string) *v1.Pod {
		return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1.PodSpec{NodeName: node}}
	}
	client := fake.NewClientset(
		&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vk"}},
		&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "other"}},
		pod("a", "web", "vk"), pod("b", "db", "vk"), pod("a", "elsewhere", "other"),
	)
	ctx := context.Background()
	if err := removeNode(ctx, client, "vk", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Nodes().Get(ctx, "vk", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node vk: %v, want it gone", err)
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 || pods.Items[0].Name != "elsewhere" {
		t.Errorf("pods left: %v, want only the other node's pod", pods.Items)
	}
	if _, err := client.CoreV1().Nodes().Get(ctx, "other", metav1.GetOptions{}); err != nil {
		t.Errorf("the other node: %v", err)
	}
}

func TestRemoveNodeOfAGoneNodeSucceeds(t *testing.T) {
	if err := removeNode(context.Background(), fake.NewClientset(), "vk", time.Second); err != nil {
		t.Errorf("want success for a node already gone, got %v", err)
	}
}
