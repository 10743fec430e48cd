package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/hostpool"
	"github.com/vk-docker/vk-docker/provider"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// defaultMaxParallelStarts is --max-parallel-starts' default.
const defaultMaxParallelStarts = 4

// defaultTaint keeps ordinary pods off the virtual node unless they tolerate it.
const defaultTaint = "virtual-kubelet.io/provider=docker:NoSchedule"

type options struct {
	kubeconfig          string
	bootstrapKubeconfig string
	certDir             string
	nodeName            string
	dockerHosts         []string
	dockerCertPaths     []string
	pauseImage          string
	network             string
	nodeIP              string
	listenAddress       string
	healthAddress       string
	tlsCertFile         string
	tlsKeyFile          string
	clientCAFile        string
	taints              []string
	nodeLabels          map[string]string
	podAPIAddress       string
	maxPods             int
	maxParallelStarts   int
	logLevel            string
	messageDir          string
	pullRecords         string
	probeNetwork        string
	execProbes          string
	clusterDNS          []string
	clusterDomain       string
	resolvConf          string
	hostNetwork         bool
	hostPID             bool
	hostIPC             bool
	security            securityOptions
	hostPaths           []string
	manifestPath        string

	nodeStatusInterval time.Duration
	hostLostTimeout    time.Duration
	servingCSRWait     time.Duration
	reapInterval       time.Duration
	reapMinAge         time.Duration
}

func defaultOptions() *options {
	return &options{
		kubeconfig:    os.Getenv("KUBECONFIG"),
		nodeName:      "vk-docker",
		pauseImage:    dockerhost.DefaultPauseImageRepo + ":" + version,
		network:       "bridge",
		nodeIP:        "127.0.0.1",
		listenAddress: ":10250",
		taints:        []string{defaultTaint},
		maxPods:       110,
		// Measured with make bench (README, Speed): on a 2-core host the
		// engine runs a burst of pods fastest with about this many
		// sandbox/container starts at once.
		maxParallelStarts: defaultMaxParallelStarts,
		logLevel:          "info",
		probeNetwork:      "auto",
		execProbes:        "shell",

		nodeStatusInterval: 10 * time.Second,
		reapInterval:       time.Minute,
		reapMinAge:         provider.DefaultReapMinAge,
		hostLostTimeout:    5 * time.Minute,
	}
}

