package provider

// The reaper removes what pods that are gone left behind. A worker removes
// its pod's containers, volumes and termination message files when the pod
// is deleted; a provider killed in the middle of that leaves the rest for
// good, and recovery only rebuilds pods that still have containers. At start
// and every ReapInterval the reaper lists what the engine and the disk hold
// for this node and removes what belongs to no pod the node knows: no
// worker, no static pod, no pod in the API (Nomad's dangling-container
// reaper is the model).

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// DefaultReapMinAge is the age below which nothing is reaped.
const DefaultReapMinAge = time.Minute

// reapSyncPoll is how often the reaper checks whether the API cache synced.
const reapSyncPoll = 500 * time.Millisecond

// Kinds of leftovers.
const (
	leftoverContainer = "container"
	leftoverVolume    = "volume"
	leftoverFile      = "file"
)

// leftover is one object of a pod on the engine or on disk.
type leftover struct {
	kind string
	// id is what removes it: a container ID, a volume name, a path.
	id, name       string
	uid            types.UID
	namespace, pod string
	// created is when it was made; zero when unknown (never reaped).
	created time.Time
	// docker is the engine holding a container or volume.
	docker dockerhost.Client
}

// orphans picks the leftovers to reap: those of pods known reports false
// for, older than minAge at now. Containers come first, so that the
// volumes they use can go after them.
func orphans(found []leftover, known func(types.UID) bool, now time.Time, minAge time.Duration) []leftover {
	var out []leftover
	for _, kind := range []string{leftoverContainer, leftoverVolume, leftoverFile} {
		for _, l := range found {
			if l.kind != kind || l.uid == "" || known(l.uid) || l.created.IsZero() || now.Sub(l.created) < minAge {
				continue
			}
			out = append(out, l)
		}
	}
	return out
}

