package main

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/system"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/hostpool"
	"github.com/vk-docker/vk-docker/lifecycle"
	"github.com/vk-docker/vk-docker/metrics"
	"github.com/vk-docker/vk-docker/provider"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// engineFlags are the flags about running pods on the engine, shared by a
// node and standalone mode.
type engineFlags struct {
	hosts    []hostpool.Spec // --docker-host, --docker-cert-path
	dns      translate.DNSSettings
	security translate.SecurityPolicy
}

func parseEngineFlags(o *options) (engineFlags, error) {
	var f engineFlags
	var err error
	if err = o.checkProbeNetwork(); err != nil {
		return f, err
	}
	if err = o.checkExecProbes(); err != nil {
		return f, err
	}
	if f.hosts, err = o.hostSpecs(); err != nil {
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
// flags and the engines alone, shared by a node and standalone mode; a node
// adds what comes from the API server. Allocatable is the hosts' until the
// node reports its own.
func engineProviderConfig(o *options, f engineFlags, pool *hostpool.Pool) provider.Config {
	allocatable := provider.Allocatable(provider.PoolCapacity(pool), nil)
	hosts := pool.Hosts()
	index := make(map[*hostpool.Host]int, len(hosts))
	for i, h := range hosts {
		index[h] = i
		// Every engine call, health checks included, is timed in /metrics.
		h.Docker = metrics.InstrumentEngine(h.Docker)
	}
	// One start queue for the node: a burst waits here, where its pods'
	// status says so, not in the engines.
	starts := lifecycle.NewStartLimiter(o.maxParallelStarts, func(d time.Duration) { metrics.StartQueueWait.Observe(d.Seconds()) })
	metrics.SetStartQueue(starts)
	return provider.Config{
		Runtime: lifecycle.Runtime{
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
			Docker:           hosts[0].Docker,
			Starts:           starts,
			HostIP:           o.nodeIP,
			MessageDir:       o.hostMessageDir(hosts[0].Spec),
			ImagePullRecords: o.imagePullRecords(),
			ProbeViaSandbox:  o.probeViaSandbox(hosts[0].Spec),
			ExecProbesPlain:  o.execProbes == "exec",
		},
		Pool:            pool,
		HostLostTimeout: o.hostLostTimeout,
		ReapInterval:    o.reapInterval,
		ReapMinAge:      o.reapMinAge,
		HostSettings: func(h *hostpool.Host) provider.HostSettings {
			ip := h.Address()
			if ip == "" {
				ip = o.nodeIP
			}
			return provider.HostSettings{
				HostIP:           ip,
				ProbeViaSandbox:  o.probeViaSandbox(h.Spec),
				MessageDir:       o.hostMessageDir(h.Spec),
				ImagePullRecords: o.hostImagePullRecords(index[h]),
			}
		},
	}
}

// connectHosts connects to the Docker hosts and makes sure the pause image
// is on each that answers (one that does not gets it when it comes back).
// It returns the first answering host's Info, which describes the node.
// The caller closes the pool.
func connectHosts(ctx context.Context, o *options, specs []hostpool.Spec) (*hostpool.Pool, system.Info, error) {
	pool, err := hostpool.Dial(ctx, nil, specs)
	if err != nil {
		return nil, system.Info{}, err
	}
	var first *system.Info
	for _, h := range pool.Hosts() {
		st := h.Health()
		if !st.Healthy {
			log.G(ctx).WithError(st.Err).WithField("host", h.URL).Warn("Docker host not answering; pods go to the others until it does")
			continue
		}
		if first == nil {
			first = &st.Info
		}
		hctx := log.WithLogger(ctx, log.G(ctx).WithField("host", h.URL))
		if err := dockerhost.EnsurePauseImage(hctx, h.Docker, o.pauseImage); err != nil {
			_ = pool.Close()
			return nil, system.Info{}, fmt.Errorf("docker host %s: %w", h.URL, err)
		}
	}
	return pool, *first, nil
}
