package translate

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/vk-docker/vk-docker/downwardapi"
	"github.com/vk-docker/vk-docker/expansion"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
)

// The node resolves every container's environment itself, when the container
// starts, as the kubelet does (virtual-kubelet is told to skip its own
// resolution): only then is the pod IP known for status.podIP, and a restarted
// container sees the ConfigMaps and Secrets of its restart.

// EnvContext is what a container's environment is resolved from.
type EnvContext struct {
	Pod       *v1.Pod
	Container *v1.Container
	// PodIP and HostIP are status.podIP and status.hostIP, known only once
	// the sandbox runs.
	PodIP  string
	HostIP string
}

// ResolveEnv computes a container's environment in the kubelet's order of
// precedence (envFrom, then env, then service links) and expands $(VAR)
// references in its command and args. An error is what the kubelet reports as
// CreateContainerConfigError: a mandatory ConfigMap, Secret or key is missing.
func (n *Node) ResolveEnv(ec EnvContext) (env []string, command, args []string, err error) {
	pod, c := ec.Pod, ec.Container
	vars := newEnvMap()
	cache := refCache{n: n, ns: pod.Namespace}
	for _, from := range c.EnvFrom {
		data, err := cache.envFrom(from)
		if err != nil {
			return nil, nil, nil, err
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vars.set(from.Prefix+k, data[k])
		}
	}
	services, err := n.serviceEnv(pod)
	if err != nil {
		return nil, nil, nil, err
	}
	lookup := func(name string) (string, bool) {
		if v, ok := vars.values[name]; ok {
			return v, true
		}
		v, ok := services[name]
		return v, ok
	}
	for _, e := range c.Env {
		value := e.Value
		switch {
		case value != "":
			value = expansion.Expand(value, lookup)
		case e.ValueFrom != nil:
			v, ok, err := n.envValueFrom(ec, e.ValueFrom, &cache)
			if err != nil {
				return nil, nil, nil, err
			}
			if !ok {
				continue // optional and absent
			}
			value = v
		}
		vars.set(e.Name, value)
	}
	names := make([]string, 0, len(services))
	for k := range services {
		if _, ok := vars.values[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		vars.set(k, services[k])
	}
	for _, k := range vars.order {
		env = append(env, k+"="+vars.values[k])
	}
	// The kubelet expands command and args with the container's variables
	// only (service links included, as they are in the environment).
	final := func(name string) (string, bool) { v, ok := vars.values[name]; return v, ok }
	for _, s := range c.Command {
		command = append(command, expansion.Expand(s, final))
	}
	for _, s := range c.Args {
		args = append(args, expansion.Expand(s, final))
	}
	return env, command, args, nil
}

// envMap keeps variables in the order they were first defined, so that the
// container's environment reads like its spec.
type envMap struct {
	order  []string
	values map[string]string
}

func newEnvMap() *envMap { return &envMap{values: map[string]string{}} }

func (m *envMap) set(k, v string) {
	if _, ok := m.values[k]; !ok {
		m.order = append(m.order, k)
	}
	m.values[k] = v
}

// envValueFrom resolves one valueFrom; ok is false when an optional source
// is absent and the variable is left out.
func (n *Node) envValueFrom(ec EnvContext, src *v1.EnvVarSource, cache *refCache) (value string, ok bool, err error) {
	switch {
	case src.FieldRef != nil:
		v, err := downwardapi.PodField(ec.Pod, src.FieldRef.FieldPath, downwardapi.Status{PodIP: ec.PodIP, HostIP: ec.HostIP})
		if err != nil {
			return "", false, fmt.Errorf("field %s: %w", src.FieldRef.FieldPath, err)
		}
		return v, true, nil
	case src.ResourceFieldRef != nil:
		var alloc v1.ResourceList
		if n.Allocatable != nil {
			alloc = n.Allocatable()
		}
		v, err := downwardapi.ContainerResource(ec.Pod, ec.Container.Name, src.ResourceFieldRef, alloc)
		return v, err == nil, err
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := cache.configMap(ref.Name)
		if err != nil {
			return "", false, ignoreOptionalNotFound(err, ref.Optional)
		}
		return keyValue(cm.Data, "ConfigMap", cache.ns, ref.Name, ref.Key, ref.Optional)
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := cache.secret(ref.Name)
		if err != nil {
			return "", false, ignoreOptionalNotFound(err, ref.Optional)
		}
		return keyValue(s.Data, "Secret", cache.ns, ref.Name, ref.Key, ref.Optional)
	case src.FileKeyRef != nil:
		return "", false, fmt.Errorf("env from a file (fileKeyRef on volume %q) is not supported by vk-docker", src.FileKeyRef.VolumeName)
	}
	return "", false, errors.New("env var source with no field set")
}

// ignoreOptionalNotFound drops the error of an optional reference to an
// object that does not exist: the variable is left out.
func ignoreOptionalNotFound(err error, optional *bool) error {
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return nil
	}
	return err
}

