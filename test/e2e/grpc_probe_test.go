//go:build e2e_timing || e2e_sandbox_probes

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vk-docker/vk-docker/test/e2e/framework"
	v1 "k8s.io/api/core/v1"
)

// A grpc readiness probe asks the standard health service: SERVING makes the
// container ready; NOT_SERVING keeps it unready, with the kubelet's
// Unhealthy event.
func TestProbesGRPC(t *testing.T) {
	t.Parallel()
	cases := []struct {
		service   string
		ready     bool
		unhealthy string
	}{
		{service: "", ready: true},
		{service: "ok", ready: true},
		{service: "down", ready: false, unhealthy: `Readiness probe failed: service unhealthy (responded with "NOT_SERVING")`},
	}
	for _, c := range cases {
		name := "grpc-" + c.service
		if c.service == "" {
			name = "grpc-server"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			service := c.service
			ctr := v1.Container{
				Name: "app", Image: "vk-docker/grpc-health:" + env.Version, ImagePullPolicy: v1.PullNever,
				ReadinessProbe: &v1.Probe{
					ProbeHandler:  v1.ProbeHandler{GRPC: &v1.GRPCAction{Port: 9000, Service: &service}},
					PeriodSeconds: 1,
				},
			}
			created := createPod(t, ns, pod(name, ctr))
			w := env.WatchPod(t, created)
			w.WaitFor(t, 60*time.Second, "running", func(p *v1.Pod) bool {
				cs := framework.StatusOf(p, "app")
				return cs != nil && cs.State.Running != nil
			})
			if c.ready {
				w.WaitFor(t, 30*time.Second, "ready", func(p *v1.Pod) bool {
					cs := framework.StatusOf(p, "app")
					return cs != nil && cs.Ready
				})
				return
			}
			env.WaitPodEvent(t, ns, created.Name, 30*time.Second, c.unhealthy, func(e v1.Event) bool {
				return e.Type == v1.EventTypeWarning && e.Reason == "Unhealthy" && strings.Contains(e.Message, c.unhealthy)
			})
			p, err := framework.WaitForPod(context.Background(), env, ns, created.Name, 5*time.Second, "listed", func(*v1.Pod) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			if cs := framework.StatusOf(p, "app"); cs == nil || cs.Ready || cs.RestartCount != 0 {
				t.Errorf("status %+v: want running, not ready, never restarted", cs)
			}
		})
	}
}
