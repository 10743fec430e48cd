package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// NodeOptions configures one vk-docker process.
type NodeOptions struct {
	// Name of the node; required and unique per run.
	Name string
	// Taints as given to --taint; nil keeps the default taint.
	Taints []string
	// PauseImage overrides --pause-image.
	PauseImage string
	// Args are extra flags.
	Args []string
	// AdminCredentials runs the node with the cluster's admin kubeconfig
	// instead of its own identity; nodes bootstrap by default: a bootstrap
	// token gets them a certificate of system:node:<Name>, and the Node
	// authorizer holds them to a kubelet's rights.
	AdminCredentials bool
}

// Node is a running bin/vk-docker process and the node it registered.
type Node struct {
	Name    string
	Port    int
	LogPath string
	// Kubeconfig is the node's own kubeconfig (its certificate), written by
	// its TLS bootstrap; empty with AdminCredentials.
	Kubeconfig string
	env        *Env
	args       []string
	cmd        *exec.Cmd
	exited     chan struct{}
	// credDir holds the node's kubeconfig and certificates; logStart is the
	// size of the log before this node wrote to it.
	credDir  string
	logStart int64
}

// StartNode starts a vk-docker node and waits until the API shows it Ready.
func StartNode(ctx context.Context, env *Env, o NodeOptions) (*Node, error) {
	if o.Name == "" {
		return nil, fmt.Errorf("node name is required")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(os.TempDir(), "vk-docker-e2e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	n := &Node{Name: o.Name, Port: port, LogPath: filepath.Join(dir, o.Name+".log"), env: env}
	args, err := n.credentialArgs(o.AdminCredentials)
	if err != nil {
		return nil, err
	}
	args = append(args,
		"--nodename", o.Name,
		"--node-ip", "127.0.0.1",
		"--listen-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--pod-api-address", env.PodAPIAddress(),
		"--log-level", "debug",
	)
	for _, t := range o.Taints {
		args = append(args, "--taint", t)
	}
	if o.PauseImage != "" {
		args = append(args, "--pause-image", o.PauseImage)
	}
	args = append(args, o.Args...)
	// VK_DOCKER_E2E_NODE_ARGS adds flags to every node of a run: `make test`
	// reruns the probe tests with --probe-network=sandbox this way.
	args = append(args, strings.Fields(os.Getenv("VK_DOCKER_E2E_NODE_ARGS"))...)
	n.args = args
	if fi, err := os.Stat(n.LogPath); err == nil {
		n.logStart = fi.Size()
	}
	if err := n.Start(ctx); err != nil {
		n.removeCredentials()
		return nil, err
	}
	return n, nil
}

// Start (re)starts the node's process with its original flags and waits for
// the node to be Ready.
func (n *Node) Start(ctx context.Context) error {
	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(n.env.Bin, n.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", n.env.Bin, err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(n.exited)
	}()
	start := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case <-n.exited:
			return false, fmt.Errorf("vk-docker exited: %s", n.LogTail(20))
		default:
		}
		node, err := n.env.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range node.Status.Conditions {
			// A restarted node may still show the old Ready heartbeat; only
			// count a heartbeat from this process.
			if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue && !c.LastHeartbeatTime.Time.Before(start.Add(-time.Second)) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		n.Kill()
		return fmt.Errorf("node %s not Ready: %w\n%s", n.Name, err, n.LogTail(30))
	}
	return nil
}

// ProxiedArgs are the flags of a node the API server can proxy to (for
// `kubectl get --raw /api/v1/nodes/<node>/proxy/...`): it does not proxy to
// loopback node addresses, so the node listens on a free port of the Docker
// bridge gateway, an address of this machine.
func ProxiedArgs(env *Env) ([]string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(env.Gateway, "0"))
	if err != nil {
		return nil, fmt.Errorf("free port on %s: %w", env.Gateway, err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return nil, err
	}
	return []string{"--node-ip", env.Gateway, "--listen-address", addr}, nil
}

// Pid is the node process's id, 0 when it is not running.
func (n *Node) Pid() int {
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Kill ends the process with SIGKILL, as a crash would.
func (n *Node) Kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	<-n.exited
}

// Stop ends the process with SIGTERM and waits for it.
func (n *Node) Stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(15 * time.Second):
		n.Kill()
	}
}

