package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/virtual-kubelet/virtual-kubelet/log"
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
	// pulled with ("" for anonymous).
	pulledWith map[string]map[string]bool
	// file keeps pulledWith across restarts (Config.RecordsFile); with
	// none, the node's images count as preloaded after a restart.
	file string
}

// recordPull notes that image id was pulled with credentials hash, and
// writes the records to the file when the node keeps one.
func (p *imagePulls) recordPull(id, hash string) error {
	if id == "" {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pulledWith == nil {
		p.pulledWith = map[string]map[string]bool{}
	}
	if p.pulledWith[id] == nil {
		p.pulledWith[id] = map[string]bool{}
	}
	if p.pulledWith[id][hash] {
		return nil
	}
	p.pulledWith[id][hash] = true
	if p.file == "" {
		return nil
	}
	return p.saveLocked()
}

// pullRecordsFile is the file's content: image ID to credential hashes.
type pullRecordsFile struct {
	PulledWith map[string][]string `json:"pulledWith"`
}

// saveLocked replaces the file in one rename, so that a crash leaves the
// old records or the new ones. p.mu is held.
func (p *imagePulls) saveLocked() error {
	out := pullRecordsFile{PulledWith: map[string][]string{}}
	for id, hashes := range p.pulledWith {
		out.PulledWith[id] = slices.Sorted(maps.Keys(hashes))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode image pull records: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p.file), 0o700); err != nil {
		return fmt.Errorf("image pull records: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.file), ".image-pulls-*")
	if err != nil {
		return fmt.Errorf("image pull records: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write image pull records: %w", err)
	}
	if err := os.Rename(tmp.Name(), p.file); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write image pull records: %w", err)
	}
	return nil
}

// LoadRecords reads what earlier runs recorded in
// Config.RecordsFile, so that an image pulled with credentials stays for the
// pods holding them across restarts, as the kubelet's pulled-image records
// do. A missing file is a first run; a file that cannot be read is an
// error, since going on without it would open those images to every pod.
func (m *Manager) LoadRecords() error {
	p := &m.pulls
	if p.file == "" {
		return nil
	}
	b, err := os.ReadFile(p.file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("image pull records: %w", err)
	}
	var in pullRecordsFile
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("image pull records %s: %w (remove the file to treat every image on the engine as preloaded)", p.file, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pulledWith = map[string]map[string]bool{}
	for id, hashes := range in.PulledWith {
		p.pulledWith[id] = map[string]bool{}
		for _, h := range hashes {
			p.pulledWith[id][h] = true
		}
	}
	return nil
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

// pullImage pulls ref with each matching credential in turn until one works
// (anonymously when none matches), as the kubelet's runtime manager does:
// the error lists every attempt's failure.
func (m *Manager) pullImage(ctx context.Context, ref string, creds []pullCredential) (pullResult, error) {
	if len(creds) == 0 {
		res, err := m.pullShared(ctx, ref, "")
		if err == nil {
			m.keepPullRecord(ctx, res.id, "")
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
		res, err := m.pullShared(ctx, ref, auth)
		if err == nil {
			m.keepPullRecord(ctx, res.id, credentialHash(c))
			return res, nil
		}
		errs = append(errs, err)
	}
	return pullResult{}, utilerrors.NewAggregate(errs)
}

// keepPullRecord records a pull. The image was pulled: a record that cannot
// be written only weakens the next run, which is said in the log.
func (m *Manager) keepPullRecord(ctx context.Context, id, hash string) {
	if err := m.pulls.recordPull(id, hash); err != nil {
		log.G(ctx).WithError(err).WithField("image", id).Warn("Cannot keep the image's pull record; after a restart the image counts as preloaded")
	}
}

// pullShared does one engine pull of ref with auth, or waits for the one in
// progress with the same ref and auth and shares its result.
func (m *Manager) pullShared(ctx context.Context, ref, auth string) (pullResult, error) {
	for {
		v, err, _ := m.pulls.group.Do(ref+"\x00"+auth, func() (any, error) {
			start := m.cfg.Clock.Now()
			if err := m.cfg.Docker.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth}); err != nil {
				return pullResult{}, err
			}
			res := pullResult{duration: m.cfg.Clock.Since(start)}
			if img, err := m.cfg.Docker.ImageInspect(ctx, ref); err == nil {
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

// PodState is one pod's image state: the pull back-off per image, the
// last pull error per image (shown during the back-off), and which
// container was last told what, so that a container held for the same
// reason is not given the same events on every pass.
type PodState struct {
	backOff     *flowcontrol.Backoff
	lastErr     map[string]string // image → "ErrImagePull: <message>"
	reported    map[string]string // container → reason and message of its last events
	missingSeen string            // missing pull secrets last warned about
}

// NewPodState is the image state of a new pod worker.
func (m *Manager) NewPodState() *PodState {
	return &PodState{
		backOff:  flowcontrol.NewFakeBackOff(imageBackOffInitial, imageBackOffMax, m.cfg.Clock),
		lastErr:  map[string]string{},
		reported: map[string]string{},
	}
}

// firstReport reports whether container is held for reason/message for
// the first time in a row: only then are its events recorded.
func (p *PodState) firstReport(container, reason, message string) bool {
	key := reason + "\x00" + message
	if p.reported[container] == key {
		return false
	}
	p.reported[container] = key
	return true
}
