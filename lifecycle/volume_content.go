package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/expansion"
	"github.com/vk-docker/vk-docker/translate"
	"github.com/vk-docker/vk-docker/volumes"
	"github.com/vk-docker/vk-docker/volumes/atomicdir"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// volumeResync is how often API-data volumes are rendered again, so that
// edits of their Secrets and ConfigMaps (and label or annotation changes,
// and token renewals) reach the files: the kubelet's sync period is a
// minute; this stays well within the minute users expect.
const volumeResync = 30 * time.Second

// volumeState is what the pod's worker remembers about the content of its
// API-data volumes. Owned by the Run goroutine.
type volumeState struct {
	sources   *volumes.Sources
	sandboxID string              // the sandbox the content was written through
	written   map[string][32]byte // volume → digest of the files written
	reported  map[string]string   // volume → last FailedMount message
	next      time.Time           // when to render again
	// labels and annotations last rendered: a change (UpdatePod) renders
	// downwardAPI files at once instead of at the next resync.
	labels, annotations map[string]string
}

// forget drops the pod's cached tokens once its volumes go.
func (s *volumeState) forget(w *Worker) {
	if s.sources != nil && s.sources.Tokens != nil {
		s.sources.Tokens.Forget(string(w.uid))
	}
}

func (w *Worker) volumeSources() *volumes.Sources {
	if w.vol.sources == nil {
		w.vol.sources = &volumes.Sources{
			Secrets:    w.rt.Secrets,
			ConfigMaps: w.rt.ConfigMaps,
			Tokens:     volumes.NewTokenCache(w.rt.Kube, w.rt.Clock),
			// A limit a container does not set is the node's allocatable.
			Allocatable: w.rt.Allocatable,
		}
	}
	return w.vol.sources
}

// syncVolumeContent writes the files of the pod's API-data volumes through
// the running sandbox sb when they are new or changed, and reports whether
// every volume has its content (containers start only then) and when to
// look again. A volume whose source breaks later keeps its last content, as
// on a kubelet; each new failure is a FailedMount event.
func (w *Worker) syncVolumeContent(ctx context.Context, pod *v1.Pod, sb *instance) (bool, time.Duration) {
	names := w.apiDataVolumes(pod)
	if len(names) == 0 {
		return true, 0
	}
	st := &w.vol
	if st.sandboxID != sb.id() {
		// A new sandbox may have a fresh tmpfs: write everything again.
		st.sandboxID, st.written = sb.id(), map[string][32]byte{}
	}
	now := w.rt.Clock.Now()
	if w.mem.adoptedSandbox != "" && st.sandboxID == w.mem.adoptedSandbox && len(st.written) == 0 && st.next.IsZero() {
		// Adopted after a provider restart: the previous run wrote these
		// volumes. Writing them all again at once (an exec each) held every
		// adopted pod's status back for as long as the engine took (20 s
		// for 200 pods); they are rendered again at the next resync, as a
		// kubelet refreshes them periodically.
		for _, name := range names {
			st.written[name] = [32]byte{}
		}
		st.next = now.Add(volumeResync)
		st.labels, st.annotations = maps.Clone(pod.Labels), maps.Clone(pod.Annotations)
	}
	metaSame := maps.Equal(st.labels, pod.Labels) && maps.Equal(st.annotations, pod.Annotations)
	st.labels, st.annotations = maps.Clone(pod.Labels), maps.Clone(pod.Annotations)
	if len(st.written) == len(names) && now.Before(st.next) && metaSame {
		return true, st.next.Sub(now)
	}
	mounted := sandboxMounts(sb)
	ready := true
	for _, name := range names {
		err := w.writeVolume(ctx, pod, sb, name, mounted)
		if err == nil {
			delete(st.reported, name)
			continue
		}
		if _, ok := st.written[name]; !ok {
			ready = false
		}
		w.reportMountError(ctx, pod, &mountError{volume: name, err: err})
	}
	if !ready {
		return false, retryAfterError
	}
	st.next = now.Add(volumeResync)
	return true, volumeResync
}