func (o *options) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.kubeconfig, "kubeconfig", o.kubeconfig, "kubeconfig of the cluster to join (default $KUBECONFIG); with --bootstrap-kubeconfig, where the node's own kubeconfig is written")
	f.StringVar(&o.bootstrapKubeconfig, "bootstrap-kubeconfig", "", "kubeconfig holding a bootstrap token: when --kubeconfig is missing or its client certificate expired, the node requests a kubernetes.io/kube-apiserver-client-kubelet certificate for system:node:<nodename> with it, writes it to --cert-dir and --kubeconfig, and renews it before it expires (the kubelet's TLS bootstrap)")
	f.StringVar(&o.certDir, "cert-dir", "", "directory of the node's client certificate with --bootstrap-kubeconfig (default /var/lib/vk-docker/<nodename>/pki)")
	f.StringVar(&o.nodeName, "nodename", o.nodeName, "name of the virtual node; it also labels every container the node creates")
	f.StringArrayVar(&o.dockerHosts, "docker-host", nil, "Docker engine address, unix:///path or tcp://host:port; repeat it for a node that fronts several Docker hosts, each pod running wholly on one (default: $DOCKER_HOST with $DOCKER_TLS_VERIFY and $DOCKER_CERT_PATH as the docker CLI reads them, or the local socket)")
	f.StringArrayVar(&o.dockerCertPaths, "docker-cert-path", nil, "URL=DIR: reach the tcp:// --docker-host URL over TLS with DIR's ca.pem (verifies the engine), cert.pem and key.pem (the client's certificate), the layout of DOCKER_CERT_PATH; repeatable")
	f.StringVar(&o.pauseImage, "pause-image", o.pauseImage, "sandbox image; it must hold vk-docker's /pause program, through which volume content, emptyDir modes, subPaths and in-sandbox probes go (the default is built from it when missing)")
	f.StringVar(&o.network, "docker-network", o.network, "Docker network pod sandboxes join")
	f.StringVar(&o.nodeIP, "node-ip", o.nodeIP, "InternalIP of the node: the address the API server dials for logs and exec")
	f.StringVar(&o.listenAddress, "listen-address", o.listenAddress, "address of the kubelet API (TLS)")
	f.StringVar(&o.healthAddress, "health-address", o.healthAddress, "address of the unauthenticated plain-HTTP /healthz endpoint (503 while starting, 200 once the node is Ready), like the kubelet's healthz port (e.g. 127.0.0.1:10248); empty (the default) for none, since several nodes may run on one machine")
	f.StringVar(&o.tlsCertFile, "tls-cert-file", "", "serving certificate of the kubelet API (default: a self-signed one)")
	f.DurationVar(&o.servingCSRWait, "serving-cert-csr-wait", 0, "without --tls-cert-file: request the serving certificate with a kubernetes.io/kubelet-serving CSR and wait this long for an admin to approve it, serving a self-signed one meanwhile and afterwards if it is not issued (0: no CSR, self-signed)")
	f.StringVar(&o.tlsKeyFile, "tls-private-key-file", "", "key of --tls-cert-file")
	f.StringVar(&o.clientCAFile, "client-ca-file", "", "CA that signs client certificates of the kubelet API (default: the kubeconfig's cluster CA)")
	f.StringArrayVar(&o.taints, "taint", o.taints, "taint of the node as key[=value]:Effect, repeatable; \"none\" for no taint")
	f.StringToStringVar(&o.nodeLabels, "node-labels", nil, "extra labels of the node (k=v,...)")
	f.StringVar(&o.podAPIAddress, "pod-api-address", "", "host:port of the API server as pods can reach it; replaces the kubernetes Service env vars in containers")
	f.IntVar(&o.maxPods, "max-pods", o.maxPods, "pods capacity of the node")
	f.IntVar(&o.maxParallelStarts, "max-parallel-starts", o.maxParallelStarts, "how many sandbox and container starts run on the engine at once; more wait in vk-docker, pods in the order they arrived (0: no limit)")
	f.StringVar(&o.logLevel, "log-level", o.logLevel, "log level (debug, info, warn, error)")
	f.StringVar(&o.probeNetwork, "probe-network", o.probeNetwork, "where tcpSocket/httpGet/grpc probes and httpGet hooks connect from: direct (the provider's network), sandbox (inside the pod, through its pause container), auto (direct with a local engine, sandbox with a remote one)")
	f.StringVar(&o.execProbes, "exec-probes", o.execProbes, "how exec probes run: shell (through one long-lived shell per container and probe, started with docker exec: the engine's cost of a probe falls from a runc exec to a fork; containers without sh fall back to exec) or exec (one docker exec per probe, as the kubelet)")
	f.StringSliceVar(&o.clusterDNS, "cluster-dns", nil, "IPs of the cluster DNS servers for ClusterFirst pods (comma-separated); without it they fall back to Default, as on a kubelet")
	f.StringVar(&o.clusterDomain, "cluster-domain", "", "cluster DNS domain (e.g. cluster.local): pods' search paths and subdomain FQDNs")
	f.StringVar(&o.resolvConf, "resolv-conf", "", "resolver configuration Default-policy pods inherit, read on this machine (e.g. /etc/resolv.conf); empty: none, names resolve only through the pod's loopback")
	f.BoolVar(&o.hostNetwork, "allow-host-network", false, "let pods use the Docker host's network namespace (hostNetwork)")
	f.BoolVar(&o.hostPID, "allow-host-pid", false, "let pods use the Docker host's PID namespace (hostPID)")
	f.BoolVar(&o.hostIPC, "allow-host-ipc", false, "let pods use the Docker host's IPC namespace (hostIPC)")
	o.security.addFlags(cmd)
	f.StringSliceVar(&o.hostPaths, "allowed-host-paths", nil, "path prefixes on the Docker host that hostPath volumes may use (comma-separated or repeated); none by default, and a pod with another hostPath stays Pending. The kubelet's hostPath type checks look at this machine: the engine must run here")
	f.StringVar(&o.manifestPath, "pod-manifest-path", "", "directory of static pod manifests (YAML or JSON Pods or PodLists), as the kubelet's staticPodPath: watched and rescanned every 20 s; with an API server each gets a mirror pod, without one (no --kubeconfig, KUBECONFIG or in-cluster config) vk-docker runs them standalone")
	f.DurationVar(&o.nodeStatusInterval, "node-status-interval", o.nodeStatusInterval, "how often the Docker engine's health, resources and images are checked for the node's status (NotReady while the engine does not answer)")
	f.DurationVar(&o.hostLostTimeout, "host-lost-timeout", o.hostLostTimeout, "with several --docker-host: how long a host may stay silent (its pods are reported not ready meanwhile) before its pods fail with reason DockerHostLost, so that their controllers recreate them on the hosts that answer")
	f.StringVar(&o.pullRecords, "image-pull-records", "", "file that keeps, across restarts, with which pull secrets each image was pulled, so that only pods holding them use it (default /var/lib/vk-docker/<nodename>/image-pulls.json)")
	f.DurationVar(&o.reapInterval, "reap-interval", o.reapInterval, "how often to remove what pods that are gone left behind (containers, volumes, termination message files of pods neither the API server nor this node knows, e.g. after a crash); the first pass runs at start; 0 disables it")
	f.DurationVar(&o.reapMinAge, "reap-min-age", o.reapMinAge, "what is younger than this is never reaped: a pod being set up has volumes before it has containers")
	f.StringVar(&o.messageDir, "termination-message-dir", "", "directory for the files bind-mounted at containers' terminationMessagePath; the engine must run on this machine (default /var/lib/vk-docker/<nodename>/termination with a local engine, none with a remote one)")
}

