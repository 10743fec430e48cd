package images

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/registry"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pullCredential is one registry login from an image pull secret.
type pullCredential struct {
	auth   registry.AuthConfig
	secret string // namespace/name of the secret it came from, for logs
}

// dockerConfigEntry is one registry's entry of a .dockercfg or
// .dockerconfigjson; "auth" (base64 of user:password) wins over the fields.
type dockerConfigEntry struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Email    string `json:"email,omitempty"`
	Auth     string `json:"auth,omitempty"`
}

// keyring maps registry keys ("host[:port][/path]") to credentials and finds
// those matching an image, with the kubelet's rules (BasicDockerKeyring):
// hosts may hold globs per DNS label (*.example.com), ports must be equal, a
// key's path must prefix the repository's, and Docker Hub's legacy key
// index.docker.io matches Hub images.
type keyring struct {
	index []string // keys, most specific first (reverse order)
	creds map[string][]pullCredential
}

const dockerHubKey = "index.docker.io"

// add records the entries of one secret.
func (k *keyring) add(secret string, cfg map[string]dockerConfigEntry) error {
	if k.creds == nil {
		k.creds = map[string][]pullCredential{}
	}
	for server, e := range cfg {
		user, password := e.Username, e.Password
		if e.Auth != "" {
			var err error
			if user, password, err = decodeAuthField(e.Auth); err != nil {
				return fmt.Errorf("image pull secret %s, registry %q: %w", secret, server, err)
			}
		}
		if !strings.HasPrefix(server, "https://") && !strings.HasPrefix(server, "http://") {
			server = "https://" + server
		}
		u, err := url.Parse(server)
		if err != nil {
			// The kubelet ignores such an entry too.
			continue
		}
		path := u.Path
		if strings.HasPrefix(path, "/v2/") || strings.HasPrefix(path, "/v1/") {
			path = path[3:]
		}
		key := u.Host
		if path != "" && path != "/" {
			key += path
		}
		k.creds[key] = append(k.creds[key], pullCredential{
			auth:   registry.AuthConfig{Username: user, Password: password, ServerAddress: u.Host},
			secret: secret,
		})
		if !slices.Contains(k.index, key) {
			k.index = append(k.index, key)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(k.index)))
	return nil
}

// lookup returns the credentials for repo, a normalised repository name
// ("docker.io/library/busybox", "127.0.0.1:5000/team/app").
func (k *keyring) lookup(repo string) []pullCredential {
	var out []pullCredential
	for _, key := range k.index {
		if keyMatches(key, repo) {
			out = append(out, k.creds[key]...)
		}
	}
	if len(out) == 0 && isDockerHub(repo) {
		out = append(out, k.creds[dockerHubKey]...)
	}
	return out
}

// keyMatches reports whether a keyring key covers repo (the kubelet's URLsMatch).
func keyMatches(key, repo string) bool {
	g, err1 := url.Parse("https://" + key)
	t, err2 := url.Parse("https://" + repo)
	if err1 != nil || err2 != nil {
		return false
	}
	gParts, gPort := splitHost(g.Host)
	tParts, tPort := splitHost(t.Host)
	if gPort != tPort || len(gParts) != len(tParts) || !strings.HasPrefix(t.Path, g.Path) {
		return false
	}
	for i := range gParts {
		if ok, err := filepath.Match(gParts[i], tParts[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitHost(hostport string) (labels []string, port string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	return strings.Split(host, "."), port
}

// isDockerHub reports whether repo lives on Docker Hub.
func isDockerHub(repo string) bool {
	first, _, found := strings.Cut(repo, "/")
	switch {
	case first == "":
		return false
	case !found:
		return true
	case first == "docker.io" || first == "index.docker.io":
		return true
	}
	return !strings.ContainsAny(first, ".:")
}

// decodeAuthField splits a dockercfg "auth" field, base64(user:password),
// padded or not.
func decodeAuthField(field string) (user, password string, err error) {
	enc := base64.RawStdEncoding
	if strings.HasSuffix(strings.TrimSpace(field), "=") {
		enc = base64.StdEncoding
	}
	b, err := enc.DecodeString(field)
	if err != nil {
		return "", "", fmt.Errorf("decode auth field: %w", err)
	}
	user, password, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", "", fmt.Errorf("unable to parse auth field, must be formatted as base64(username:password)")
	}
	return user, password, nil
}

// keyringFromSecrets builds the keyring of a pod's pull secrets; secrets of
// other types, or without their key, are skipped as the kubelet does. A
// secret whose content does not parse is an error.
func keyringFromSecrets(secrets []*v1.Secret) (*keyring, error) {
	k := &keyring{}
	for _, s := range secrets {
		name := s.Namespace + "/" + s.Name
		switch {
		case s.Type == v1.SecretTypeDockerConfigJson && len(s.Data[v1.DockerConfigJsonKey]) > 0:
			var cfg struct {
				Auths map[string]dockerConfigEntry `json:"auths"`
			}
			if err := json.Unmarshal(s.Data[v1.DockerConfigJsonKey], &cfg); err != nil {
				return nil, fmt.Errorf("image pull secret %s: %w", name, err)
			}
			if err := k.add(name, cfg.Auths); err != nil {
				return nil, err
			}
		case s.Type == v1.SecretTypeDockercfg && len(s.Data[v1.DockerConfigKey]) > 0:
			var cfg map[string]dockerConfigEntry
			if err := json.Unmarshal(s.Data[v1.DockerConfigKey], &cfg); err != nil {
				return nil, fmt.Errorf("image pull secret %s: %w", name, err)
			}
			if err := k.add(name, cfg); err != nil {
				return nil, err
			}
		}
	}
	return k, nil
}

// pullSecrets reads the pod's imagePullSecrets: from the node's cache, and
// from the API when the cache does not have one yet (a secret created just
// before the pod). Names that cannot be read are returned as missing.
func (m *Manager) pullSecrets(ctx context.Context, pod *v1.Pod) (secrets []*v1.Secret, missing []string) {
	for _, ref := range pod.Spec.ImagePullSecrets {
		if ref.Name == "" {
			continue // the API used to allow empty names; the kubelet ignores them
		}
		var s *v1.Secret
		var err error = apierrors.NewNotFound(v1.Resource("secrets"), ref.Name)
		if m.cfg.Secrets != nil {
			s, err = m.cfg.Secrets.Secrets(pod.Namespace).Get(ref.Name)
		}
		if apierrors.IsNotFound(err) && m.cfg.Kube != nil {
			s, err = m.cfg.Kube.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		}
		if err != nil {
			missing = append(missing, ref.Name)
			continue
		}
		secrets = append(secrets, s)
	}
	return secrets, missing
}
