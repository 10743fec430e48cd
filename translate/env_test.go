package translate

import (
	"reflect"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// envRuntime is a Node whose listers hold objs.
func envRuntime(t testing.TB, objs ...any) *Node {
	t.Helper()
	newIndexer := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	cms, secrets, services := newIndexer(), newIndexer(), newIndexer()
	for _, o := range objs {
		var idx cache.Indexer
		switch o.(type) {
		case *v1.ConfigMap:
			idx = cms
		case *v1.Secret:
			idx = secrets
		case *v1.Service:
			idx = services
		default:
			t.Fatalf("no lister for %T", o)
		}
		if err := idx.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	return &Node{
		ConfigMaps: corev1listers.NewConfigMapLister(cms),
		Secrets:    corev1listers.NewSecretLister(secrets),
		Services:   corev1listers.NewServiceLister(services),
		Allocatable: func() v1.ResourceList {
			return v1.ResourceList{
				v1.ResourceCPU:    resource.MustParse("2"),
				v1.ResourceMemory: resource.MustParse("24Gi"),
			}
		},
	}
}

func envPod(c v1.Container) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "uid-1",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"team": "a"}},
		Spec: v1.PodSpec{NodeName: "vk", ServiceAccountName: "default", EnableServiceLinks: ptr.To(false), Containers: []v1.Container{c}},
	}
}

func fieldEnv(name, path string) v1.EnvVar {
	return v1.EnvVar{Name: name, ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: path}}}
}

