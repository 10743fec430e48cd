package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
)

// profileNode takes a CPU profile of the node over d through its kubelet
// API (/debug/pprof/profile, which needs nodes/proxy) and writes it to path,
// for `go tool pprof`. It runs beside a phase, so a failure is reported,
// not fatal to the run.
func profileNode(ctx context.Context, env *framework.Env, node string, d time.Duration, path string) error {
	secs := max(1, int(d/time.Second))
	raw, err := env.Client.CoreV1().RESTClient().Get().
		AbsPath("/api/v1/nodes/"+node+"/proxy/debug/pprof/profile").
		Param("seconds", strconv.Itoa(secs)).
		Timeout(d + 30*time.Second).
		DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("CPU profile of %s: %w", node, err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return fmt.Errorf("write the CPU profile: %w", err)
	}
	return nil
}