// parseTaints reads --taint values; "none" alone means no taint.
func parseTaints(specs []string) ([]v1.Taint, error) {
	if len(specs) == 1 && specs[0] == "none" {
		return nil, nil
	}
	var taints []v1.Taint
	for _, s := range specs {
		kv, effect, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("taint %q: want key[=value]:Effect", s)
		}
		key, value, _ := strings.Cut(kv, "=")
		e := v1.TaintEffect(effect)
		if key == "" || (e != v1.TaintEffectNoSchedule && e != v1.TaintEffectPreferNoSchedule && e != v1.TaintEffectNoExecute) {
			return nil, fmt.Errorf("taint %q: want key[=value]:NoSchedule|PreferNoSchedule|NoExecute", s)
		}
		taints = append(taints, v1.Taint{Key: key, Value: value, Effect: e})
	}
	return taints, nil
}

// parsePodAPIAddress reads --pod-api-address as an IP and a port.
func parsePodAPIAddress(s string) (string, int, error) {
	if s == "" {
		return "", 0, nil
	}
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("--pod-api-address %q: %w", s, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 || net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("--pod-api-address %q: want IP:port", s)
	}
	return host, port, nil
}

func listenPort(addr string) (int32, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("--listen-address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return 0, fmt.Errorf("--listen-address %q: bad port", addr)
	}
	return int32(port), nil
}

// clientCertDir is --cert-dir, or its default in the node's directory.
func (o *options) clientCertDir() string {
	if o.certDir != "" {
		return o.certDir
	}
	return filepath.Join("/var/lib/vk-docker", o.nodeName, "pki")
}

