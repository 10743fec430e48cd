package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/test/e2e/framework"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// dockerSteps names the engine calls of one baseline "pod", in order.
var dockerSteps = []string{"sandbox create", "sandbox start", "sandbox inspect", "app create", "app start"}

// dockerResults are the baseline's samples.
type dockerResults struct {
	concurrency int
	// unfinished: the engine did not do the burst at this concurrency
	// within the phase's timeout (this is the error); the sweep's other
	// points give the baseline.
	unfinished error
	started    []time.Duration // first call -> app container started
	// fromBurst is each pod's time from the burst's start (every pod asked
	// for at once) to its app container started: create -> Running's
	// counterpart.
	fromBurst []time.Duration
	steps     map[string][]time.Duration // per engine call
	wall      time.Duration              // first create -> last app started
	removed   []time.Duration            // force-remove of app + sandbox
}

// baselinePod is one fake pod of the baseline.
type baselinePod struct {
	name, uid        string
	sandboxID, appID string
	steps            []time.Duration
	started, removed time.Duration
	done             time.Time // app container started
}

// runDocker does for o.pods fake pods, o.concurrency at a time, what the
// provider does on the engine for a one-container pod (lifecycle/sandbox.go,
// lifecycle/container_start.go): create, start and inspect a pause sandbox,
// then create and start the app container in its network and IPC
// namespaces. Everything is labelled with owner as the node, then removed,
// and the engine is checked to hold nothing of owner.
func runDocker(ctx context.Context, env *framework.Env, owner string, o options) (*dockerResults, error) {
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	pods := make([]*baselinePod, o.pods)
	for i := range pods {
		pods[i] = &baselinePod{name: fmt.Sprintf("bench-%03d", i), uid: string(uuid.NewUUID())}
	}

	start := time.Now()
	errs := forEach(dctx, pods, o.concurrency, func(ctx context.Context, p *baselinePod) error {
		return p.start(ctx, env, owner)
	})
	wall := time.Since(start)
	if err := joinErrors(errs); err != nil {
		return nil, err
	}

	// Remove: app container first, then the sandbox it is joined to.
	errs = forEach(dctx, pods, o.concurrency, func(ctx context.Context, p *baselinePod) error {
		t := time.Now()
		for _, id := range []string{p.appID, p.sandboxID} {
			if err := env.Docker.ContainerRemove(ctx, id); err != nil && !errdefs.IsNotFound(err) {
				return fmt.Errorf("remove %s of %s: %w", id, p.name, err)
			}
		}
		p.removed = time.Since(t)
		return nil
	})
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	left, err := listOwned(dctx, env.Docker, owner)
	if err != nil {
		return nil, err
	}
	if len(left) > 0 {
		return nil, leftoverError(owner, left)
	}

	res := &dockerResults{steps: map[string][]time.Duration{}, wall: wall}
	for _, p := range pods {
		res.started = append(res.started, p.started)
		res.fromBurst = append(res.fromBurst, p.done.Sub(start))
		res.removed = append(res.removed, p.removed)
		for i, d := range p.steps {
			res.steps[dockerSteps[i]] = append(res.steps[dockerSteps[i]], d)
		}
	}
	return res, nil
}

