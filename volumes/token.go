package volumes

import (
	"context"
	"fmt"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// defaultTokenExpiration is the API's default expirationSeconds of a
// serviceAccountToken projection.
const defaultTokenExpiration = int64(3600)

// maxTokenAge is the kubelet's maxTTL: a token is renewed after a day even
// when it lives longer.
const maxTokenAge = 24 * time.Hour

// TokenCache issues bound service account tokens through the TokenRequest
// API and hands out the cached token until the kubelet's token manager would
// renew it: when less than 20% of its lifetime is left (or it is a day old).
type TokenCache struct {
	kube  kubernetes.Interface
	clock clock.PassiveClock

	mu     sync.Mutex
	tokens map[tokenKey]*authenticationv1.TokenRequest
}

type tokenKey struct {
	namespace, serviceAccount, audience string
	podUID                              string
	expirationSeconds                   int64
}

// NewTokenCache returns a cache that requests tokens with kube.
func NewTokenCache(kube kubernetes.Interface, clk clock.PassiveClock) *TokenCache {
	return &TokenCache{kube: kube, clock: clk, tokens: map[tokenKey]*authenticationv1.TokenRequest{}}
}

// Token returns a token of pod's service account bound to pod, for audience
// (the API server's own audiences when empty), valid for expirationSeconds
// (the API's default when nil).
func (c *TokenCache) Token(ctx context.Context, pod *v1.Pod, audience string, expirationSeconds *int64) (string, error) {
	if c == nil || c.kube == nil {
		return "", fmt.Errorf("cannot setup projected volume because kube client is not configured")
	}
	exp := defaultTokenExpiration
	if expirationSeconds != nil {
		exp = *expirationSeconds
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	key := tokenKey{namespace: pod.Namespace, serviceAccount: sa, audience: audience, podUID: string(pod.UID), expirationSeconds: exp}
	c.mu.Lock()
	cached := c.tokens[key]
	c.mu.Unlock()
	if cached != nil && !c.needsRefresh(cached) {
		return cached.Status.Token, nil
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
	}}
	if audience != "" {
		req.Spec.Audiences = []string{audience}
	}
	tr, err := c.kube.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		// Like the kubelet, keep serving a token that is still valid.
		if cached != nil && c.clock.Now().Before(cached.Status.ExpirationTimestamp.Time) {
			return cached.Status.Token, nil
		}
		return "", fmt.Errorf("failed to fetch token: %w", err)
	}
	if tr.Spec.ExpirationSeconds == nil {
		tr.Spec.ExpirationSeconds = &exp
	}
	c.mu.Lock()
	c.tokens[key] = tr
	c.mu.Unlock()
	return tr.Status.Token, nil
}

// needsRefresh is the kubelet token manager's requiresRefresh (without its
// jitter).
func (c *TokenCache) needsRefresh(tr *authenticationv1.TokenRequest) bool {
	now := c.clock.Now()
	exp := tr.Status.ExpirationTimestamp.Time
	ttl := time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	iat := exp.Add(-ttl)
	return now.After(iat.Add(maxTokenAge)) || now.After(exp.Add(-ttl*20/100))
}

// Forget drops every token of the pod with uid (when the pod is gone).
func (c *TokenCache) Forget(uid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.tokens {
		if k.podUID == uid {
			delete(c.tokens, k)
		}
	}
}
