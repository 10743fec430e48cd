package provider

import (
	"context"
	"fmt"
	"sort"

	"github.com/docker/docker/api/types/container"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
)

// findContainer returns the newest instance of a pod's container, or the one
// before it when previous is set (kubectl logs --previous), and the engine
// that holds it.
func (p *Provider) findContainer(ctx context.Context, namespace, podName, containerName string, previous bool) (container.Summary, dockerhost.Client, error) {
	p.mu.Lock()
	w := p.byNameLocked(namespace, podName)
	p.mu.Unlock()
	if w == nil {
		return container.Summary{}, nil, errdefs.NotFoundf("pod %s/%s is not on node %s", namespace, podName, p.cfg.NodeName)
	}
	pod := w.Pod()
	if pod == nil {
		return container.Summary{}, nil, errdefs.NotFoundf("pod %s/%s is not on node %s", namespace, podName, p.cfg.NodeName)
	}
	docker := p.dockerOf(pod.UID)
	list, err := docker.ContainerList(ctx,
		dockerhost.NodeSelector(p.cfg.NodeName),
		dockerhost.PodSelector(string(pod.UID)),
		dockerhost.LabelContainerName+"="+containerName)
	if err != nil {
		return container.Summary{}, nil, fmt.Errorf("list containers of %s/%s: %w", namespace, podName, err)
	}
	type attempt struct {
		n int
		c container.Summary
	}
	var attempts []attempt
	for _, c := range list {
		if len(c.Names) == 0 {
			continue
		}
		name, err := dockerhost.ParseContainerName(c.Names[0])
		if err != nil || name.Container != containerName || name.Container == dockerhost.SandboxContainerName {
			continue
		}
		attempts = append(attempts, attempt{name.Attempt, c})
	}
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].n > attempts[j].n })
	i := 0
	if previous {
		i = 1
	}
	if len(attempts) <= i {
		if previous {
			return container.Summary{}, nil, errdefs.InvalidInputf("previous terminated container %q in pod %q not found", containerName, podName)
		}
		return container.Summary{}, nil, errdefs.NotFoundf("container %q in pod %q is not available", containerName, podName)
	}
	return attempts[i].c, docker, nil
}

// runningContainer returns the running instance of a pod's container (exec,
// attach) and ctx with a logger naming it.
func (p *Provider) runningContainer(ctx context.Context, namespace, podName, containerName string) (context.Context, container.Summary, dockerhost.Client, error) {
	c, docker, err := p.findContainer(ctx, namespace, podName, containerName, false)
	if err != nil {
		return ctx, c, nil, err
	}
	if c.State != "running" {
		return ctx, c, nil, errdefs.InvalidInputf("container %q in pod %q is not running", containerName, podName)
	}
	return log.WithLogger(ctx, log.G(ctx).WithFields(log.Fields{"namespace": namespace, "pod": podName, "container": containerName, "containerID": c.ID})), c, docker, nil
}
