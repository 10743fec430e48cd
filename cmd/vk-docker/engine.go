package main

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/system"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/lifecycle"
	"github.com/vk-docker/vk-docker/provider"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// openEngine connects to the Docker engine and makes sure the pause image
// is there; the caller closes the client.
func openEngine(ctx context.Context, o *options) (dockerhost.Client, system.Info, error) {
	docker, err := dockerhost.New(o.dockerHost)
	if err != nil {
		return nil, system.Info{}, err
	}
	info, err := docker.Info(ctx)
	if err != nil {
		docker.Close()
		return nil, info, fmt.Errorf("docker engine at %q: %w", o.dockerHost, err)
	}
	if err := dockerhost.EnsurePauseImage(ctx, docker, o.pauseImage); err != nil {
		docker.Close()
		return nil, info, err
	}
	return docker, info, nil
}

// engineProviderConfig is the provider configuration that comes from the
// flags and the engine alone, shared by a node and standalone mode.
func (o *options) engineProviderConfig(docker dockerhost.Client, info system.Info) (provider.Config, error) {
	dns, err := o.dnsSettings()
	if err != nil {
		return provider.Config{}, err
	}
	security, err := o.security.policy()
	if err != nil {
		return provider.Config{}, err
	}
	viaSandbox, err := o.probeViaSandbox()
	if err != nil {
		return provider.Config{}, err
	}
	return provider.Config{
		Docker:           docker,
		NodeName:         o.nodeName,
		HostIP:           o.nodeIP,
		PauseImage:       o.pauseImage,
		Network:          o.network,
		MessageDir:       o.terminationMessageDir(),
		ImagePullRecords: o.imagePullRecords(),
		ProbeViaSandbox:  viaSandbox,
		DNS:              dns,
		HostNamespaces:   lifecycle.HostNamespaces{Network: o.hostNetwork, PID: o.hostPID, IPC: o.hostIPC},
		Security:         security,
		HostPaths:        o.hostPaths,
		Allocatable: v1.ResourceList{
			v1.ResourceCPU:    *resource.NewQuantity(int64(info.NCPU), resource.DecimalSI),
			v1.ResourceMemory: *resource.NewQuantity(info.MemTotal, resource.BinarySI),
		},
	}, nil
}
