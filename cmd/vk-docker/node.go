package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/lifecycle"
	"github.com/vk-docker/vk-docker/podrefs"
	"github.com/vk-docker/vk-docker/provider"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// kubeletVersion is the Kubernetes version whose kubelet behaviour vk-docker
// follows; the node reports it with the vk-docker version appended.
const kubeletVersion = "v1.37.2"

func runNode(ctx context.Context, o *options) error {
	taints, err := parseTaints(o.taints)
	if err != nil {
		return err
	}
	apiHost, apiPort, err := parsePodAPIAddress(o.podAPIAddress)
	if err != nil {
		return err
	}
	port, err := listenPort(o.listenAddress)
	if err != nil {
		return err
	}
	viaSandbox, err := o.probeViaSandbox()
	if err != nil {
		return err
	}
	dns, err := o.dnsSettings()
	if err != nil {
		return err
	}
	security, err := o.security.policy()
	if err != nil {
		return err
	}
	if err := checkNodeLabels(o.nodeLabels); err != nil {
		return err
	}
	ctx = log.WithLogger(ctx, log.G(ctx).WithField("node", o.nodeName))

	restCfg, client, rotateClientCert, err := nodeClient(ctx, o)
	if err != nil {
		return err
	}

	docker, err := dockerhost.New(o.dockerHost)
	if err != nil {
		return err
	}
	defer docker.Close()
	info, err := docker.Info(ctx)
	if err != nil {
		return fmt.Errorf("docker engine at %q: %w", o.dockerHost, err)
	}
	ctx = log.WithLogger(ctx, log.G(ctx).WithField("host", info.Name))
	if err := dockerhost.EnsurePauseImage(ctx, docker, o.pauseImage); err != nil {
		return err
	}

	cert, selfSigned, err := servingCertificate(o.tlsCertFile, o.tlsKeyFile, o.nodeName, o.nodeIP)
	if err != nil {
		return err
	}
	serving := newServingCert(cert)
	if selfSigned && o.servingCSRWait <= 0 {
		log.G(ctx).Warn("Serving the kubelet API with a self-signed certificate (set --tls-cert-file, or --serving-cert-csr-wait to request one from the cluster)")
	}
	caPEM, err := clientCA(o.clientCAFile, restCfg)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("client CA holds no PEM certificate")
	}
	caContent, err := dynamiccertificates.NewStaticCAContent("client-ca", caPEM)
	if err != nil {
		return fmt.Errorf("client CA: %w", err)
	}
	// Anonymous requests are refused: a client proves who it is with a
	// certificate of the cluster CA or a token (TokenReview), and what it may
	// do is asked of the API server (SubjectAccessReview on nodes/proxy, ...).
	auth, err := nodeutil.WebhookAuth(client, o.nodeName, func(c *nodeutil.WebhookAuthConfig) error {
		c.AuthnConfig.ClientCertificateCAContentProvider = caContent
		return nil
	})
	if err != nil {
		return fmt.Errorf("kubelet API auth: %w", err)
	}

	broadcaster := record.NewBroadcaster()
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&corev1client.EventSinkImpl{Interface: client.CoreV1().Events(v1.NamespaceAll)})
	recorder := broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: o.nodeName})

	// The Secrets and ConfigMaps of the node's pods, read one by one.
	objects := podrefs.New(client)
	var p *provider.Provider
	var nodeStatus *provider.NodeStatus
	mux := http.NewServeMux()
	n, err := nodeutil.NewNode(o.nodeName,
		func(pc nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
			p, err = provider.New(provider.Config{
				Docker:           docker,
				NodeName:         o.nodeName,
				HostIP:           o.nodeIP,
				PauseImage:       o.pauseImage,
				Network:          o.network,
				PodAPIHost:       apiHost,
				PodAPIPort:       apiPort,
				Recorder:         recorder,
				Pods:             client.CoreV1(),
				MessageDir:       o.terminationMessageDir(),
				ImagePullRecords: o.imagePullRecords(),
				ProbeViaSandbox:  viaSandbox,
				DNS:              dns,
				HostNamespaces:   lifecycle.HostNamespaces{Network: o.hostNetwork, PID: o.hostPID, IPC: o.hostIPC},
				Security:         security,
				Secrets:          objects.Secrets(),
				ConfigMaps:       objects.ConfigMaps(),
				Services:         pc.Services,
				Allocatable: v1.ResourceList{
					v1.ResourceCPU:    *resource.NewQuantity(int64(info.NCPU), resource.DecimalSI),
					v1.ResourceMemory: *resource.NewQuantity(info.MemTotal, resource.BinarySI),
				},
				Kube:      client,
				HostPaths: o.hostPaths,
			})
			if err != nil {
				return nil, nil, err
			}
			describeNode(pc.Node, o, taints, info.NCPU, info.MemTotal, info.ServerVersion, info.KernelVersion, info.OperatingSystem, port)
			nodeStatus, err = provider.NewNodeStatus(provider.NodeStatusConfig{
				Docker:   docker,
				NodeName: o.nodeName,
				Interval: o.nodeStatusInterval,
			}, pc.Node)
			if err != nil {
				return nil, nil, err
			}
			return p, nodeStatus, nil
		},
		nodeutil.WithClient(nodeutilClient{client}),
		nodeutil.AttachProviderRoutes(mux),
		nodeutil.WithTLSConfig(func(c *tls.Config) error {
			c.GetCertificate = serving.GetCertificate
			c.ClientCAs = pool
			c.ClientAuth = tls.VerifyClientCertIfGiven
			return nil
		}),
		func(c *nodeutil.NodeConfig) error {
			c.HTTPListenAddr = o.listenAddress
			c.Handler = nodeutil.WithAuth(auth, provider.WithTailLinesZero(mux))
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
			c.SecretInformer = podControllerSecrets{c.SecretInformer, objects.Secrets()}
			c.ConfigMapInformer = podControllerConfigMaps{c.ConfigMapInformer, objects.ConfigMaps()}
			if err := objects.Track(c.PodInformer.Informer()); err != nil {
				return err
			}
			// A pod force-deleted from the API reaches DeletePod without the
			// grace period of its deletion; hand it over directly.
			_, err := c.PodInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
				DeleteFunc: func(obj any) {
					if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
						obj = d.Obj
					}
					if pod, ok := obj.(*v1.Pod); ok && p != nil {
						p.PodDeletedFromAPI(pod)
					}
				},
			})
			return err
		}),
	)
	if err != nil {
		return fmt.Errorf("create node %s: %w", o.nodeName, err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopIdentity := runIdentity(ctx, objects, rotateClientCert)
	defer stopIdentity()
	providerDone := make(chan error, 1)
	go func() { providerDone <- p.Run(ctx) }()
	if selfSigned && o.servingCSRWait > 0 {
		csrDone := make(chan struct{})
		go func() {
			defer close(csrDone)
			if requestServingCert(ctx, client, serving, o.nodeName, o.nodeIP, o.servingCSRWait) {
				if err := rotateServingCert(ctx, client, serving, o.nodeName, o.nodeIP, o.servingCSRWait); err != nil {
					log.G(ctx).WithError(err).Warn("The serving certificate will not be renewed")
				}
			}
		}()
		defer func() {
			cancel()
			<-csrDone
		}()
	}
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		nodeStatus.Run(ctx)
	}()
	defer func() {
		cancel()
		<-statusDone
	}()
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- n.Run(ctx) }()

	if err := n.WaitReady(ctx, 2*time.Minute); err != nil {
		cancel()
		<-providerDone
		return fmt.Errorf("node %s did not become ready: %w", o.nodeName, err)
	}
	log.G(ctx).WithField("listen", o.listenAddress).Info("Node ready")

	select {
	case err = <-nodeDone:
		cancel()
		<-providerDone
	case err = <-providerDone:
		cancel()
		<-nodeDone
	}
	if ctx.Err() != nil && err != nil {
		err = nil // shut down on a signal
	}
	// The termination message files go with their pods; what is left of the
	// node's directory goes with the node when it is empty (pods it still
	// runs keep theirs for the next run).
	if dir := o.terminationMessageDir(); dir != "" {
		if os.Remove(dir) == nil {
			_ = os.Remove(filepath.Dir(dir))
		}
	}
	return err
}

