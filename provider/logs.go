package provider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
)

// GetContainerLogs streams a container's log (kubectl logs): stdout and
// stderr interleaved as written, with tail, since, timestamps, follow,
// previous and limit-bytes honoured.
func (p *Provider) GetContainerLogs(ctx context.Context, namespace, podName, containerName string, opts api.ContainerLogOpts) (io.ReadCloser, error) {
	c, docker, err := p.findContainer(ctx, namespace, podName, containerName, opts.Previous)
	if err != nil {
		return nil, err
	}
	lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Timestamps: opts.Timestamps, Tail: "all"}
	if opts.Tail > 0 || (opts.Tail == 0 && tailLinesZero(ctx)) {
		lo.Tail = strconv.Itoa(opts.Tail)
	}
	switch {
	case !opts.SinceTime.IsZero():
		// The engine takes fractional seconds: a line written in the same
		// second but before --since-time must not show.
		lo.Since = fmt.Sprintf("%d.%09d", opts.SinceTime.Unix(), opts.SinceTime.Nanosecond())
	case opts.SinceSeconds > 0:
		lo.Since = strconv.FormatInt(p.cfg.Clock.Now().Unix()-int64(opts.SinceSeconds), 10)
	}
	inspect, err := docker.ContainerInspect(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", containerName, err)
	}
	rc, err := docker.ContainerLogs(ctx, c.ID, lo)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", containerName, err)
	}
	var out io.ReadCloser = rc
	if inspect.Config == nil || !inspect.Config.Tty {
		// Docker multiplexes stdout and stderr; kubectl wants the plain bytes.
		pr, pw := io.Pipe()
		go func() {
			_, err := stdcopy.StdCopy(pw, pw, rc)
			_ = rc.Close()
			_ = pw.CloseWithError(err)
		}()
		out = pr
	}
	if opts.LimitBytes > 0 {
		out = limitedReadCloser{io.LimitReader(out, int64(opts.LimitBytes)), out}
	}
	return out, nil
}

type tailLinesZeroKey struct{}

// WithTailLinesZero marks the containerLogs requests that ask for
// tailLines=0 (kubectl logs --tail=0): virtual-kubelet's ContainerLogOpts
// reads a 0 as "not set", where a kubelet gives no past lines at all.
func WithTailLinesZero(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/containerLogs/") && r.URL.Query().Get("tailLines") == "0" {
			r = r.WithContext(context.WithValue(r.Context(), tailLinesZeroKey{}, true))
		}
		next.ServeHTTP(w, r)
	})
}

func tailLinesZero(ctx context.Context) bool {
	zero, _ := ctx.Value(tailLinesZeroKey{}).(bool)
	return zero
}

type limitedReadCloser struct {
	io.Reader
	io.Closer
}
