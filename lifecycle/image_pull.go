package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"golang.org/x/sync/singleflight"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/util/flowcontrol"
)

// Image pull back-off, as the kubelet's imageBackOff: 10 s after a failed
// pull, doubling up to 5 min, per pod and image.
const (
	imageBackOffInitial = 10 * time.Second
	imageBackOffMax     = 300 * time.Second
)

// pullResult is what one engine pull gives every pod that waited for it.
type pullResult struct {
	duration time.Duration // the pull itself, without waiting for other pulls
	size     int64         // bytes, as the engine reports the image
	id       string        // the image's ID
}

// imagePulls joins concurrent pulls of the same image with the same
// credentials into one engine pull, and remembers with which credentials
// each image was pulled; shared by every worker of a node.
type imagePulls struct {
	group singleflight.Group

	mu sync.Mutex
	// pulledWith maps an image ID to the hashes of the credentials it was
	// pulled with ("" for anonymous). Kept in memory: after a restart the
	// node's images count as preloaded.
	pulledWith map[string]map[string]bool
}

// recordPull notes that image id was pulled with credentials hash.
func (p *imagePulls) recordPull(id, hash string) {
	if id == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pulledWith == nil {
		p.pulledWith = map[string]map[string]bool{}
	}
	if p.pulledWith[id] == nil {
		p.pulledWith[id] = map[string]bool{}
	}
	p.pulledWith[id][hash] = true
}

// accessible reports whether a pod holding creds may use the present image
// id without pulling it, as the kubelet's image pull manager decides with
// its default policy (NeverVerifyPreloadedImages): images it did not pull,
// and images pulled without credentials, are for everyone; an image pulled
// with credentials only for pods holding one of those credentials.
func (p *imagePulls) accessible(id string, creds []pullCredential) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	hashes, pulled := p.pulledWith[id]
	if !pulled || hashes[""] {
		return true
	}
	for _, c := range creds {
		if hashes[credentialHash(c)] {
			return true
		}
	}
	return false
}

// credentialHash identifies a credential without keeping it.
func credentialHash(c pullCredential) string {
	b, _ := json.Marshal(c.auth)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// pullsInit guards the lazy creation of Runtime.pulls, so that a Runtime
// stays a plain struct its users fill in.
var pullsInit sync.Mutex

func (rt *Runtime) imagePulls() *imagePulls {
	pullsInit.Lock()
	defer pullsInit.Unlock()
	if rt.pulls == nil {
		rt.pulls = &imagePulls{}
	}
	return rt.pulls
}

// pullImage pulls ref with each matching credential in turn until one works
// (anonymously when none matches), as the kubelet's runtime manager does:
// the error lists every attempt's failure.
func (rt *Runtime) pullImage(ctx context.Context, ref string, creds []pullCredential) (pullResult, error) {
	if len(creds) == 0 {
		res, err := rt.pullShared(ctx, ref, "")
		if err == nil {
			rt.imagePulls().recordPull(res.id, "")
		}
		return res, err
	}
	var errs []error
	for _, c := range creds {
		auth, err := registry.EncodeAuthConfig(c.auth)
		if err != nil {
			errs = append(errs, fmt.Errorf("encode credentials of %s: %w", c.secret, err))
			continue
		}
		res, err := rt.pullShared(ctx, ref, auth)
		if err == nil {
			rt.imagePulls().recordPull(res.id, credentialHash(c))
			return res, nil
		}
		errs = append(errs, err)
	}
	return pullResult{}, utilerrors.NewAggregate(errs)
}

// pullShared does one engine pull of ref with auth, or waits for the one in
// progress with the same ref and auth and shares its result.
func (rt *Runtime) pullShared(ctx context.Context, ref, auth string) (pullResult, error) {
	for {
		v, err, _ := rt.imagePulls().group.Do(ref+"\x00"+auth, func() (any, error) {
			start := rt.Clock.Now()
			if err := rt.Docker.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth}); err != nil {
				return pullResult{}, err
			}
			res := pullResult{duration: rt.Clock.Since(start)}
			if img, err := rt.Docker.ImageInspect(ctx, ref); err == nil {
				res.size, res.id = img.Size, img.ID
			}
			return res, nil
		})
		// The pull ran under the context of the pod that started it; when
		// that pod went away, the others pull again rather than fail.
		if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return pullResult{}, err
		}
		return v.(pullResult), nil
	}
}

// podImages is one pod's image state: the pull back-off per image, the
// last pull error per image (shown during the back-off), and which
// container was last told what, so that a container held for the same
// reason is not given the same events on every pass.
type podImages struct {
	backOff     *flowcontrol.Backoff
	lastErr     map[string]string // image → "ErrImagePull: <message>"
	reported    map[string]string // container → reason and message of its last events
	missingSeen string            // missing pull secrets last warned about
}

func newPodImages(rt *Runtime) *podImages {
	return &podImages{
		backOff:  flowcontrol.NewFakeBackOff(imageBackOffInitial, imageBackOffMax, rt.Clock),
		lastErr:  map[string]string{},
		reported: map[string]string{},
	}
}

// firstReport reports whether container is held for reason/message for
// the first time in a row: only then are its events recorded.
func (p *podImages) firstReport(container, reason, message string) bool {
	key := reason + "\x00" + message
	if p.reported[container] == key {
		return false
	}
	p.reported[container] = key
	return true
}