// keyValue is the value of a ConfigMap's or Secret's key, with the kubelet's
// error when a required key is missing; an optional one is left out.
func keyValue[V ~string | ~[]byte](data map[string]V, kind, ns, name, key string, optional *bool) (string, bool, error) {
	v, found := data[key]
	if found {
		return string(v), true, nil
	}
	if optional != nil && *optional {
		return "", false, nil
	}
	return "", false, fmt.Errorf("couldn't find key %v in %s %v/%v", key, kind, ns, name)
}

// refCache reads each ConfigMap and Secret once per resolution, from the
// node's informer caches.
type refCache struct {
	n          *Node
	ns         string
	configMaps map[string]*v1.ConfigMap
	secrets    map[string]*v1.Secret
}

func (rc *refCache) configMap(name string) (*v1.ConfigMap, error) {
	if cm, ok := rc.configMaps[name]; ok {
		return cm, nil
	}
	if rc.n.ConfigMaps == nil {
		return nil, fmt.Errorf("couldn't get configMap %v/%v, no kubeClient defined", rc.ns, name)
	}
	cm, err := rc.n.ConfigMaps.ConfigMaps(rc.ns).Get(name)
	if err != nil {
		return nil, err
	}
	if rc.configMaps == nil {
		rc.configMaps = map[string]*v1.ConfigMap{}
	}
	rc.configMaps[name] = cm
	return cm, nil
}

func (rc *refCache) secret(name string) (*v1.Secret, error) {
	if s, ok := rc.secrets[name]; ok {
		return s, nil
	}
	if rc.n.Secrets == nil {
		return nil, fmt.Errorf("couldn't get secret %v/%v, no kubeClient defined", rc.ns, name)
	}
	s, err := rc.n.Secrets.Secrets(rc.ns).Get(name)
	if err != nil {
		return nil, err
	}
	if rc.secrets == nil {
		rc.secrets = map[string]*v1.Secret{}
	}
	rc.secrets[name] = s
	return s, nil
}

// envFrom returns the variables of one envFrom source, nil when an optional
// source is absent.
func (rc *refCache) envFrom(from v1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := rc.configMap(from.ConfigMapRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
				return nil, nil
			}
			return nil, err
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := rc.secret(from.SecretRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && from.SecretRef.Optional != nil && *from.SecretRef.Optional {
				return nil, nil
			}
			return nil, err
		}
		out := make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

// serviceEnv is the Docker-links style variables of the Services a pod sees:
// the `kubernetes` Service always, those of its namespace with
// enableServiceLinks. With an API address for pods configured, the
// `kubernetes` Service is described at that address instead of its
// ClusterIP, which nothing here routes.
func (n *Node) serviceEnv(pod *v1.Pod) (map[string]string, error) {
	out := map[string]string{}
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	if n.Services != nil {
		services, err := n.Services.List(labels.Everything())
		if err != nil {
			return nil, fmt.Errorf("failed to list services when setting up env vars: %w", err)
		}
		for _, s := range services {
			if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == v1.ClusterIPNone || len(s.Spec.Ports) == 0 {
				continue
			}
			master := s.Namespace == "default" && s.Name == "kubernetes"
			if master && n.PodAPIHost != "" {
				continue
			}
			if master || (s.Namespace == pod.Namespace && links) {
				serviceVars(out, s.Name, s.Spec.ClusterIP, s.Spec.Ports)
			}
		}
	}
	if n.PodAPIHost != "" {
		serviceVars(out, "kubernetes", n.PodAPIHost, []v1.ServicePort{{Name: "https", Port: int32(n.PodAPIPort), Protocol: v1.ProtocolTCP}})
	}
	return out, nil
}

// serviceVars adds one Service's variables, named as the kubelet names them.
func serviceVars(out map[string]string, name, ip string, ports []v1.ServicePort) {
	prefix := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	out[prefix+"_SERVICE_HOST"] = ip
	out[prefix+"_SERVICE_PORT"] = strconv.Itoa(int(ports[0].Port))
	for i, p := range ports {
		port := strconv.Itoa(int(p.Port))
		if p.Name != "" {
			out[prefix+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = port
		}
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(v1.ProtocolTCP)
		}
		url := strings.ToLower(proto) + "://" + net.JoinHostPort(ip, port)
		if i == 0 {
			out[prefix+"_PORT"] = url
		}
		pp := prefix + "_PORT_" + port + "_" + strings.ToUpper(proto)
		out[pp] = url
		out[pp+"_PROTO"] = strings.ToLower(proto)
		out[pp+"_PORT"] = port
		out[pp+"_ADDR"] = ip
	}
}

// WithEnv is a copy of c whose env is the resolved one (NAME=value strings),
// for what the kubelet expands with it (subPathExpr).
func WithEnv(c *v1.Container, env []string) *v1.Container {
	out := c.DeepCopy()
	out.Env, out.EnvFrom = make([]v1.EnvVar, 0, len(env)), nil
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		out.Env = append(out.Env, v1.EnvVar{Name: k, Value: v})
	}
	return out
}
