package framework

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/dockerhost"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The second engine's addresses: a veth pair between this machine and the
// engine's network namespace, and the engine's own bridge for its pods.
// Both ranges are for benchmarks (RFC 2544): nothing real lives there, and
// the pod subnet gets an unreachable route here, so a dial to a pod IP of
// the engine fails at once, locally, as from a provider outside a real
// Docker VM — it never follows the default route out of the machine.
const (
	remoteHostSide   = "198.18.251.1/30"
	remoteEngineSide = "198.18.251.2/30"
	remoteEngineIP   = "198.18.251.2"
	remoteEnginePort = 2376
	remoteBridge     = "198.18.252.1/24"
	RemotePodSubnet  = "198.18.252.0/24"
)

// RemoteEngine is a second dockerd playing a Docker VM: in its own network
// namespace, with its own bridge, data and exec roots, reached only over
// TCP with TLS (certificates made for the test). Everything it makes is
// removed when the test ends.
type RemoteEngine struct {
	// Name is the network namespace; the veth pair is Name+"h" (here) and
	// Name+"n" (in the namespace).
	Name string
	// URL is the engine's --docker-host.
	URL string
	// CertDir holds ca.pem, cert.pem and key.pem of a client the engine
	// accepts; BadCertDir a client whose certificate another CA signed.
	CertDir, BadCertDir string
	// Docker is a client of the engine through its local socket.
	Docker dockerhost.Client

	dir    string
	socket string
	cmd    *exec.Cmd
	exited chan struct{}
	frozen bool
}

// StartRemoteEngine starts the engine and loads images (from the machine's
// engine) into it. The test fails if anything does not work; the engine
// and all it made go away in t.Cleanup, also when the test fails.
func StartRemoteEngine(t testing.TB, images ...string) *RemoteEngine {
	t.Helper()
	suffix := RandomSuffix()[:4]
	r := &RemoteEngine{Name: "vkd-hosts-" + suffix, URL: fmt.Sprintf("tcp://%s:%d", remoteEngineIP, remoteEnginePort)}
	dir, err := os.MkdirTemp("", "vkd-hosts-engine-")
	if err != nil {
		t.Fatal(err)
	}
	r.dir, r.socket = dir, filepath.Join(dir, "docker.sock")
	t.Cleanup(func() {
		if err := r.destroy(); err != nil {
			t.Errorf("remove the second Docker engine %s: %v", r.Name, err)
		}
	})
	if err := r.network(); err != nil {
		t.Fatal(err)
	}
	if err := r.certificates(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	if r.Docker, err = dockerhost.Connect("unix://"+r.socket, ""); err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		load := exec.Command("sh", "-c", "docker save "+img+" | docker -H unix://"+r.socket+" load -q")
		if out, err := load.CombinedOutput(); err != nil {
			t.Fatalf("load %s into the second engine: %v: %s", img, err, out)
		}
	}
	return r
}

func run(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// network makes the namespace, the veth pair and the unreachable route.
func (r *RemoteEngine) network() error {
	host, peer := r.Name+"h", r.Name+"n"
	for _, args := range [][]string{
		{"ip", "route", "add", "unreachable", RemotePodSubnet},
		{"ip", "netns", "add", r.Name},
		{"ip", "link", "add", host, "type", "veth", "peer", "name", peer},
		{"ip", "link", "set", peer, "netns", r.Name},
		{"ip", "addr", "add", remoteHostSide, "dev", host},
		{"ip", "link", "set", host, "up"},
		{"ip", "-n", r.Name, "addr", "add", remoteEngineSide, "dev", peer},
		{"ip", "-n", r.Name, "link", "set", peer, "up"},
		{"ip", "-n", r.Name, "link", "set", "lo", "up"},
	} {
		if err := run(args...); err != nil {
			return err
		}
	}
	return nil
}

// Start starts (or restarts) dockerd and waits until it answers over TLS.
// It runs in the namespace through nsenter: `ip netns exec` also remounts
// /sys, and dockerd then finds no devices cgroup.
func (r *RemoteEngine) Start() error {
	logf, err := os.OpenFile(filepath.Join(r.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	certs := filepath.Join(r.dir, "server")
	cmd := exec.Command("nsenter", "--net=/run/netns/"+r.Name, "dockerd",
		"--config-file", filepath.Join(r.dir, "daemon.json"), // the machine's sets data-root
		"--data-root", filepath.Join(r.dir, "data"),
		"--exec-root", filepath.Join(r.dir, "exec"),
		"--pidfile", filepath.Join(r.dir, "docker.pid"),
		"--host", "unix://"+r.socket,
		"--host", fmt.Sprintf("tcp://%s:%d", remoteEngineIP, remoteEnginePort),
		"--tlsverify",
		"--tlscacert", filepath.Join(certs, "ca.pem"),
		"--tlscert", filepath.Join(certs, "cert.pem"),
		"--tlskey", filepath.Join(certs, "key.pem"),
		"--bip", remoteBridge,
		"--iptables=false", "--ip-masq=false",
		"--storage-driver", "fuse-overlayfs",
		"--cgroup-parent", r.Name,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start dockerd: %w", err)
	}
	r.cmd, r.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(r.exited)
	}()
	ctx := context.Background()
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case <-r.exited:
			return false, fmt.Errorf("dockerd exited: %s", r.LogTail(10))
		default:
		}
		c, err := dockerhost.Connect(r.URL, r.CertDir)
		if err != nil {
			return false, err
		}
		defer c.Close()
		return c.Ping(ctx) == nil, nil
	})
}