// renderedVolumes are the pod's API-data volumes (names) and the files of
// those that rendered, with their digests, by volume name.
type renderedVolumes struct {
	names    []string
	payloads map[string]atomicdir.Payload
	digests  map[string][32]byte
}

// renderVolumes renders the files of the pod's API-data volumes for a
// sandbox's set-up. A volume that does not render is left out: the volume
// sync reports it.
func (w *Worker) renderVolumes(ctx context.Context, pod *v1.Pod) renderedVolumes {
	r := renderedVolumes{names: w.apiDataVolumes(pod), payloads: map[string]atomicdir.Payload{}, digests: map[string][32]byte{}}
	for _, name := range r.names {
		if p, digest, err := w.renderVolume(ctx, pod, name); err == nil {
			r.payloads[name], r.digests[name] = p, digest
		}
	}
	return r
}

// apiDataVolumes are the names of the pod's API-data volumes.
func (w *Worker) apiDataVolumes(pod *v1.Pod) []string {
	var names []string
	for _, dv := range w.rt.PlanVolumes(pod).Docker {
		if dv.APIData {
			names = append(names, dv.Name)
		}
	}
	return names
}

// sandboxWritten records what a sandbox's set-up wrote: the volumes sent
// (by name) that did not fail. When all of the pod's API-data volumes were
// written, the next render is a resync away.
func (s *volumeState) sandboxWritten(now time.Time, pod *v1.Pod, sandboxID string, vols renderedVolumes, sent []string, failed map[string]error) {
	s.sandboxID, s.written = sandboxID, map[string][32]byte{}
	for _, name := range sent {
		if digest, ok := vols.digests[name]; ok && failed[translate.SandboxVolumeDir+name] == nil {
			s.written[name] = digest
		}
	}
	if len(s.written) == len(vols.names) {
		s.next = now.Add(volumeResync)
		s.labels, s.annotations = maps.Clone(pod.Labels), maps.Clone(pod.Annotations)
	}
}

// sandboxMounts are the names of the Docker volumes mounted in sb.
func sandboxMounts(sb *instance) sets.Set[string] {
	mounted := sets.New[string]()
	for _, m := range sb.inspect.Mounts {
		mounted.Insert(m.Name)
	}
	return mounted
}

// renderVolume renders the files of one API-data volume and their digest.
func (w *Worker) renderVolume(ctx context.Context, pod *v1.Pod, name string) (atomicdir.Payload, [32]byte, error) {
	v := translate.PodVolume(pod, name)
	payload, err := w.volumeSources().Render(ctx, pod, v)
	if err != nil {
		return atomicdir.Payload{}, [32]byte{}, err
	}
	payload.FSGroup = podFSGroup(pod)
	b, err := json.Marshal(payload)
	if err != nil {
		return atomicdir.Payload{}, [32]byte{}, err
	}
	return payload, sha256.Sum256(b), nil
}

// writeVolume renders one volume and writes it when its files changed.
func (w *Worker) writeVolume(ctx context.Context, pod *v1.Pod, sb *instance, name string, mounted sets.Set[string]) error {
	payload, digest, err := w.renderVolume(ctx, pod, name)
	if err != nil {
		return err
	}
	if old, ok := w.vol.written[name]; ok && old == digest {
		return nil
	}
	if !mounted.Has(dockerhost.VolumeName(string(pod.UID), name)) {
		// A sandbox made by an older vk-docker, before the pod had this
		// volume mounted there.
		return fmt.Errorf("the pod's sandbox %.12s does not mount the volume", sb.id())
	}
	changed, err := dockerhost.WriteVolumeFiles(ctx, w.docker, sb.id(), translate.SandboxVolumeDir+name, payload)
	if err != nil {
		return err
	}
	w.vol.written[name] = digest
	if changed {
		log.G(ctx).WithField("volume", name).Debug("Volume content written")
	}
	return nil
}

