// Package framework runs vk-docker nodes against the local control plane for
// end-to-end tests and benchmarks: it starts bin/vk-docker processes with
// their own node names and ports, creates namespaces and pods aimed at those
// nodes, waits for what a user would see, and checks that nothing is left on
// the Docker engine afterwards.
//
// Waiting: a PodWatch records every version of a pod the API server sends
// (watch.go) and is the one way the suite waits for a pod condition
// (WaitFor, WaitForAfter, WaitForPod); status.go reads container statuses and
// runs from those versions, events.go waits for events, engine.go follows
// Docker's events of a container, kubectl.go drives bin/kubectl.
package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/vk-docker/vk-docker/dockerhost"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Env is what every test needs: the cluster, the engine and the binaries.
type Env struct {
	// Kubeconfig is the admin kubeconfig of the cluster (KUBECONFIG).
	Kubeconfig string
	// BootstrapKubeconfig holds the bootstrap token nodes join with
	// (bootstrap-kubeconfig beside Kubeconfig, written by cluster-up).
	BootstrapKubeconfig string
	// Bin is the vk-docker binary (VK_DOCKER_BIN, default bin/vk-docker).
	Bin string
	// Kubectl is the kubectl built beside it.
	KubectlBin string
	// Version tags the project's images (VK_DOCKER_VERSION).
	Version string
	// Gateway is the Docker bridge gateway, where pods reach the API server.
	Gateway string
	// APIPort is the API server's port (APISERVER_PORT, default 6443).
	APIPort int
	// Config and Client talk to the API server.
	Config *rest.Config
	Client kubernetes.Interface
	// Docker is the engine the nodes use.
	Docker dockerhost.Client
}

// BusyboxImage is the test image `make images` builds.
func (e *Env) BusyboxImage() string { return "vk-docker/busybox:" + e.Version }

// PauseImage is the default pause image `make images` builds.
func (e *Env) PauseImage() string { return dockerhost.DefaultPauseImageRepo + ":" + e.Version }

// PodAPIAddress is the API server address pods are given.
func (e *Env) PodAPIAddress() string { return fmt.Sprintf("%s:%d", e.Gateway, e.APIPort) }

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// LoadEnv reads the environment `make test` sets up and checks that the
// cluster and the engine answer. A missing piece is an error, never a skip:
// an e2e run without its cluster has not tested anything.
func LoadEnv(ctx context.Context) (*Env, error) {
	root := RepoRoot()
	e := &Env{
		Kubeconfig: os.Getenv("KUBECONFIG"),
		Bin:        os.Getenv("VK_DOCKER_BIN"),
		Version:    os.Getenv("VK_DOCKER_VERSION"),
		APIPort:    6443,
	}
	if e.Kubeconfig == "" {
		e.Kubeconfig = filepath.Join(root, ".cluster", "kubeconfig")
	}
	e.BootstrapKubeconfig = filepath.Join(filepath.Dir(e.Kubeconfig), "bootstrap-kubeconfig")
	if e.Bin == "" {
		e.Bin = filepath.Join(root, "bin", "vk-docker")
	}
	if e.Version == "" {
		e.Version = "0.1.0"
	}
	if p := os.Getenv("APISERVER_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("APISERVER_PORT=%q: %w", p, err)
		}
		e.APIPort = n
	}
	e.KubectlBin = filepath.Join(filepath.Dir(e.Bin), "kubectl")
	for _, f := range []string{e.Bin, e.KubectlBin} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%s is missing (run `make build control-plane`): %w", f, err)
		}
	}
	if _, err := os.Stat(e.BootstrapKubeconfig); err != nil {
		return nil, fmt.Errorf("the nodes' bootstrap kubeconfig is missing (run `make cluster-up`): %w", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s (run `make cluster-up`): %w", e.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	e.Config = cfg
	if e.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if _, err := e.Client.Discovery().ServerVersion(); err != nil {
		return nil, fmt.Errorf("API server of %s does not answer (run `make cluster-up`): %w", e.Kubeconfig, err)
	}
	if e.Docker, err = dockerhost.New(""); err != nil {
		return nil, err
	}
	if err := e.Docker.Ping(ctx); err != nil {
		return nil, fmt.Errorf("docker engine does not answer: %w", err)
	}
	if e.Gateway, err = e.Docker.NetworkGateway(ctx, "bridge"); err != nil || e.Gateway == "" {
		e.Gateway = "172.17.0.1"
	}
	for _, img := range []string{e.BusyboxImage(), e.PauseImage()} {
		if _, err := e.Docker.ImageInspect(ctx, img); err != nil {
			return nil, errors.Join(fmt.Errorf("image %s is missing (run `make images`)", img), err)
		}
	}
	return e, nil
}
