package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/spf13/cobra"
	"github.com/vk-docker/vk-docker/dockerhost"
	"k8s.io/apimachinery/pkg/util/duration"
)

// newPodsCommand lists the node's pods as the engine holds them, with no
// API server: what `kubectl get pods` shows, read from container labels.
func newPodsCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "pods",
		Short: "List the node's pods from the Docker engine (NAME READY STATUS RESTARTS IP AGE)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := o.firstDocker()
			if err != nil {
				return err
			}
			defer d.Close()
			rows, err := listPods(cmd.Context(), d, o.nodeName, time.Now())
			if err != nil {
				return err
			}
			return printPods(cmd.OutOrStdout(), rows)
		},
	}
}

// podRow is one line of `vk-docker pods`.
type podRow struct {
	name, ready, status, ip, age string
	restarts                     int
}

// engineContainer is the newest instance of one container of a pod.
type engineContainer struct {
	summary  container.Summary
	restarts int
}

func listPods(ctx context.Context, d dockerhost.Client, node string, now time.Time) ([]podRow, error) {
	list, err := d.ContainerList(ctx, dockerhost.NodeSelector(node))
	if err != nil {
		return nil, fmt.Errorf("list containers of node %s: %w", node, err)
	}
	type pod struct {
		name    string
		sandbox *container.Summary
		apps    map[string]engineContainer
	}
	pods := map[string]*pod{}
	for i := range list {
		c := &list[i]
		l := c.Labels
		if !dockerhost.IsManaged(l, node) {
			continue
		}
		uid := l[dockerhost.LabelPodUID]
		p := pods[uid]
		if p == nil {
			p = &pod{name: l[dockerhost.LabelPodName], apps: map[string]engineContainer{}}
			pods[uid] = p
		}
		restarts, _ := strconv.Atoi(l[dockerhost.LabelRestartCount])
		switch {
		case l[dockerhost.LabelDockerType] == dockerhost.DockerTypeSandbox:
			if p.sandbox == nil || c.Created > p.sandbox.Created {
				p.sandbox = c
			}
		case l[dockerhost.LabelContainerKind] == dockerhost.KindApp:
			name := l[dockerhost.LabelContainerName]
			if have, ok := p.apps[name]; !ok || restarts > have.restarts || (restarts == have.restarts && c.Created > have.summary.Created) {
				p.apps[name] = engineContainer{summary: *c, restarts: restarts}
			}
		}
	}
	rows := make([]podRow, 0, len(pods))
	for _, p := range pods {
		row := podRow{name: p.name, status: "Pending", age: "<unknown>"}
		if p.sandbox != nil {
			row.ip = sandboxIP(*p.sandbox)
			row.age = duration.HumanDuration(now.Sub(time.Unix(p.sandbox.Created, 0)))
		}
		ready := 0
		for _, c := range p.apps {
			row.restarts += c.restarts
			if c.summary.State == container.StateRunning {
				ready++
			}
		}
		row.ready = fmt.Sprintf("%d/%d", ready, len(p.apps))
		row.status = podStatus(ctx, d, p.sandbox, p.apps)
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
	return rows, nil
}

// podStatus is the STATUS column as kubectl words it, from what the engine
// knows: Running when every container runs, else the reason of one that
// does not (Error, Completed, ContainerCreating), Pending without sandbox.
func podStatus(ctx context.Context, d dockerhost.Client, sandbox *container.Summary, apps map[string]engineContainer) string {
	if sandbox == nil {
		return "Pending"
	}
	if len(apps) == 0 {
		return "PodInitializing"
	}
	names := make([]string, 0, len(apps))
	for n := range apps {
		names = append(names, n)
	}
	sort.Strings(names)
	status := "Running"
	completed := 0
	for _, n := range names {
		c := apps[n].summary
		switch c.State {
		case container.StateRunning:
		case container.StateCreated:
			status = "ContainerCreating"
		default:
			code := 1
			if info, err := d.ContainerInspect(ctx, c.ID); err == nil && info.State != nil {
				code = info.State.ExitCode
			}
			if code == 0 {
				completed++
			} else {
				status = "Error"
			}
		}
	}
	if completed == len(apps) {
		return "Completed"
	}
	return status
}

func sandboxIP(c container.Summary) string {
	if c.NetworkSettings == nil {
		return "<none>"
	}
	for _, n := range c.NetworkSettings.Networks {
		if n != nil && n.IPAddress != "" {
			return n.IPAddress
		}
	}
	return "<none>"
}

func printPods(out io.Writer, rows []podRow) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(out, "No resources found")
		return err
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tREADY\tSTATUS\tRESTARTS\tIP\tAGE")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", r.name, r.ready, r.status, r.restarts, r.ip, r.age)
	}
	return w.Flush()
}
