package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"github.com/docker/docker/api/types/system"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	"github.com/vk-docker/vk-docker/hostpool"
	"github.com/vk-docker/vk-docker/podrefs"
	"github.com/vk-docker/vk-docker/provider"
	"golang.org/x/time/rate"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// nodeDeps is what the node and its provider are built from.
type nodeDeps struct {
	client   kubernetes.Interface
	pool     *hostpool.Pool
	info     system.Info // the first answering host's
	recorder record.EventRecorder
	api      kubeletAPI
	static   *staticPods // nil without --pod-manifest-path
}

// nodeParts are the provider pieces virtual-kubelet's node drives; they
// exist once newNode has returned.
type nodeParts struct {
	provider *provider.Provider
	status   *provider.NodeStatus
	// objects reads the Secrets and ConfigMaps of the node's pods.
	objects *podrefs.Manager
	// podsSynced reports once the pod informer holds the node's pods.
	podsSynced func() bool
	// rotateClientCert renews the node's client certificate (TLS
	// bootstrap); nil with a given kubeconfig.
	rotateClientCert func(context.Context) error
}

// newNode builds the virtual-kubelet node: its provider and node status
// (made by nodeutil once the informers exist), the kubelet API on
// --listen-address, and the pod controller's settings.
func newNode(o *options, flags nodeFlags, d nodeDeps) (*nodeutil.Node, *nodeParts, error) {
	parts := &nodeParts{objects: podrefs.New(d.client)}
	mux := http.NewServeMux()
	handleMetrics(mux)
	quietDefaultClient(o.kubeconfig)
	n, err := nodeutil.NewNode(o.nodeName,
		func(pc nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
			p, err := provider.New(providerConfig(o, flags, d, pc, parts))
			if err != nil {
				return nil, nil, err
			}
			parts.provider = p
			describeNode(pc.Node, o, flags.taints, d.info, provider.PoolCapacity(d.pool), flags.port)
			status, err := provider.NewNodeStatus(provider.NodeStatusConfig{
				Pool:     d.pool,
				Recorder: d.recorder,
				NodeName: o.nodeName,
				Interval: o.nodeStatusInterval,
			}, pc.Node)
			if err != nil {
				return nil, nil, err
			}
			parts.status = status
			return p, status, nil
		},
		nodeutil.WithClient(nodeutilClient{d.client}),
		nodeutil.AttachProviderRoutes(mux),
		nodeutil.WithTLSConfig(func(c *tls.Config) error {
			c.GetCertificate = d.api.serving.GetCertificate
			c.ClientCAs = d.api.clientCAs
			c.ClientAuth = tls.VerifyClientCertIfGiven
			return nil
		}),
		func(c *nodeutil.NodeConfig) error {
			c.EventRecorder = podControllerEvents{d.recorder}
			c.HTTPListenAddr = o.listenAddress
			c.Handler = nodeutil.WithAuth(d.api.auth, provider.WithTailLinesZero(mux))
			c.NumWorkers = max(runtime.NumCPU(), 4)
			// api.PodHandler hands these two to port-forward in swapped order;
			// equal values keep every stream kind right.
			c.StreamIdleTimeout = 5 * time.Minute
			c.StreamCreationTimeout = 5 * time.Minute
			return nil
		},
		nodeutil.WithPodControllerConfigOverrides(func(c *node.PodControllerConfig) error {
			// The provider resolves environments itself when each container
			// starts, once the pod IP is known (lifecycle/env.go).
			c.SkipDownwardAPIResolution = true
			c.SyncPodsFromKubernetesRateLimiter = podQueueRateLimiter()
			c.DeletePodsFromKubernetesRateLimiter = podQueueRateLimiter()
			c.SyncPodStatusFromProviderRateLimiter = podQueueRateLimiter()
			c.SecretInformer = podControllerSecrets{c.SecretInformer, parts.objects.Secrets()}
			c.ConfigMapInformer = podControllerConfigMaps{c.ConfigMapInformer, parts.objects.ConfigMaps()}
			parts.podsSynced = c.PodInformer.Informer().HasSynced
			if err := parts.objects.Track(c.PodInformer.Informer()); err != nil {
				return err
			}
			// A pod force-deleted from the API reaches DeletePod without the
			// grace period of its deletion; hand it over directly. A change
			// of the conditions others own reaches no provider call at all.
			_, err := c.PodInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
				UpdateFunc: func(oldObj, newObj any) {
					old, ok1 := oldObj.(*v1.Pod)
					pod, ok2 := newObj.(*v1.Pod)
					if ok1 && ok2 && parts.provider != nil {
						parts.provider.PodStatusChangedInAPI(old, pod)
					}
				},
				DeleteFunc: func(obj any) {
					if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
						obj = d.Obj
					}
					if pod, ok := obj.(*v1.Pod); ok && parts.provider != nil {
						parts.provider.PodDeletedFromAPI(pod)
					}
				},
			})
			return err
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("create node %s: %w", o.nodeName, err)
	}
	return n, parts, nil
}

