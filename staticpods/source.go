package staticpods

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// RescanPeriod is how often the directory is read again even without a
// change notification: the kubelet's fileCheckFrequency.
const RescanPeriod = 20 * time.Second

// settle is how long a burst of file events is collected before the
// directory is read: an editor's save is several events.
const settle = 100 * time.Millisecond

// Config configures a Source.
type Config struct {
	// Dir is the manifest directory (--pod-manifest-path); files directly in
	// it whose names do not start with "." are read.
	Dir string
	// NodeName names and binds the static pods.
	NodeName string
	// Changed is called with every static pod after each scan that changes
	// the set; it must not block for long.
	Changed func(pods []*v1.Pod)
	// Refused is called once per pod content that cannot run as a static pod
	// (it references other API objects), with the reason.
	Refused func(pod *v1.Pod, why string)
	// Clock defaults to the real clock.
	Clock clock.WithTicker
}

// Source reads the manifest directory and reports the static pods it holds.
type Source struct {
	cfg     Config
	seen    map[types.UID]string // UID → config.seen, kept while the pod stays
	refused map[types.UID]bool   // refusals already reported
	last    []*v1.Pod
}

// New returns a source of static pods; call Scan for the first read and Run
// to follow the directory.
func New(cfg Config) (*Source, error) {
	if cfg.Dir == "" || cfg.NodeName == "" || cfg.Changed == nil || cfg.Refused == nil {
		return nil, fmt.Errorf("static pods: Dir, NodeName, Changed and Refused are required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("static pods: %w", err)
	}
	cfg.Dir = dir
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Source{cfg: cfg, seen: map[types.UID]string{}, refused: map[types.UID]bool{}}, nil
}

// Scan reads the directory, calls Changed when the set of static pods
// differs from the last scan, and returns the set. A file that cannot be
// read or decoded is logged and contributes no pod, as in the kubelet.
func (s *Source) Scan(ctx context.Context) []*v1.Pod {
	pods := s.read(ctx)
	if !sameUIDs(pods, s.last) {
		s.last = pods
		s.cfg.Changed(copyPods(pods))
	}
	return copyPods(pods)
}

func (s *Source) read(ctx context.Context) []*v1.Pod {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		log.G(ctx).WithError(err).WithField("dir", s.cfg.Dir).Warn("Cannot read the static pod manifest directory")
		return nil
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var pods []*v1.Pod
	names := map[string]string{} // namespace/name → file
	now := s.cfg.Clock.Now().Format(time.RFC3339Nano)
	current := map[types.UID]bool{}
	refused := map[types.UID]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !isFile(s.cfg.Dir, e) {
			continue
		}
		path := filepath.Join(s.cfg.Dir, e.Name())
		found, err := readFile(path, s.cfg.NodeName)
		if err != nil {
			log.G(ctx).WithError(err).WithField("file", path).Warn("Cannot read static pod manifest; skipping it")
			continue
		}
		for _, pod := range found {
			key := pod.Namespace + "/" + pod.Name
			if other, dup := names[key]; dup {
				log.G(ctx).WithFields(log.Fields{"file": path, "pod": key, "first": other}).Warn("Static pod of the same name already declared; skipping it")
				continue
			}
			names[key] = path
			if what := APIReference(pod); what != "" {
				if !s.refused[pod.UID] {
					s.cfg.Refused(pod, "static pods may not reference "+what)
				}
				refused[pod.UID] = true
				continue
			}
			if s.seen[pod.UID] == "" {
				s.seen[pod.UID] = now
			}
			pod.Annotations[AnnotationSeen] = s.seen[pod.UID]
			current[pod.UID] = true
			pods = append(pods, pod)
		}
	}
	for uid := range s.seen {
		if !current[uid] {
			delete(s.seen, uid)
		}
	}
	s.refused = refused // a refused file that comes back is reported again
	return pods
}

// isFile accepts regular files and symlinks to them, as the kubelet does.
func isFile(dir string, e fs.DirEntry) bool {
	if e.Type().IsRegular() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && fi.Mode().IsRegular()
}

func readFile(path, nodeName string) ([]*v1.Pod, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, nil // being written; the next event reads it again
	}
	return Decode(data, path, nodeName)
}

// Run follows the directory until ctx ends: every change notification
// (after a short settling time) and every RescanPeriod leads to a Scan. A
// directory that does not exist yet is watched once it appears.
func (s *Source) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", s.cfg.Dir, err)
	}
	defer w.Close()
	watching := s.watch(ctx, w, false)
	rescan := s.cfg.Clock.NewTicker(RescanPeriod)
	defer rescan.Stop()
	var settled <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rescan.C():
			watching = s.watch(ctx, w, watching)
			s.Scan(ctx)
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("static pods: file watcher closed")
			}
			log.G(ctx).WithField("event", ev.String()).Debug("Static pod manifest directory changed")
			if settled == nil {
				settled = s.cfg.Clock.After(settle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("static pods: file watcher closed")
			}
			log.G(ctx).WithError(err).Warn("Static pod manifest watch error; rescanning")
			settled = s.cfg.Clock.After(settle)
		case <-settled:
			settled = nil
			s.Scan(ctx)
		}
	}
}

// watch adds the directory to the watcher unless it already is watched.
func (s *Source) watch(ctx context.Context, w *fsnotify.Watcher, watching bool) bool {
	if watching {
		return true
	}
	if err := w.Add(s.cfg.Dir); err != nil {
		log.G(ctx).WithError(err).WithField("dir", s.cfg.Dir).Warn("Cannot watch the static pod manifest directory; rescanning it periodically")
		return false
	}
	return true
}

func sameUIDs(a, b []*v1.Pod) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].UID != b[i].UID {
			return false
		}
	}
	return true
}

func copyPods(pods []*v1.Pod) []*v1.Pod {
	out := make([]*v1.Pod, len(pods))
	for i, p := range pods {
		out[i] = p.DeepCopy()
	}
	return out
}