// imagePullRecords is --image-pull-records, or its default in the node's
// directory of this machine.
func (o *options) imagePullRecords() string {
	if o.pullRecords != "" {
		return o.pullRecords
	}
	return filepath.Join("/var/lib/vk-docker", o.nodeName, "image-pulls.json")
}

// hostSpecs reads --docker-host and --docker-cert-path.
func (o *options) hostSpecs() ([]hostpool.Spec, error) {
	return hostpool.ParseSpecs(o.dockerHosts, o.dockerCertPaths)
}

// firstDocker connects to the first --docker-host (the docker CLI's host
// without one), for the commands that look at one engine.
func (o *options) firstDocker() (dockerhost.Client, error) {
	specs, err := o.hostSpecs()
	if err != nil {
		return nil, err
	}
	if specs[0].FromEnv {
		return dockerhost.Connect("", "")
	}
	return dockerhost.Connect(specs[0].URL, specs[0].CertDir)
}

// terminationMessageDir is --termination-message-dir, or its default: a
// directory of this machine when an engine runs here too (a unix socket),
// none when every engine is remote, since the bind mounts would name its
// disk.
func (o *options) terminationMessageDir() string {
	if o.messageDir != "" {
		return o.messageDir
	}
	specs, err := o.hostSpecs()
	if err != nil {
		return ""
	}
	for _, s := range specs {
		if !s.Remote() {
			return filepath.Join("/var/lib/vk-docker", o.nodeName, "termination")
		}
	}
	return ""
}

// hostMessageDir is the termination message directory of one host: none
// on a remote one, whose disk is not this machine's.
func (o *options) hostMessageDir(s hostpool.Spec) string {
	if s.Remote() && o.messageDir == "" {
		return ""
	}
	return o.terminationMessageDir()
}

// hostImagePullRecords is the pull records file of the i-th host: the
// first keeps --image-pull-records, the others a file of their own next
// to it (each engine holds its own images).
func (o *options) hostImagePullRecords(i int) string {
	f := o.imagePullRecords()
	if i == 0 {
		return f
	}
	return strings.TrimSuffix(f, ".json") + "." + strconv.Itoa(i) + ".json"
}

// checkProbeNetwork validates --probe-network.
func (o *options) checkProbeNetwork() error {
	switch o.probeNetwork {
	case "direct", "sandbox", "auto", "":
		return nil
	}
	return fmt.Errorf("--probe-network %q: want direct, sandbox or auto", o.probeNetwork)
}

// checkExecProbes validates --exec-probes.
func (o *options) checkExecProbes() error {
	switch o.execProbes {
	case "shell", "exec":
		return nil
	}
	return fmt.Errorf("--exec-probes %q: want shell or exec", o.execProbes)
}

// probeViaSandbox reads --probe-network for one host: auto connects from
// inside the pod on a remote host, whose pod IPs may not be routable from
// here.
func (o *options) probeViaSandbox(s hostpool.Spec) bool {
	switch o.probeNetwork {
	case "direct":
		return false
	case "sandbox":
		return true
	}
	return s.Remote()
}

// dnsSettings reads --cluster-dns, --cluster-domain and --resolv-conf.
func (o *options) dnsSettings() (translate.DNSSettings, error) {
	d := translate.DNSSettings{ClusterDomain: strings.TrimSuffix(o.clusterDomain, ".")}
	for _, ip := range o.clusterDNS {
		if net.ParseIP(ip) == nil {
			return d, fmt.Errorf("--cluster-dns %q: not an IP address", ip)
		}
		d.ClusterDNS = append(d.ClusterDNS, ip)
	}
	if o.resolvConf == "" {
		return d, nil
	}
	f, err := os.Open(o.resolvConf)
	if err != nil {
		return d, fmt.Errorf("--resolv-conf: %w", err)
	}
	defer f.Close()
	if d.Host, err = translate.ParseResolvConf(f); err != nil {
		return d, fmt.Errorf("--resolv-conf %s: %w", o.resolvConf, err)
	}
	return d, nil
}
