package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

const (
	statsPasses = 3
	// The node serves a summary from its cache for 5 s (provider/stats.go);
	// fetches further apart each make a full pass over the engine.
	statsSpacing = 5500 * time.Millisecond
	// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat.
	clockTicks = 100
)

// statsResults are full /stats/summary passes over the running pods.
type statsResults struct {
	fetch []time.Duration // the request through the API server's node proxy
	cpu   []time.Duration // the node process's CPU time during it
}

// measureStats fetches the node's summary statsPasses times, each a full
// pass, and checks that each lists every pod.
func measureStats(ctx context.Context, env *framework.Env, node *framework.Node, pods int) (*statsResults, error) {
	res := &statsResults{}
	path := "/api/v1/nodes/" + node.Name + "/proxy/stats/summary"
	for i := 0; i < statsPasses; i++ {
		if i > 0 {
			select {
			case <-time.After(statsSpacing):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		cpu0, err := processCPU(node.Pid())
		if err != nil {
			return nil, err
		}
		start := time.Now()
		raw, err := env.Client.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(ctx)
		took := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", path, err)
		}
		cpu1, err := processCPU(node.Pid())
		if err != nil {
			return nil, err
		}
		var s statsv1alpha1.Summary
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("decode summary: %w", err)
		}
		// An exit phase's pod may linger a moment in the node's own view
		// after the API dropped it: only the pod phase's pods count.
		n := 0
		for _, ps := range s.Pods {
			if strings.HasPrefix(ps.PodRef.Name, "bench-") {
				n++
			}
		}
		if n != pods {
			return nil, fmt.Errorf("summary %d lists %d of the %d pods", i+1, n, pods)
		}
		res.fetch = append(res.fetch, took)
		res.cpu = append(res.cpu, cpu1-cpu0)
	}
	return res, nil
}

// processCPU is the user plus system CPU time pid has used.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("node process CPU: %w", err)
	}
	// The command name may hold spaces; the fields after it start with the
	// state (field 3), so utime and stime (fields 14 and 15) are 11 and 12.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("node process CPU: short /proc/%d/stat", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("node process CPU: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
