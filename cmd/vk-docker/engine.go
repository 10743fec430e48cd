package main

import (
	"time"

	"github.com/docker/docker/api/types/system"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/lifecycle"
	"github.com/vk-docker/vk-docker/metrics"
	"github.com/vk-docker/vk-docker/provider"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// engineFlags are the flags about running pods on the engine, shared by a
// node and standalone mode.
type engineFlags struct {
	viaSandbox bool // --probe-network=sandbox
	dns        translate.DNSSettings
	security   translate.SecurityPolicy
}

func parseEngineFlags(o *options) (engineFlags, error) {
	var f engineFlags
	var err error
	if f.viaSandbox, err = o.probeViaSandbox(); err != nil {
		return f, err
	}
	if f.dns, err = o.dnsSettings(); err != nil {
		return f, err
	}
	if f.security, err = o.security.policy(); err != nil {
		return f, err
	}
	return f, nil
}

// engineProviderConfig is the provider configuration that comes from the
// flags and the engine alone, shared by a node and standalone mode; a node
// adds what comes from the API server. Allocatable is the whole host's
// until the node reports its own.
func engineProviderConfig(o *options, f engineFlags, docker dockerhost.Client, info system.Info) provider.Config {
	allocatable := provider.Allocatable(provider.HostCapacity(info), nil)
	starts := lifecycle.NewStartLimiter(o.maxParallelStarts, func(d time.Duration) { metrics.StartQueueWait.Observe(d.Seconds()) })
	metrics.SetStartQueue(starts)
	return provider.Config{Runtime: lifecycle.Runtime{
		Node: translate.Node{
			NodeName:       o.nodeName,
			PauseImage:     o.pauseImage,
			Network:        o.network,
			DNS:            f.dns,
			HostNamespaces: translate.HostNamespaces{Network: o.hostNetwork, PID: o.hostPID, IPC: o.hostIPC},
			Security:       f.security,
			HostPaths:      o.hostPaths,
			Allocatable:    func() v1.ResourceList { return allocatable },
		},
		Docker:           metrics.InstrumentEngine(docker),
		Starts:           starts,
		HostIP:           o.nodeIP,
		MessageDir:       o.terminationMessageDir(),
		ImagePullRecords: o.imagePullRecords(),
		ProbeViaSandbox:  f.viaSandbox,
	}}
}