// providerConfig is the provider's configuration from the flags, the
// clients and the informers nodeutil made.
func providerConfig(o *options, flags nodeFlags, d nodeDeps, pc nodeutil.ProviderConfig, parts *nodeParts) provider.Config {
	cfg := engineProviderConfig(o, flags.engineFlags, d.pool)
	cfg.PodAPIHost, cfg.PodAPIPort = flags.apiHost, flags.apiPort
	// The Secrets and ConfigMaps of the node's pods, read one by one.
	cfg.Secrets, cfg.ConfigMaps, cfg.Services = parts.objects.Secrets(), parts.objects.ConfigMaps(), pc.Services
	hostAllocatable := cfg.Allocatable
	// Read when a container starts, once the node reports its status.
	cfg.Allocatable = func() v1.ResourceList {
		if parts.status == nil {
			return hostAllocatable()
		}
		return parts.status.Allocatable()
	}
	// The node's admission reads the node as it reports itself.
	cfg.Node = func() *v1.Node {
		if parts.status == nil {
			return nil
		}
		return parts.status.Node()
	}
	cfg.APIPods = pc.Pods
	cfg.APIPodsSynced = func() bool { return parts.podsSynced != nil && parts.podsSynced() }
	cfg.Recorder = d.recorder
	cfg.Kube = d.client
	cfg.Pods = d.client.CoreV1()
	cfg.ResyncMirrors = d.static.resyncMirrors
	return cfg
}

// describeNode fills in what the node reports about itself: the Docker hosts'
// capacity, addresses, the kubelet port, versions, taints and labels.
func describeNode(n *v1.Node, o *options, taints []v1.Taint, info system.Info, capacity v1.ResourceList, port int32) {
	ownLabels(n.Labels)
	for k, v := range o.nodeLabels {
		n.Labels[k] = v
	}
	n.Labels["kubernetes.io/os"] = runtime.GOOS
	n.Labels["kubernetes.io/arch"] = runtime.GOARCH
	n.Labels["node.kubernetes.io/instance-type"] = "vk-docker"
	n.Spec.Taints = taints
	capacity = capacity.DeepCopy()
	capacity[v1.ResourcePods] = *resource.NewQuantity(int64(o.maxPods), resource.DecimalSI)
	n.Status.Capacity = capacity
	// Until the first refresh counts the other nodes' pods on the host.
	n.Status.Allocatable = provider.Allocatable(capacity, nil)
	n.Status.Addresses = []v1.NodeAddress{
		{Type: v1.NodeInternalIP, Address: o.nodeIP},
		{Type: v1.NodeHostName, Address: o.nodeName},
	}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
	n.Status.NodeInfo = v1.NodeSystemInfo{
		KubeletVersion:          kubeletVersion + "-vk-docker-" + version,
		ContainerRuntimeVersion: "docker://" + info.ServerVersion,
		KernelVersion:           info.KernelVersion,
		OSImage:                 info.OperatingSystem,
		OperatingSystem:         runtime.GOOS,
		Architecture:            runtime.GOARCH,
	}
	now := metav1.Now()
	n.Status.Conditions = []v1.NodeCondition{
		{Type: v1.NodeReady, Status: v1.ConditionFalse, Reason: "KubeletNotReady", Message: "vk-docker is starting", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: v1.NodePIDPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available", LastHeartbeatTime: now, LastTransitionTime: now},
	}
}

// podQueueRateLimiter is the pod controller queues' rate limiter: client-go's
// default per-item back-off for retries, but a much larger overall bucket
// than its 10 per second. With that one, a restarted node with 200 pods
// handed the last 100 of them to the provider over 10 s, and their
// statuses came that late; a kubelet does not hold its pod syncs back. The
// API client's own QPS still bounds the calls made to the API server.
func podQueueRateLimiter() workqueue.TypedRateLimiter[any] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[any](5*time.Millisecond, 1000*time.Second),
		&workqueue.TypedBucketRateLimiter[any]{Limiter: rate.NewLimiter(rate.Limit(500), 1000)},
	)
}