// runReaper reaps once the API's pods are known, then every ReapInterval,
// until ctx ends.
func (p *Provider) runReaper(ctx context.Context) {
	if p.cfg.ReapInterval <= 0 {
		return
	}
	if p.cfg.APIPodsSynced != nil {
		// Before the cache holds the API's pods, every pod would look gone.
		t := p.cfg.Clock.NewTicker(reapSyncPoll)
		for !p.cfg.APIPodsSynced() {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
		t.Stop()
	}
	t := p.cfg.Clock.NewTicker(p.cfg.ReapInterval)
	defer t.Stop()
	for {
		if err := p.reap(ctx); err != nil && ctx.Err() == nil {
			log.G(ctx).WithError(err).Warn("Reaper pass failed; trying again next period")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// reap makes one pass. The engine and the disk are listed first and the
// pods the node knows read after: whatever was listed was made by a worker
// that existed before it, so a pod being set up is never mistaken for one
// that is gone. Each removal checks again that no worker took the pod up.
func (p *Provider) reap(ctx context.Context) error {
	found, err := p.leftovers(ctx)
	if err != nil {
		return err
	}
	api, err := p.apiPodUIDs()
	if err != nil {
		return err
	}
	known := func(uid types.UID) bool { return api[uid] || p.knows(uid) }
	minAge := p.cfg.ReapMinAge
	if minAge == 0 {
		minAge = DefaultReapMinAge
	}
	var errs []error
	for _, l := range orphans(found, known, p.cfg.Clock.Now(), minAge) {
		if p.knows(l.uid) {
			continue
		}
		logger := log.G(ctx).WithFields(log.Fields{
			"namespace": l.namespace, "pod": l.pod, "uid": string(l.uid), "kind": l.kind, "name": l.name,
		})
		if err := p.removeLeftover(ctx, l); err != nil {
			if cerrdefs.IsConflict(err) {
				// A volume still in use, by a container the engine did not
				// let go yet: the next pass sees it again.
				logger.WithError(err).Info("Leftover of a pod that is gone is still in use")
				continue
			}
			errs = append(errs, fmt.Errorf("reap %s %s of pod %s/%s: %w", l.kind, l.name, l.namespace, l.pod, err))
			continue
		}
		logger.WithField("age", p.cfg.Clock.Since(l.created).Round(time.Second).String()).Info("Reaped leftover of a pod that is gone")
	}
	return errors.Join(errs...)
}

// knows reports whether a pod has a worker or is a static pod of the node.
func (p *Provider) knows(uid types.UID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers[uid] != nil || p.static.desired[uid] != nil
}

// apiPodUIDs is the set of the node's pods in the API's cache; empty in
// standalone mode.
func (p *Provider) apiPodUIDs() (map[types.UID]bool, error) {
	out := map[types.UID]bool{}
	if p.cfg.APIPods == nil {
		return out, nil
	}
	pods, err := p.cfg.APIPods.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list the node's pods: %w", err)
	}
	for _, pod := range pods {
		out[pod.UID] = true
	}
	return out, nil
}

// leftovers lists the node's containers and volumes on every Docker host
// that answers, and its pods' termination message directories.
func (p *Provider) leftovers(ctx context.Context) ([]leftover, error) {
	var out []leftover
	dirs := map[string]bool{}
	for _, h := range p.cfg.Pool.Hosts() {
		if st := h.Health(); st.Known && !st.Healthy {
			continue // its leftovers wait until it answers again
		}
		rt := p.hosts[h]
		found, err := engineLeftovers(ctx, rt.Docker, p.cfg.NodeName)
		if err != nil {
			return nil, fmt.Errorf("docker host %s: %w", h.Name(), err)
		}
		out = append(out, found...)
		dirs[rt.MessageDir] = true
	}
	var files []leftover
	for dir := range dirs {
		found, err := messageDirs(dir)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	// A file's path names only its pod's UID: name the pod as its
	// containers or volumes do, for the log.
	for i := range files {
		for _, l := range out {
			if l.uid == files[i].uid {
				files[i].namespace, files[i].pod = l.namespace, l.pod
				break
			}
		}
	}
	return append(out, files...), nil
}

// engineLeftovers lists the node's containers and volumes on one engine.
func engineLeftovers(ctx context.Context, docker dockerhost.Client, node string) ([]leftover, error) {
	var out []leftover
	containers, err := docker.ContainerList(ctx, dockerhost.NodeSelector(node))
	if err != nil {
		return nil, fmt.Errorf("list containers of node %s: %w", node, err)
	}
	for _, c := range containers {
		if !dockerhost.IsManaged(c.Labels, node) {
			continue
		}
		name := c.ID
		if len(c.Names) > 0 {
			name = c.Names[0]
		}
		out = append(out, leftover{
			kind: leftoverContainer, id: c.ID, name: name,
			uid: types.UID(c.Labels[dockerhost.LabelPodUID]), namespace: c.Labels[dockerhost.LabelPodNamespace], pod: c.Labels[dockerhost.LabelPodName],
			created: time.Unix(c.Created, 0), docker: docker,
		})
	}
	volumes, err := docker.VolumeList(ctx, dockerhost.NodeSelector(node))
	if err != nil {
		return nil, fmt.Errorf("list volumes of node %s: %w", node, err)
	}
	for _, v := range volumes {
		if !dockerhost.IsManaged(v.Labels, node) {
			continue
		}
		created, _ := time.Parse(time.RFC3339, v.CreatedAt) // unknown: never reaped
		out = append(out, leftover{
			kind: leftoverVolume, id: v.Name, name: v.Name,
			uid: types.UID(v.Labels[dockerhost.LabelPodUID]), namespace: v.Labels[dockerhost.LabelPodNamespace], pod: v.Labels[dockerhost.LabelPodName],
			created: created, docker: docker,
		})
	}
	return out, nil
}

// messageDirs lists the per-pod directories of termination message files
// (lifecycle.Runtime.MessageDir/<pod UID>).
func messageDirs(dir string) ([]leftover, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list termination message files: %w", err)
	}
	var out []leftover
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		path := filepath.Join(dir, e.Name())
		out = append(out, leftover{kind: leftoverFile, id: path, name: path, uid: types.UID(e.Name()), created: info.ModTime()})
	}
	return out, nil
}

// removeLeftover removes one leftover; one already gone is no error.
func (p *Provider) removeLeftover(ctx context.Context, l leftover) error {
	var err error
	switch l.kind {
	case leftoverContainer:
		err = l.docker.ContainerRemove(ctx, l.id)
	case leftoverVolume:
		err = l.docker.VolumeRemove(ctx, l.id)
	case leftoverFile:
		return os.RemoveAll(l.id)
	}
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}