// Freeze stops the engine's process (SIGSTOP) as a Docker VM that stops
// answering: its containers keep running. Thaw lets it go on.
func (r *RemoteEngine) Freeze() error {
	r.frozen = true
	return syscall.Kill(r.pid(), syscall.SIGSTOP)
}

// Thaw resumes a frozen engine.
func (r *RemoteEngine) Thaw() error {
	r.frozen = false
	return syscall.Kill(r.pid(), syscall.SIGCONT)
}

// pid is dockerd's (nsenter execs it, so it is the command's).
func (r *RemoteEngine) pid() int {
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// stop ends dockerd with SIGTERM (its containers stop with it).
func (r *RemoteEngine) stop() error {
	pid := r.pid()
	if pid == 0 {
		return nil
	}
	select {
	case <-r.exited:
		return nil
	default:
	}
	if r.frozen {
		_ = r.Thaw()
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-r.exited:
		return nil
	case <-time.After(45 * time.Second):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-r.exited
		return errors.New("dockerd did not stop within 45s; killed")
	}
}

// destroy stops dockerd and removes the namespace (with the veth pair), the
// route and the directory.
func (r *RemoteEngine) destroy() error {
	var errs []error
	if r.Docker != nil {
		_ = r.Docker.Close()
	}
	errs = append(errs, r.stop())
	// What dockerd left mounted under its roots (after a kill).
	if out, err := exec.Command("sh", "-c", "grep -o ' "+r.dir+"[^ ]*' /proc/mounts | sort -r").Output(); err == nil {
		for _, m := range strings.Fields(string(out)) {
			_ = exec.Command("umount", "-l", m).Run()
		}
	}
	if err := run("ip", "netns", "del", r.Name); err != nil && !strings.Contains(err.Error(), "No such file") {
		errs = append(errs, err)
	}
	if err := run("ip", "route", "del", "unreachable", RemotePodSubnet); err != nil && !strings.Contains(err.Error(), "No such process") {
		errs = append(errs, err)
	}
	_ = exec.Command("ip", "link", "del", r.Name+"h").Run() // gone with the namespace normally
	errs = append(errs, os.RemoveAll(r.dir))
	return errors.Join(errs...)
}

// LogTail returns the last lines of dockerd's log.
func (r *RemoteEngine) LogTail(lines int) string {
	b, err := os.ReadFile(filepath.Join(r.dir, "dockerd.log"))
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// certificates writes the engine's (server/: ca.pem, cert.pem, key.pem for
// the engine's IP), a client's it accepts (client/) and one it refuses
// (badclient/, signed by another CA).
func (r *RemoteEngine) certificates() error {
	ca, caKey, err := newCA("vkd-hosts test CA")
	if err != nil {
		return err
	}
	other, otherKey, err := newCA("vkd-hosts other CA")
	if err != nil {
		return err
	}
	r.CertDir, r.BadCertDir = filepath.Join(r.dir, "client"), filepath.Join(r.dir, "badclient")
	for _, c := range []struct {
		dir    string
		ca     *x509.Certificate
		caKey  *ecdsa.PrivateKey
		server bool
	}{
		{filepath.Join(r.dir, "server"), ca, caKey, true},
		{r.CertDir, ca, caKey, false},
		{r.BadCertDir, other, otherKey, false},
	} {
		if err := writeLeaf(c.dir, ca, c.ca, c.caKey, c.server); err != nil {
			return err
		}
	}
	return nil
}

var serial int64

func template(cn string) *x509.Certificate {
	serial++
	return &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano() + serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
}

func newCA(cn string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := template(cn)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// writeLeaf writes dir/ca.pem (trusted: always the engine's CA, which
// verifies the other side), and dir/cert.pem, dir/key.pem signed by signer.
func writeLeaf(dir string, trusted, signer *x509.Certificate, signerKey *ecdsa.PrivateKey, server bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := template("vk-docker client")
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if server {
		tmpl.Subject.CommonName = remoteEngineIP
		tmpl.IPAddresses = []net.IP{net.ParseIP(remoteEngineIP)}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for name, block := range map[string]*pem.Block{
		"ca.pem":   {Type: "CERTIFICATE", Bytes: trusted.Raw},
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	return nil
}