// subPathMounts binds the container's volumeMounts with a subPath or
// subPathExpr: the path is resolved inside the volume from within the
// sandbox (created when missing; a symlink out of the volume is refused)
// and the resolved directory or file of the volume on the Docker host is
// bind-mounted. Like the kubelet's, such a mount of an API-data volume does
// not follow later updates.
func (w *Worker) subPathMounts(ctx context.Context, pod *v1.Pod, c *v1.Container, sandboxID string) ([]mount.Mount, error) {
	var out []mount.Mount
	var mountpoints map[string]string
	for _, vm := range c.VolumeMounts {
		if vm.SubPath == "" && vm.SubPathExpr == "" {
			continue
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			var err error
			if sub, err = expansion.SubPath(vm.SubPathExpr, c.Env); err != nil {
				return nil, fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q: %w", vm.Name, c.Name, err)
			}
			if path.IsAbs(sub) || sub == ".." || len(sub) > 2 && sub[:3] == "../" {
				return nil, fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q: subPathExpr %q expands to %q, which leaves the volume", vm.Name, c.Name, vm.SubPathExpr, sub)
			}
			if sub == "" {
				// The kubelet mounts the whole volume when the expansion is empty.
				out = append(out, translate.VolumeMounts(pod, &v1.Container{VolumeMounts: []v1.VolumeMount{{Name: vm.Name, MountPath: vm.MountPath, ReadOnly: vm.ReadOnly, MountPropagation: vm.MountPropagation}}})...)
				continue
			}
		}
		v := translate.PodVolume(pod, vm.Name)
		if v == nil {
			continue
		}
		if v.HostPath != nil {
			src, err := hostSubPath(v.HostPath.Path, sub)
			if err != nil {
				return nil, fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q: %w", vm.Name, c.Name, err)
			}
			out = append(out, mount.Mount{Type: mount.TypeBind, Source: src, Target: vm.MountPath, ReadOnly: vm.ReadOnly, BindOptions: translate.BindOptions(vm.MountPropagation)})
			continue
		}
		if mountpoints == nil {
			vols, err := w.docker.VolumeList(ctx, dockerhost.NodeSelector(w.rt.NodeName), dockerhost.PodSelector(string(pod.UID)))
			if err != nil {
				return nil, fmt.Errorf("list volumes: %w", err)
			}
			mountpoints = map[string]string{}
			for _, dv := range vols {
				mountpoints[dv.Name] = dv.Mountpoint
			}
		}
		mp := mountpoints[dockerhost.VolumeName(string(pod.UID), vm.Name)]
		if mp == "" {
			return nil, fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q: the volume has no mount point", vm.Name, c.Name)
		}
		rel, err := dockerhost.ResolveSubPath(ctx, w.docker, sandboxID, translate.SandboxVolumeDir+vm.Name, sub)
		if err != nil {
			return nil, fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q: %w", vm.Name, c.Name, err)
		}
		out = append(out, mount.Mount{
			Type:     mount.TypeBind,
			Source:   path.Join(mp, rel),
			Target:   vm.MountPath,
			ReadOnly: vm.ReadOnly || volumes.IsAPIData(v),
		})
	}
	return out, nil
}

// minDelay is the sooner of two "look again in" durations, 0 meaning never.
func minDelay(a, b time.Duration) time.Duration {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// hostSubPath resolves sub inside the hostPath root on this machine with
// the same rules as a subPath in a pod volume.
func hostSubPath(root, sub string) (string, error) {
	rel, err := atomicdir.SubPath(root, sub)
	if err != nil {
		return "", err
	}
	return path.Join(root, rel), nil
}

// reportMountError makes a FailedMount event of a volume set-up failure,
// once per distinct message, so that a retry every few seconds does not
// flood the pod's events.
func (w *Worker) reportMountError(ctx context.Context, pod *v1.Pod, err error) {
	if ctx.Err() != nil {
		return // cut short by the pod's deletion: no failure of the volume
	}
	if w.vol.reported == nil {
		w.vol.reported = map[string]string{}
	}
	key, msg := "", "MountVolume.SetUp failed: "+err.Error()
	if me, ok := err.(*mountError); ok {
		key, msg = me.volume, me.Error()
	}
	if w.vol.reported[key] == msg {
		return
	}
	w.vol.reported[key] = msg
	w.rt.Recorder.Event(pod, v1.EventTypeWarning, EventFailedMount, msg)
	log.G(ctx).WithError(err).Warn("Cannot set up pod volumes")
}