func TestResolveEnv(t *testing.T) {
	objs := []any{
		&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"LEVEL": "debug", "B": "2", "A": "1"}},
		&v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec", Namespace: "ns"}, Data: map[string][]byte{"password": []byte("s3cret")}},
		&v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"},
			Spec: v1.ServiceSpec{ClusterIP: "10.0.0.1", Ports: []v1.ServicePort{{Name: "https", Port: 443, Protocol: v1.ProtocolTCP}}}},
		&v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "my-db", Namespace: "ns"},
			Spec: v1.ServiceSpec{ClusterIP: "10.0.0.9", Ports: []v1.ServicePort{{Port: 5432}}}},
		&v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "headless", Namespace: "ns"},
			Spec: v1.ServiceSpec{ClusterIP: v1.ClusterIPNone, Ports: []v1.ServicePort{{Port: 80}}}},
	}
	cases := []struct {
		name      string
		c         v1.Container
		links     bool
		podAPI    bool
		services  bool     // the node lists Services (else none are known)
		want      []string // exactly these, in order
		wantCmd   []string
		wantError string
	}{
		{
			name: "values in order, with $(VAR) expansion and $$ escapes",
			c: v1.Container{Env: []v1.EnvVar{
				{Name: "TZ", Value: "Asia/Shanghai"},
				{Name: "GREETING", Value: "tz=$(TZ) missing=$(NOPE) cost=$$5 $(TZ"},
			}, Command: []string{"sh", "-c", "echo $(GREETING)"}, Args: []string{"$$(TZ)", "$(TZ)"}},
			want: []string{"TZ=Asia/Shanghai", "GREETING=tz=Asia/Shanghai missing=$(NOPE) cost=$5 $(TZ",
				"KUBERNETES_PORT=tcp://10.0.0.1:443", "KUBERNETES_PORT_443_TCP=tcp://10.0.0.1:443",
				"KUBERNETES_PORT_443_TCP_ADDR=10.0.0.1", "KUBERNETES_PORT_443_TCP_PORT=443", "KUBERNETES_PORT_443_TCP_PROTO=tcp",
				"KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_PORT_HTTPS=443"},
			services: true,
			wantCmd:  []string{"sh", "-c", "echo tz=Asia/Shanghai missing=$(NOPE) cost=$5 $(TZ", "$(TZ)", "Asia/Shanghai"},
		},
		{
			name:     "the pod API address replaces the kubernetes Service; service links add the namespace's",
			links:    true,
			podAPI:   true,
			services: true,
			c:        v1.Container{Env: []v1.EnvVar{{Name: "DB", Value: "$(MY_DB_SERVICE_HOST):$(MY_DB_SERVICE_PORT)"}}},
			want: []string{"DB=10.0.0.9:5432",
				"KUBERNETES_PORT=tcp://172.17.0.1:6443", "KUBERNETES_PORT_6443_TCP=tcp://172.17.0.1:6443",
				"KUBERNETES_PORT_6443_TCP_ADDR=172.17.0.1", "KUBERNETES_PORT_6443_TCP_PORT=6443", "KUBERNETES_PORT_6443_TCP_PROTO=tcp",
				"KUBERNETES_SERVICE_HOST=172.17.0.1", "KUBERNETES_SERVICE_PORT=6443", "KUBERNETES_SERVICE_PORT_HTTPS=6443",
				"MY_DB_PORT=tcp://10.0.0.9:5432", "MY_DB_PORT_5432_TCP=tcp://10.0.0.9:5432", "MY_DB_PORT_5432_TCP_ADDR=10.0.0.9",
				"MY_DB_PORT_5432_TCP_PORT=5432", "MY_DB_PORT_5432_TCP_PROTO=tcp", "MY_DB_SERVICE_HOST=10.0.0.9", "MY_DB_SERVICE_PORT=5432"},
		},
		{
			name: "downward API fields, status included",
			c: v1.Container{Name: "app", Env: []v1.EnvVar{
				fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NS", "metadata.namespace"), fieldEnv("POD_UID", "metadata.uid"),
				fieldEnv("APP", "metadata.labels['app']"), fieldEnv("TEAM", "metadata.annotations['team']"),
				fieldEnv("NODE", "spec.nodeName"), fieldEnv("SA", "spec.serviceAccountName"),
				fieldEnv("POD_IP", "status.podIP"), fieldEnv("POD_IPS", "status.podIPs"), fieldEnv("HOST_IP", "status.hostIP"),
				{Name: "URL", Value: "http://$(POD_IP):8080"},
			}},
			want: []string{"POD_NAME=web", "POD_NS=ns", "POD_UID=uid-1", "APP=web", "TEAM=a", "NODE=vk", "SA=default",
				"POD_IP=172.17.0.5", "POD_IPS=172.17.0.5", "HOST_IP=192.168.1.10", "URL=http://172.17.0.5:8080"},
		},
		{
			name: "resource fields: set limits, divisors, node allocatable for unset limits",
			c: v1.Container{Name: "app",
				Resources: v1.ResourceRequirements{
					Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m"), v1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("128Mi")},
				},
				Env: []v1.EnvVar{
					{Name: "CPU_REQ", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
					{Name: "CPU_REQ_CORES", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "requests.cpu"}}},
					{Name: "MEM_LIMIT_MI", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
					{Name: "CPU_LIMIT", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu"}}},
				}},
			want: []string{"CPU_REQ=250", "CPU_REQ_CORES=1", "MEM_LIMIT_MI=128", "CPU_LIMIT=2"},
		},
		{
			name: "envFrom with prefix, then env overrides; configMap and secret keys",
			c: v1.Container{
				EnvFrom: []v1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}}},
				Env: []v1.EnvVar{
					{Name: "CFG_A", Value: "override"},
					{Name: "LEVEL", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "LEVEL"}}},
					{Name: "PASSWORD", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}, Key: "password"}}},
				}},
			want: []string{"CFG_A=override", "CFG_B=2", "CFG_LEVEL=debug", "LEVEL=debug", "PASSWORD=s3cret"},
		},
		{
			name: "optional sources that are missing are left out",
			c: v1.Container{
				EnvFrom: []v1.EnvFromSource{{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Optional: ptr.To(true)}}},
				Env: []v1.EnvVar{
					{Name: "X", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Key: "k", Optional: ptr.To(true)}}},
					{Name: "Y", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "nokey", Optional: ptr.To(true)}}},
					{Name: "Z", Value: "kept"},
				}},
			want: []string{"Z=kept"},
		},
		{
			name: "a mandatory missing ConfigMap is the kubelet's error",
			c: v1.Container{Env: []v1.EnvVar{
				{Name: "X", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Key: "k"}}}}},
			wantError: `configmap "gone" not found`,
		},
		{
			name: "a mandatory missing Secret key is the kubelet's error",
			c: v1.Container{Env: []v1.EnvVar{
				{Name: "X", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}, Key: "user"}}}}},
			wantError: "couldn't find key user in Secret ns/sec",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt := envRuntime(t, objs...)
			if tc.podAPI {
				rt.PodAPIHost, rt.PodAPIPort = "172.17.0.1", 6443
			}
			if !tc.services {
				rt.Services = nil
			}
			pod := envPod(tc.c)
			pod.Spec.EnableServiceLinks = ptr.To(tc.links)
			env, cmd, args, err := rt.ResolveEnv(EnvContext{Pod: pod, Container: &pod.Spec.Containers[0], PodIP: "172.17.0.5", HostIP: "192.168.1.10"})
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("err = %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(env, tc.want) {
				t.Errorf("env =\n%q\nwant\n%q", env, tc.want)
			}
			if tc.wantCmd != nil && !reflect.DeepEqual(append(cmd, args...), tc.wantCmd) {
				t.Errorf("command+args = %q, want %q", append(cmd, args...), tc.wantCmd)
			}
		})
	}
}
