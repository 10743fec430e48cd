package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/vk-docker/vk-docker/volumes/atomicdir"
	"github.com/vk-docker/vk-docker/volumes/ownership"
)

// setupUsage is the setup command's synopsis.
const setupUsage = "usage: pause setup [--hosts] [--fs-group GID] [--emptydir DIR]... [--volume DIR]... < input.json"

// setup is `pause setup`: run by the provider with one `docker exec` in a
// sandbox that just started, it does everything the pod's containers need
// from inside the sandbox before they start, in that one exec (each exec
// costs the engine about as much as a small container start, and a pod
// used to need two or three):
//
//   - --hosts: the first JSON value on stdin is a hostsFile, written to the
//     sandbox's /etc/hosts;
//   - --emptydir DIR: the root of an emptyDir volume gets the kubelet's mode
//     and, with --fs-group, that group;
//   - --volume DIR: the next JSON value on stdin is an atomicdir.Payload,
//     written into the API-data volume mounted at DIR.
//
// The hosts file and the emptyDirs must succeed (exit 1 otherwise). A
// volume's failure is the volume's alone, as a failed mount is on a
// kubelet: stdout is a JSON object from each volume DIR that was not
// written to its error, and nothing when all were.
func setup(args []string, stdin io.Reader, stdout io.Writer, hostsPath string) error {
	var (
		hosts     bool
		fsGroup   *int64
		emptyDirs []string
		volumes   []string
	)
	for i := 0; i < len(args); i++ {
		switch flag := args[i]; flag {
		case "--hosts":
			hosts = true
			continue
		case "--fs-group", "--emptydir", "--volume":
			if i+1 == len(args) {
				return fmt.Errorf("%s needs a value; %s", flag, setupUsage)
			}
			i++
			switch flag {
			case "--fs-group":
				gid, err := strconv.ParseInt(args[i], 10, 64)
				if err != nil {
					return fmt.Errorf("--fs-group: %w", err)
				}
				fsGroup = &gid
			case "--emptydir":
				emptyDirs = append(emptyDirs, args[i])
			default:
				volumes = append(volumes, args[i])
			}
		default:
			return fmt.Errorf("unknown argument %q; %s", flag, setupUsage)
		}
	}
	in := json.NewDecoder(stdin)
	if hosts {
		var f hostsFile
		if err := in.Decode(&f); err != nil {
			return fmt.Errorf("read the hosts file: %w", err)
		}
		if err := writeHostsFile(hostsPath, f); err != nil {
			return fmt.Errorf("write %s: %w", hostsPath, err)
		}
	}
	for _, dir := range emptyDirs {
		if err := ownership.EmptyDir(dir, fsGroup); err != nil {
			return err
		}
	}
	failed := map[string]string{}
	now := time.Now()
	for _, dir := range volumes {
		var p atomicdir.Payload
		if err := in.Decode(&p); err != nil {
			// The stream is broken from here on: a truncated input is the
			// provider's failure, not a volume's.
			return fmt.Errorf("read the payload of %s: %w", dir, err)
		}
		if _, err := atomicdir.Write(dir, p, now); err != nil {
			failed[dir] = err.Error()
		}
	}
	// More input than the arguments ask for: the provider and this program
	// disagree on what to do.
	if err := in.Decode(new(json.RawMessage)); err != io.EOF {
		return fmt.Errorf("more input than --hosts and %d --volume payloads", len(volumes))
	}
	if len(failed) == 0 {
		return nil
	}
	if err := json.NewEncoder(stdout).Encode(failed); err != nil {
		return fmt.Errorf("write the results: %w", err)
	}
	return nil
}

// runSetup runs setup on the process's own stdin, stdout and /etc/hosts.
func runSetup(args []string) int {
	if err := setup(args, os.Stdin, os.Stdout, "/etc/hosts"); err != nil {
		fmt.Fprintln(os.Stderr, "pause setup:", err)
		return 1
	}
	return 0
}
