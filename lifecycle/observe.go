package lifecycle

import (
	"context"
	"fmt"
	"sort"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
)

// instance is one Docker container of a pod: one attempt of one container.
type instance struct {
	name    dockerhost.ContainerName
	inspect container.InspectResponse
}

func (i *instance) id() string    { return i.inspect.ID }
func (i *instance) running() bool { return i.inspect.State != nil && i.inspect.State.Running }
func (i *instance) created() bool {
	return i.inspect.State != nil && i.inspect.State.Status == "created"
}
func (i *instance) exited() bool {
	return i.inspect.State != nil && !i.inspect.State.Running && !i.created()
}

// startFailed: the engine created the container but could not start it (a
// missing executable...); a kubelet on Docker (dockershim, cri-dockerd)
// reports that as terminated, ContainerCannotRun, with the engine's exit code.
func (i *instance) startFailed() bool { return i.created() && i.inspect.State.Error != "" }

// joinedTo reports whether the instance shares sb's namespaces.
func (i *instance) joinedTo(sb *instance) bool {
	return i.inspect.HostConfig == nil || string(i.inspect.HostConfig.NetworkMode) == "container:"+sb.id()
}

// finished: the instance will not run again.
func (i *instance) finished() bool { return i.exited() || i.startFailed() }

// exitCode of a finished instance; 128 for one that never started when the
// engine recorded none.
func (i *instance) exitCode() int {
	if i.startFailed() && i.inspect.State.ExitCode == 0 {
		return 128
	}
	return i.inspect.State.ExitCode
}

// finishedAt is when the instance stopped, or was created if it never ran.
func (i *instance) finishedAt() time.Time {
	if t := dockerTime(i.inspect.State.FinishedAt); !t.IsZero() {
		return t.Time
	}
	return dockerTime(i.inspect.Created).Time
}
func (i *instance) label(k string) string {
	if i.inspect.Config == nil {
		return ""
	}
	return i.inspect.Config.Labels[k]
}

// observation is what the engine holds for one pod right now.
type observation struct {
	// sandbox is the newest sandbox attempt, nil when there is none.
	sandbox *instance
	// containers maps a container name to its attempts, newest first.
	containers map[string][]*instance
	// all lists every container of the pod, sandboxes included.
	all []*instance
}

func (o *observation) latest(name string) *instance {
	if l := o.containers[name]; len(l) > 0 {
		return l[0]
	}
	return nil
}

// observe lists and inspects the pod's containers on the engine. Only the
// newest two attempts of each container are inspected: the status needs the
// current one and the last terminated one.
func observe(ctx context.Context, d dockerhost.Client, node, uid string) (*observation, error) {
	list, err := d.ContainerList(ctx, dockerhost.NodeSelector(node), dockerhost.PodSelector(uid))
	if err != nil {
		return nil, fmt.Errorf("list containers of pod %s: %w", uid, err)
	}
	type entry struct {
		name dockerhost.ContainerName
		id   string
	}
	byName := map[string][]entry{}
	for _, s := range list {
		if len(s.Names) == 0 || !dockerhost.IsManaged(s.Labels, node) {
			continue
		}
		n, err := dockerhost.ParseContainerName(s.Names[0])
		if err != nil || n.UID != uid {
			continue
		}
		byName[n.Container] = append(byName[n.Container], entry{n, s.ID})
	}
	o := &observation{containers: map[string][]*instance{}}
	for cname, entries := range byName {
		sort.Slice(entries, func(i, j int) bool { return entries[i].name.Attempt > entries[j].name.Attempt })
		for i, e := range entries {
			inst := &instance{name: e.name}
			if i < 2 {
				in, err := d.ContainerInspect(ctx, e.id)
				if cerrdefs.IsNotFound(err) {
					continue // removed between list and inspect
				}
				if err != nil {
					return nil, fmt.Errorf("inspect container %s: %w", e.name, err)
				}
				inst.inspect = in
			} else {
				inst.inspect.ContainerJSONBase = &container.ContainerJSONBase{ID: e.id}
			}
			o.all = append(o.all, inst)
			if cname == dockerhost.SandboxContainerName {
				if o.sandbox == nil {
					o.sandbox = inst
				}
				continue
			}
			o.containers[cname] = append(o.containers[cname], inst)
		}
	}
	return o, nil
}
