package main

import (
	"os"
	"strings"
)

// hostsFile is dockerhost.HostsFile as it arrives on the setup command's stdin.
type hostsFile struct {
	Head        string `json:"head"`
	KeepCurrent bool   `json:"keepCurrent"`
	Tail        string `json:"tail"`
}

// writeHostsFile writes path in place: it is a file the engine bind-mounts
// into the sandbox and every container joining it, so it cannot be replaced
// by a rename.
func writeHostsFile(path string, f hostsFile) error {
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
