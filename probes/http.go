package probes

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// UserAgent is the User-Agent of HTTP and gRPC probes when the probe sets
// none: the kubelet's "kube-probe/<major>.<minor>" for the Kubernetes
// version vk-docker implements.
const UserAgent = "kube-probe/1.37"

// maxBodyLength bounds what an HTTP probe reads of a response body, as the
// kubelet's maxRespBodyLength (pkg/probe/http/http.go).
const maxBodyLength = 10 << 10

// maxRedirects is how many same-host redirects an HTTP probe follows.
const maxRedirects = 10

// HTTPRequest is the GET an HTTP probe sends, fully resolved: NewHTTPRequest
// builds it from a probe's httpGet action.
type HTTPRequest struct {
	// Scheme is "http" or "https", in any case; empty means "http". HTTPS
	// does not verify the server's certificate.
	Scheme string
	// Host is the host name or IP address to connect to (IPv6 without
	// brackets).
	Host string
	// Port is the TCP port to connect to.
	Port int
	// Path is the path, with an optional query, of the request; empty means
	// "/".
	Path string
	// Header holds the probe's headers. A "Host" header overrides the Host
	// the request carries; when "User-Agent" is absent UserAgent is sent; when
	// "Accept" is absent "*/*" is sent, and an Accept header set to "" sends
	// none (as the kubelet, pkg/probe/http/request.go). ProbeHTTP does not
	// modify it.
	Header http.Header
}

// URL is the URL the request is sent to, as the kubelet forms it: a path
// that does not parse as a URL is passed along as is.
func (r HTTPRequest) URL() *url.URL {
	u, err := url.Parse(r.Path)
	if err != nil {
		u = &url.URL{Path: r.Path}
	}
	u.Scheme = strings.ToLower(r.Scheme)
	if u.Scheme == "" {
		u.Scheme = "http"
	}
	u.Host = net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
	if u.Path == "" && u.Opaque == "" {
		u.Path = "/"
	}
	return u
}

// httpTransport is shared by all HTTP probes. Like the kubelet's, it never
// reuses connections nor goes through a proxy, does not ask for compression
// (so sends no Accept-Encoding), skips certificate verification, and
// negotiates HTTP/2 over TLS.
var httpTransport = &http.Transport{
	TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify certificates, as the kubelet's
	DisableKeepAlives:  true,
	Proxy:              nil,
	DisableCompression: true,
	DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialFrom(ctx)(ctx, network, addr)
	},
	TLSHandshakeTimeout: 10 * time.Second,
	ForceAttemptHTTP2:   true,
}

// ProbeHTTP sends req and judges the response as the kubelet's httpGet probe
// does (pkg/probe/http/http.go):
//
//   - a status in [200, 300): (Success, "", nil);
//   - a status in [300, 400) that was not followed (a redirect to another
//     host, or a 3xx that is no redirect): (Success, "Probe terminated
//     redirects, Response body: <body>", nil); the kubelet's Warning,
//     recorded as a ProbeWarning event. On Success the output is non-empty
//     only for such a warning;
//   - any other status: (Failure, "HTTP probe failed with statuscode: <code>",
//     nil); the body is never in this output (the kubelet keeps it out, see
//     https://issue.k8s.io/99425);
//   - no response within timeout, a connection error or too many redirects:
//     (Failure, the client's error text, nil), for example `Get
//     "http://10.0.0.5:80/": context deadline exceeded (Client.Timeout
//     exceeded while awaiting headers)`;
//   - the body cannot be read: (Failure, "", the error), as the kubelet;
//   - ctx ends first: (Unknown, "", ctx.Err()).
//
// Redirects are followed while they stay on the same host name (any port or
// scheme), up to 10; the 11th gives the failure `Get "<url>": stopped after
// 10 redirects`. At most 10 KiB of the body is read. timeout bounds the whole
// exchange, redirects and body included; <= 0 means no limit other than ctx.
func ProbeHTTP(ctx context.Context, req HTTPRequest, timeout time.Duration) (Result, string, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL().String(), nil)
	if err != nil {
		return Unknown, "", err
	}
	hreq.Header = probeHeader(req.Header)
	hreq.Host = hreq.Header.Get("Host")

	client := &http.Client{Transport: httpTransport, CheckRedirect: checkRedirect}
	if timeout > 0 {
		client.Timeout = timeout
	}
	res, err := client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return Unknown, "", ctx.Err()
		}
		return Failure, err.Error(), nil
	}
	defer res.Body.Close()
	body, err := readAtMost(res.Body, maxBodyLength)
	if err != nil {
		if ctx.Err() != nil {
			return Unknown, "", ctx.Err()
		}
		return Failure, "", err
	}
	switch {
	case res.StatusCode >= http.StatusOK && res.StatusCode < http.StatusMultipleChoices:
		return Success, "", nil
	case res.StatusCode >= http.StatusMultipleChoices && res.StatusCode < http.StatusBadRequest:
		return Success, "Probe terminated redirects, Response body: " + string(body), nil
	}
	return Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode), nil
}

// probeHeader is a copy of h with the kubelet's default User-Agent and
// Accept headers.
func probeHeader(h http.Header) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	if _, ok := out["User-Agent"]; !ok {
		out.Set("User-Agent", UserAgent)
	}
	if _, ok := out["Accept"]; !ok {
		out.Set("Accept", "*/*")
	} else if out.Get("Accept") == "" {
		out.Del("Accept")
	}
	return out
}

// checkRedirect follows redirects as the kubelet (which does not follow
// non-local redirects): to the same host name only, and at most 10 of them.
// A redirect elsewhere ends the chain with the redirect response itself.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}

// readAtMost reads r to its end or to limit bytes, whichever comes first; a
// longer body is truncated without error.
func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil && !errors.Is(err, io.EOF) {
		return b, err
	}
	return b, nil
}
