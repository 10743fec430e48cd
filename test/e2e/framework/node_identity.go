package framework

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// credentialArgs are the flags that give the node its identity: the
// bootstrap kubeconfig of the cluster, and a kubeconfig and cert dir of its
// own in a temporary directory (removed at Close); or the admin kubeconfig.
func (n *Node) credentialArgs(admin bool) ([]string, error) {
	if admin {
		return []string{"--kubeconfig", n.env.Kubeconfig}, nil
	}
	dir, err := os.MkdirTemp("", "vk-docker-e2e-"+n.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("credentials directory of node %s: %w", n.Name, err)
	}
	n.credDir = dir
	n.Kubeconfig = filepath.Join(dir, "kubeconfig")
	return []string{
		"--bootstrap-kubeconfig", n.env.BootstrapKubeconfig,
		"--kubeconfig", n.Kubeconfig,
		"--cert-dir", filepath.Join(dir, "pki"),
	}, nil
}

func (n *Node) removeCredentials() {
	if n.credDir != "" {
		_ = os.RemoveAll(n.credDir)
	}
}

// apiRefusal is how the API server's 403 reads in a log: `secrets "x" is
// forbidden: User "system:node:n" cannot ...` (the node's own words about
// pods it refuses, such as "forbidden sysctl", are not refusals).
const apiRefusal = "is forbidden"

// refusals fails a node whose log shows the API server refusing it
// something: a node must ask only for what a kubelet may.
func (n *Node) refusals() error {
	b, err := os.ReadFile(n.LogPath)
	if err != nil {
		return fmt.Errorf("read the log of node %s: %w", n.Name, err)
	}
	if int64(len(b)) >= n.logStart {
		b = b[n.logStart:]
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		if strings.Contains(sc.Text(), apiRefusal) {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) == 0 {
		return nil
	}
	if len(lines) > 5 {
		lines = append(lines[:5], fmt.Sprintf("... and %d more", len(lines)-5))
	}
	return fmt.Errorf("node %s was refused by the API server (%q in %s):\n%s", n.Name, apiRefusal, n.LogPath, strings.Join(lines, "\n"))
}