// describeNode fills in what the node reports about itself: the Docker host's
// capacity, addresses, the kubelet port, versions, taints and labels.
func describeNode(n *v1.Node, o *options, taints []v1.Taint, cpus int, memory int64, engineVersion, kernel, osImage string, port int32) {
	ownLabels(n.Labels)
	for k, v := range o.nodeLabels {
		n.Labels[k] = v
	}
	n.Labels["kubernetes.io/os"] = runtime.GOOS
	n.Labels["kubernetes.io/arch"] = runtime.GOARCH
	n.Labels["node.kubernetes.io/instance-type"] = "vk-docker"
	n.Spec.Taints = taints
	capacity := v1.ResourceList{
		v1.ResourceCPU:    *resource.NewQuantity(int64(cpus), resource.DecimalSI),
		v1.ResourceMemory: *resource.NewQuantity(memory, resource.BinarySI),
		v1.ResourcePods:   *resource.NewQuantity(int64(o.maxPods), resource.DecimalSI),
	}
	n.Status.Capacity = capacity
	n.Status.Allocatable = capacity.DeepCopy()
	n.Status.Addresses = []v1.NodeAddress{
		{Type: v1.NodeInternalIP, Address: o.nodeIP},
		{Type: v1.NodeHostName, Address: o.nodeName},
	}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
	n.Status.NodeInfo = v1.NodeSystemInfo{
		KubeletVersion:          kubeletVersion + "-vk-docker-" + version,
		ContainerRuntimeVersion: "docker://" + engineVersion,
		KernelVersion:           kernel,
		OSImage:                 osImage,
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
