package staticpods

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

const nginxYAML = `apiVersion: v1
kind: Pod
metadata:
  name: nginx
  labels: {run: nginx}
spec:
  containers:
  - name: nginx
    image: vk-docker/busybox:0.1.0
    ports:
    - containerPort: 80
`

func TestDecodeNamesBindsAndAnnotatesAsTheKubelet(t *testing.T) {
	pods, err := Decode([]byte(nginxYAML), "/etc/manifests/nginx.yaml", "Node-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 1 {
		t.Fatalf("got %d pods, want 1", len(pods))
	}
	p := pods[0]
	if p.Name != "nginx-node-1" || p.Namespace != "default" || p.Spec.NodeName != "Node-1" {
		t.Errorf("name %s/%s node %q, want default/nginx-node-1 on Node-1", p.Namespace, p.Name, p.Spec.NodeName)
	}
	if len(p.UID) != 32 {
		t.Errorf("UID %q, want 32 hex digits (a 128-bit FNV-1a)", p.UID)
	}
	if p.Annotations[AnnotationHash] != string(p.UID) || p.Annotations[AnnotationSource] != "file" {
		t.Errorf("annotations %v, want config.hash = UID and config.source = file", p.Annotations)
	}
	if !IsStatic(p) || IsMirror(p) {
		t.Error("a manifest pod must be static, not a mirror")
	}
	c := p.Spec.Containers[0]
	if c.ImagePullPolicy != v1.PullIfNotPresent || c.TerminationMessagePath != v1.TerminationMessagePathDefault || c.Ports[0].Protocol != v1.ProtocolTCP {
		t.Errorf("container not defaulted as by the API: %+v", c)
	}
	if p.Spec.RestartPolicy != v1.RestartPolicyAlways || *p.Spec.TerminationGracePeriodSeconds != 30 {
		t.Errorf("pod not defaulted as by the API: restartPolicy %q grace %d", p.Spec.RestartPolicy, *p.Spec.TerminationGracePeriodSeconds)
	}
	tolerates := false
	for _, tol := range p.Spec.Tolerations {
		tolerates = tolerates || (tol.Operator == v1.TolerationOpExists && tol.Effect == v1.TaintEffectNoExecute && tol.Key == "")
	}
	if !tolerates {
		t.Errorf("tolerations %v, want every NoExecute taint tolerated", p.Spec.Tolerations)
	}
}

func TestUIDDependsOnContentNodeAndFile(t *testing.T) {
	uid := func(data, path, node string) string {
		t.Helper()
		pods, err := Decode([]byte(data), path, node)
		if err != nil {
			t.Fatal(err)
		}
		return string(pods[0].UID)
	}
	base := uid(nginxYAML, "/m/nginx.yaml", "n1")
	for _, tc := range []struct {
		name, data, path, node string
		same                   bool
	}{
		{"same manifest again", nginxYAML, "/m/nginx.yaml", "n1", true},
		{"same content as JSON", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"nginx","labels":{"run":"nginx"}},"spec":{"containers":[{"name":"nginx","image":"vk-docker/busybox:0.1.0","ports":[{"containerPort":80}]}]}}`, "/m/nginx.yaml", "n1", true},
		{"edited content", strings.Replace(nginxYAML, "containerPort: 80", "containerPort: 81", 1), "/m/nginx.yaml", "n1", false},
		{"other node", nginxYAML, "/m/nginx.yaml", "n2", false},
		{"other file", nginxYAML, "/m/web.yaml", "n1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := uid(tc.data, tc.path, tc.node); (got == base) != tc.same {
				t.Errorf("UID %s vs %s: same = %v, want %v", got, base, got == base, tc.same)
			}
		})
	}
}

func TestDecodeKeepsAManifestUID(t *testing.T) {
	data := strings.Replace(nginxYAML, "  name: nginx\n", "  name: nginx\n  uid: fixed-uid\n  namespace: kube-system\n", 1)
	pods, err := Decode([]byte(data), "/m/a.yaml", "n1")
	if err != nil {
		t.Fatal(err)
	}
	if pods[0].UID != "fixed-uid" || pods[0].Namespace != "kube-system" {
		t.Errorf("uid %q namespace %q, want the manifest's", pods[0].UID, pods[0].Namespace)
	}
}

func TestDecodePodList(t *testing.T) {
	data := `apiVersion: v1
kind: PodList
items:
- metadata: {name: a}
  spec: {containers: [{name: c, image: vk-docker/busybox:0.1.0}]}
- metadata: {name: b}
  spec: {containers: [{name: c, image: vk-docker/busybox:latest}]}
`
	pods, err := Decode([]byte(data), "/m/list.yaml", "n1")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 2 || pods[0].Name != "a-n1" || pods[1].Name != "b-n1" || pods[0].UID == pods[1].UID {
		t.Fatalf("got %v, want pods a-n1 and b-n1 with distinct UIDs", pods)
	}
	if pods[1].Spec.Containers[0].ImagePullPolicy != v1.PullAlways {
		t.Errorf(":latest pull policy %q, want Always", pods[1].Spec.Containers[0].ImagePullPolicy)
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, data := range map[string]string{
		"not a pod":     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
		"no name":       "apiVersion: v1\nkind: Pod\nspec: {containers: [{name: c, image: i:1}]}\n",
		"unknown field": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containerz: []}\n",
		"not YAML":      "{{{",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(data), "/m/x.yaml", "n1"); err == nil {
				t.Error("decoded, want an error")
			}
		})
	}
}

func TestAPIReferenceNamesWhatAStaticPodMayNotReference(t *testing.T) {
	withSpec := func(f func(*v1.PodSpec)) *v1.Pod {
		p := &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "i:1"}}}}
		f(&p.Spec)
		return p
	}
	for _, tc := range []struct {
		name string
		pod  *v1.Pod
		want string
	}{
		{"plain pod", withSpec(func(*v1.PodSpec) {}), ""},
		{"emptyDir", withSpec(func(s *v1.PodSpec) {
			s.Volumes = []v1.Volume{{Name: "v", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
		}), ""},
		{"secret volume", withSpec(func(s *v1.PodSpec) {
			s.Volumes = []v1.Volume{{Name: "v", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "s"}}}}
		}), "secrets"},
		{"configMap volume", withSpec(func(s *v1.PodSpec) {
			s.Volumes = []v1.Volume{{Name: "v", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}}}}}
		}), "configmaps"},
		{"token projection", withSpec(func(s *v1.PodSpec) {
			s.Volumes = []v1.Volume{{Name: "t", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token"}}}}}}}
		}), "serviceaccounts (via projected volumes)"},
		{"service account", withSpec(func(s *v1.PodSpec) { s.ServiceAccountName = "robot" }), "serviceaccounts"},
		{"secret env", withSpec(func(s *v1.PodSpec) {
			s.Containers[0].Env = []v1.EnvVar{{Name: "PW", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "s"}, Key: "k"}}}}
		}), "secrets"},
		{"hostPath and downwardAPI", withSpec(func(s *v1.PodSpec) {
			s.Volumes = []v1.Volume{{Name: "h", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/tmp"}}}, {Name: "d", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{}}}}
		}), ""},
		{"persistent volume claim", withSpec(func(s *v1.PodSpec) {
			s.Volumes = []v1.Volume{{Name: "p", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}}}
		}), "persistentvolumeclaims"},
		{"image pull secret", withSpec(func(s *v1.PodSpec) { s.ImagePullSecrets = []v1.LocalObjectReference{{Name: "reg"}} }), "secrets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := APIReference(tc.pod); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
