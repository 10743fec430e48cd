package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// hostsFile is dockerhost.HostsFile as it arrives on stdin.
type hostsFile struct {
	Head        string `json:"head"`
	KeepCurrent bool   `json:"keepCurrent"`
	Tail        string `json:"tail"`
}

// writeHosts is `pause write-hosts`: run by the provider with `docker exec`
// in a sandbox that just started, it reads a JSON hostsFile on stdin and
// writes the sandbox's /etc/hosts, the file every container of the pod
// shares, with the kubelet's content.
func writeHosts(args []string) int {
	if len(args) != 0 {
		fmt.Fprintln(os.Stderr, "usage: pause write-hosts < hosts.json")
		return 2
	}
	if err := writeHostsFile("/etc/hosts", os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "pause write-hosts:", err)
		return 1
	}
	return 0
}

// writeHostsFile writes path in place: it is a file the engine bind-mounts
// into the sandbox and every container joining it, so it cannot be replaced
// by a rename.
func writeHostsFile(path string, in io.Reader) error {
	var f hostsFile
	if err := json.NewDecoder(in).Decode(&f); err != nil {
		return fmt.Errorf("read the hosts file: %w", err)
	}
	content := f.Head + f.Tail
	if f.KeepCurrent {
		current, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if f.Head != "" && strings.HasPrefix(string(current), f.Head) {
			return nil
		}
		content = f.Head + string(current) + f.Tail
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return err
	}
	// WriteFile keeps an existing file's mode; the kubelet's is 0644.
	return os.Chmod(path, 0o644)
}
