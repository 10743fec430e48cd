package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
)

// kubeletVersion is the Kubernetes version whose kubelet behaviour vk-docker
// follows; the node reports it with the vk-docker version appended.
const kubeletVersion = "v1.37.2"

// runNode runs one virtual node until ctx ends: it reads the flags, connects
// to the API server and the engine, builds the node and its provider, and
// serves them.
func runNode(ctx context.Context, o *options) error {
	flags, err := parseNodeFlags(o)
	if err != nil {
		return err
	}
	if err := checkNodeLabels(o.nodeLabels); err != nil {
		return err
	}
	ctx = log.WithLogger(ctx, log.G(ctx).WithField("node", o.nodeName))
	health, err := startHealthServer(ctx, o.healthAddress)
	if err != nil {
		return err
	}
	defer health.stop()
	restCfg, client, rotateClientCert, err := nodeClient(ctx, o)
	if err != nil {
		return err
	}
	pool, info, err := connectHosts(ctx, o, flags.hosts)
	if err != nil {
		return err
	}
	defer pool.Close()
	if len(pool.Hosts()) == 1 {
		ctx = log.WithLogger(ctx, log.G(ctx).WithField("host", info.Name))
	}
	api, err := newKubeletAPI(ctx, o, restCfg, client)
	if err != nil {
		return err
	}
	recorder, stopEvents := newRecorder(client, o.nodeName)
	defer stopEvents()
	static, err := newStaticPods(ctx, o, recorder, client)
	if err != nil {
		return err
	}
	n, parts, err := newNode(o, flags, nodeDeps{client: client, pool: pool, info: info, recorder: recorder, api: api, static: static})
	if err != nil {
		return err
	}
	parts.rotateClientCert = rotateClientCert
	err = serve(ctx, o, client, n, parts, api, static, health)
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

// nodeFlags are the flags that need parsing before anything connects.
type nodeFlags struct {
	engineFlags
	taints  []v1.Taint
	apiHost string // --pod-api-address
	apiPort int
	port    int32 // of --listen-address, the kubelet endpoint the node reports
}

func parseNodeFlags(o *options) (nodeFlags, error) {
	var f nodeFlags
	var err error
	if f.engineFlags, err = parseEngineFlags(o); err != nil {
		return f, err
	}
	if f.taints, err = parseTaints(o.taints); err != nil {
		return f, err
	}
	if f.apiHost, f.apiPort, err = parsePodAPIAddress(o.podAPIAddress); err != nil {
		return f, err
	}
	if f.port, err = listenPort(o.listenAddress); err != nil {
		return f, err
	}
	return f, nil
}

// kubeletAPI is how the node's HTTPS endpoint (logs, exec, stats, ...)
// proves who it is and checks who calls it.
type kubeletAPI struct {
	serving    *servingCert
	selfSigned bool // no --tls-cert-file: serving may be replaced by a CSR's
	clientCAs  *x509.CertPool
	auth       nodeutil.Auth
}

func newKubeletAPI(ctx context.Context, o *options, restCfg *rest.Config, client kubernetes.Interface) (kubeletAPI, error) {
	cert, selfSigned, err := servingCertificate(o.tlsCertFile, o.tlsKeyFile, o.nodeName, o.nodeIP)
	if err != nil {
		return kubeletAPI{}, err
	}
	if selfSigned && o.servingCSRWait <= 0 {
		log.G(ctx).Warn("Serving the kubelet API with a self-signed certificate (set --tls-cert-file, or --serving-cert-csr-wait to request one from the cluster)")
	}
	caPEM, err := clientCA(o.clientCAFile, restCfg)
	if err != nil {
		return kubeletAPI{}, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return kubeletAPI{}, fmt.Errorf("client CA holds no PEM certificate")
	}
	caContent, err := dynamiccertificates.NewStaticCAContent("client-ca", caPEM)
	if err != nil {
		return kubeletAPI{}, fmt.Errorf("client CA: %w", err)
	}
	// Anonymous requests are refused: a client proves who it is with a
	// certificate of the cluster CA or a token (TokenReview), and what it may
	// do is asked of the API server (SubjectAccessReview on nodes/proxy, ...).
	auth, err := nodeutil.WebhookAuth(client, o.nodeName, func(c *nodeutil.WebhookAuthConfig) error {
		c.AuthnConfig.ClientCertificateCAContentProvider = caContent
		return nil
	})
	if err != nil {
		return kubeletAPI{}, fmt.Errorf("kubelet API auth: %w", err)
	}
	return kubeletAPI{serving: newServingCert(cert), selfSigned: selfSigned, clientCAs: pool, auth: auth}, nil
}

// newRecorder records the kubelet's events as the node; stop flushes and
// ends the recording.
func newRecorder(client kubernetes.Interface, nodeName string) (recorder record.EventRecorder, stop func()) {
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&corev1client.EventSinkImpl{Interface: client.CoreV1().Events(v1.NamespaceAll)})
	return broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: nodeName}), broadcaster.Shutdown
}