// Leftovers lists the containers and volumes of this node still on the engine.
func (n *Node) Leftovers(ctx context.Context) ([]string, error) {
	return EngineObjects(ctx, n.env, n.Name)
}

// EngineObjects lists the containers and volumes of a node on the engine.
func EngineObjects(ctx context.Context, env *Env, node string) ([]string, error) {
	var out []string
	cs, err := env.Docker.ContainerList(ctx, dockerhost.NodeSelector(node))
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		out = append(out, "container "+strings.Join(c.Names, ","))
	}
	vs, err := env.Docker.VolumeList(ctx, dockerhost.NodeSelector(node))
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		out = append(out, "volume "+v.Name)
	}
	return out, nil
}

// Close waits (up to a minute) for the node's pods to be gone from the
// engine, stops the process, removes its directory in /var/lib/vk-docker and
// deletes the Node object. Whatever was still on the engine is returned as
// an error, after being removed.
func (n *Node) Close(ctx context.Context) error {
	var left []string
	var listErr error
	_ = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		left, listErr = n.Leftovers(ctx)
		return listErr == nil && len(left) == 0, nil
	})
	if listErr != nil {
		// What the engine could not list is no proof that nothing is left.
		left = append(left, fmt.Sprintf("(the engine's list failed: %v)", listErr))
	}
	n.Stop()
	// The node's own directory (image pull records, termination messages).
	if err := os.RemoveAll(filepath.Join("/var/lib/vk-docker", n.Name)); err != nil {
		return fmt.Errorf("remove the state of node %s: %w", n.Name, err)
	}
	n.removeCredentials()
	if err := n.env.Client.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", n.Name, err)
	}
	refused := n.refusals()
	if len(left) > 0 {
		n.forceClean(ctx)
		return errors.Join(fmt.Errorf("node %s left behind on the engine: %s", n.Name, strings.Join(left, "; ")), refused)
	}
	return refused
}

func (n *Node) forceClean(ctx context.Context) { RemoveEngineObjects(ctx, n.env, n.Name) }

// RemoveEngineObjects removes the containers and volumes of a node from the
// engine, as far as it can.
func RemoveEngineObjects(ctx context.Context, env *Env, node string) {
	RemoveEngineObjectsOn(ctx, env.Docker, node)
}

// RemoveEngineObjectsOn removes the containers and volumes of a node from
// one engine, as far as it can.
func RemoveEngineObjectsOn(ctx context.Context, docker dockerhost.Client, node string) {
	if cs, err := docker.ContainerList(ctx, dockerhost.NodeSelector(node)); err == nil {
		for _, c := range cs {
			_ = docker.ContainerRemove(ctx, c.ID)
		}
	}
	if vs, err := docker.VolumeList(ctx, dockerhost.NodeSelector(node)); err == nil {
		for _, v := range vs {
			_ = docker.VolumeRemove(ctx, v.Name)
		}
	}
}

// LogTail returns the last lines of the node's log.
func (n *Node) LogTail(lines int) string {
	b, err := os.ReadFile(n.LogPath)
	if err != nil {
		return err.Error()
	}
	all := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return string(bytes.Join(all, []byte("\n")))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitNodeReady waits up to timeout for the node's Ready condition to have
// status want and returns the condition as last seen.
func WaitNodeReady(ctx context.Context, env *Env, name string, want v1.ConditionStatus, timeout time.Duration) (v1.NodeCondition, error) {
	var got v1.NodeCondition
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		nd, err := env.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range nd.Status.Conditions {
			if c.Type == v1.NodeReady {
				got = c
			}
		}
		return got.Status == want, nil
	})
	if err != nil {
		return got, fmt.Errorf("node %s Ready=%s %s %q, want %s: %w", name, got.Status, got.Reason, got.Message, want, err)
	}
	return got, nil
}
