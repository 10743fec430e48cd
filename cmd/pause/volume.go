package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/vk-docker/vk-docker/volumes/atomicdir"
	"github.com/vk-docker/vk-docker/volumes/ownership"
)

// writeVolume is `pause write-volume <dir>`: run by the provider with
// `docker exec` in a sandbox, it reads a JSON atomicdir.Payload on stdin and
// makes <dir> (a pod volume's tmpfs, mounted in the sandbox) hold exactly
// those files with the kubelet's atomic `..data` layout. Writing from inside
// the container puts the bytes into the tmpfs itself, which the engine's copy
// API cannot do (it writes beneath the mount), and keeps them out of any
// command line, log or inspect output. It prints "changed" or "unchanged".
func writeVolume(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: pause write-volume <dir> < payload.json")
		return 2
	}
	var p atomicdir.Payload
	if err := json.NewDecoder(os.Stdin).Decode(&p); err != nil {
		fmt.Fprintln(os.Stderr, "pause write-volume: read payload:", err)
		return 1
	}
	changed, err := atomicdir.Write(args[0], p, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "pause write-volume:", err)
		return 1
	}
	if changed {
		fmt.Println("changed")
	} else {
		fmt.Println("unchanged")
	}
	return 0
}

// setUpEmptyDirs is `pause setup-emptydirs [--fs-group GID] <dir>...`: it
// gives the roots of a pod's emptyDir volumes, mounted in the sandbox, the
// kubelet's mode (0777) and, with the pod's fsGroup, that group's ownership.
func setUpEmptyDirs(args []string) int {
	var fsGroup *int64
	if len(args) >= 2 && args[0] == "--fs-group" {
		gid, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pause setup-emptydirs: --fs-group:", err)
			return 2
		}
		fsGroup, args = &gid, args[2:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: pause setup-emptydirs [--fs-group GID] <dir>...")
		return 2
	}
	for _, dir := range args {
		if err := ownership.EmptyDir(dir, fsGroup); err != nil {
			fmt.Fprintln(os.Stderr, "pause setup-emptydirs:", err)
			return 1
		}
	}
	return 0
}

// subPath is `pause subpath <root> <subPath>`: it resolves a volumeMount's
// subPath inside a volume mounted in the sandbox at <root>, creating missing
// directories, refusing symlinks that lead out of the volume, and prints the
// resolved path relative to <root> for the provider to bind-mount.
func subPath(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pause subpath <root> <subPath>")
		return 2
	}
	rel, err := atomicdir.SubPath(args[0], args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(rel)
	return 0
}
