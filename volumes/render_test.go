package volumes

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vk-docker/vk-docker/volumes/atomicdir"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func testSources(t *testing.T, objs ...any) *Sources {
	t.Helper()
	si := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	ci := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *v1.Secret:
			err = si.Add(o)
		case *v1.ConfigMap:
			err = ci.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &Sources{Secrets: corev1listers.NewSecretLister(si), ConfigMaps: corev1listers.NewConfigMapLister(ci)}
}

var testPod = &v1.Pod{
	ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns1", UID: "uid-1",
		Labels:      map[string]string{"app": "web", "tier": "a\"b"},
		Annotations: map[string]string{"note": "x"}},
	Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
		Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")},
		Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m")},
	}}}},
}

func files(p atomicdir.Payload) map[string]string {
	out := map[string]string{}
	for k, f := range p.Files {
		out[k] = fmt.Sprintf("%s|%o", f.Data, f.Mode)
	}
	return out
}

func TestRender(t *testing.T) {
	cm := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns1"},
		Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"bin": {0, 1}}}
	sec := &v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec", Namespace: "ns1"},
		Data: map[string][]byte{"user": []byte("admin"), "pass": []byte("hunter2")}}
	src := testSources(t, cm, sec)
	src.Allocatable = func() v1.ResourceList {
		return v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi")}
	}
	cases := []struct {
		name string
		vol  v1.VolumeSource
		want map[string]string
		err  string
	}{
		{name: "configMap all keys, default mode", vol: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}},
			want: map[string]string{"a": "1|644", "b": "2|644", "bin": "\x00\x01|644"}},
		{name: "configMap items with modes", vol: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"},
			DefaultMode: ptr.To[int32](0o600), Items: []v1.KeyToPath{{Key: "a", Path: "dir/a.txt"}, {Key: "b", Path: "b", Mode: ptr.To[int32](0o444)}}}},
			want: map[string]string{"dir/a.txt": "1|600", "b": "2|444"}},
		{name: "configMap missing key", vol: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"},
			Items: []v1.KeyToPath{{Key: "nope", Path: "x"}}}}, err: "configmap references non-existent config key: nope"},
		{name: "configMap missing key, optional", vol: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"},
			Optional: ptr.To(true), Items: []v1.KeyToPath{{Key: "nope", Path: "x"}, {Key: "a", Path: "a"}}}}, want: map[string]string{"a": "1|644"}},
		{name: "configMap missing", vol: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}}},
			err: `configmap "gone" not found`},
		{name: "configMap missing, optional: empty", vol: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Optional: ptr.To(true)}},
			want: map[string]string{}},
		{name: "secret items", vol: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "sec", DefaultMode: ptr.To[int32](0o400),
			Items: []v1.KeyToPath{{Key: "pass", Path: "password"}}}}, want: map[string]string{"password": "hunter2|400"}},
		{name: "secret missing", vol: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "gone"}}, err: `secret "gone" not found`},
		{name: "secret missing key", vol: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "sec", Items: []v1.KeyToPath{{Key: "k", Path: "k"}}}},
			err: "references non-existent secret key: k"},
		{name: "downwardAPI", vol: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{Items: []v1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "app", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}},
			{Path: "meta/name", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}, Mode: ptr.To[int32](0o400)},
			{Path: "uid", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.uid"}},
			{Path: "mem", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
			{Path: "cpu-limit", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu"}},
			{Path: "cpu-req", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "requests.cpu", Divisor: resource.MustParse("1m")}},
		}}}, want: map[string]string{
			"labels": "app=\"web\"\ntier=\"a\\\"b\"|644", "app": "web|644", "meta/name": "web|400", "uid": "uid-1|644",
			"mem": "64|644", "cpu-limit": "4|644", "cpu-req": "250|644",
		}},
		{name: "projected like kube-api-access, without token", vol: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{DefaultMode: ptr.To[int32](0o644), Sources: []v1.VolumeProjection{
			{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Items: []v1.KeyToPath{{Key: "a", Path: "ca.crt"}}}},
			{DownwardAPI: &v1.DownwardAPIProjection{Items: []v1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
			{Secret: &v1.SecretProjection{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}, Items: []v1.KeyToPath{{Key: "user", Path: "user", Mode: ptr.To[int32](0o400)}}}},
		}}}, want: map[string]string{"ca.crt": "1|644", "namespace": "ns1|644", "user": "admin|400"}},
		{name: "projected token without a client", vol: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
			{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token"}}}}}, err: "no token source configured"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := src.Render(context.Background(), testPod, &v1.Volume{Name: "v", VolumeSource: c.vol})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Render error = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := files(p)
			if len(got) != len(c.want) {
				t.Errorf("files = %q, want %q", got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
