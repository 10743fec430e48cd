package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/vk-docker/vk-docker/volumes/atomicdir"
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