// start creates and starts the fake pod's sandbox and app container, timing
// each call.
func (p *baselinePod) start(ctx context.Context, env *framework.Env, owner string) error {
	labels := func(container, dockerType string) map[string]string {
		return map[string]string{
			dockerhost.LabelNode:                   owner,
			dockerhost.LabelPodName:                p.name,
			dockerhost.LabelPodNamespace:           owner,
			dockerhost.LabelPodUID:                 p.uid,
			dockerhost.LabelTerminationGracePeriod: "1",
			dockerhost.LabelContainerName:          container,
			dockerhost.LabelDockerType:             dockerType,
		}
	}
	name := func(container string) string {
		return dockerhost.ContainerName{Container: container, Pod: p.name, Namespace: owner, UID: p.uid}.String()
	}
	t0 := time.Now()
	last := t0
	step := func() {
		now := time.Now()
		p.steps = append(p.steps, now.Sub(last))
		last = now
	}

	sb, err := env.Docker.ContainerCreate(ctx,
		&container.Config{Image: env.PauseImage(), Hostname: p.name, Labels: labels(dockerhost.SandboxContainerName, dockerhost.DockerTypeSandbox)},
		&container.HostConfig{NetworkMode: "bridge", IpcMode: container.IPCModeShareable, DNS: []string{"127.0.0.1"}},
		nil, name(dockerhost.SandboxContainerName))
	if err != nil {
		return fmt.Errorf("create sandbox of %s: %w", p.name, err)
	}
	p.sandboxID = sb.ID
	step()
	if err := env.Docker.ContainerStart(ctx, sb.ID); err != nil {
		return fmt.Errorf("start sandbox of %s: %w", p.name, err)
	}
	step()
	in, err := env.Docker.ContainerInspect(ctx, sb.ID)
	if err != nil {
		return fmt.Errorf("inspect sandbox of %s: %w", p.name, err)
	}
	if in.State == nil || !in.State.Running {
		return fmt.Errorf("sandbox of %s is not running after start", p.name)
	}
	step()

	appLabels := labels("sleep", dockerhost.DockerTypeContainer)
	appLabels[dockerhost.LabelContainerKind] = dockerhost.KindApp
	app, err := env.Docker.ContainerCreate(ctx,
		&container.Config{Image: env.BusyboxImage(), Entrypoint: []string{"sleep", "3600"}, Labels: appLabels},
		&container.HostConfig{NetworkMode: container.NetworkMode("container:" + sb.ID), IpcMode: container.IpcMode("container:" + sb.ID)},
		nil, name("sleep"))
	if err != nil {
		return fmt.Errorf("create app container of %s: %w", p.name, err)
	}
	p.appID = app.ID
	step()
	if err := env.Docker.ContainerStart(ctx, app.ID); err != nil {
		return fmt.Errorf("start app container of %s: %w", p.name, err)
	}
	step()
	p.started = last.Sub(t0)
	p.done = last
	return nil
}

// forEach runs fn for every item, at most concurrency at a time, and returns
// fn's errors (or the context's, for items never started).
func forEach[T any](ctx context.Context, items []T, concurrency int, fn func(context.Context, T) error) []error {
	errs := make([]error, len(items))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			errs[i] = fn(ctx, it)
		}()
	}
	wg.Wait()
	return errs
}

// listOwned names the containers labelled with owner as their node.
func listOwned(ctx context.Context, d dockerhost.Client, owner string) ([]string, error) {
	cs, err := d.ContainerList(ctx, dockerhost.NodeSelector(owner))
	if err != nil {
		return nil, fmt.Errorf("list containers of %s: %w", owner, err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, strings.TrimPrefix(strings.Join(c.Names, ","), "/"))
	}
	sort.Strings(names)
	return names, nil
}

// removeAll force-removes whatever is labelled with owner (the safety net of
// failed runs) and returns what was there.
func removeAll(ctx context.Context, d dockerhost.Client, owner string) ([]string, error) {
	cs, err := d.ContainerList(ctx, dockerhost.NodeSelector(owner))
	if err != nil {
		return nil, fmt.Errorf("list containers of %s: %w", owner, err)
	}
	var names []string
	var errs []error
	// Joined containers before their sandboxes.
	sort.SliceStable(cs, func(i, j int) bool {
		return cs[i].Labels[dockerhost.LabelDockerType] != dockerhost.DockerTypeSandbox &&
			cs[j].Labels[dockerhost.LabelDockerType] == dockerhost.DockerTypeSandbox
	})
	for _, c := range cs {
		names = append(names, strings.TrimPrefix(strings.Join(c.Names, ","), "/"))
		if err := d.ContainerRemove(ctx, c.ID); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return names, errors.Join(errs...)
}
