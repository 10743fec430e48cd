package probes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeServer is an HTTP server whose paths steer the response:
//
//	/status/<code>      answers <code> with body "body-<code>"
//	/big/<code>         answers <code> with a 20 KiB body
//	/hop/<n>            redirects (302) to /hop/<n-1>, and /hop/0 answers 200
//	/loop               redirects to itself, forever
//	/elsewhere          redirects to the same server named "localhost"
//	/hang               answers only once the client has gone
//	anything else       answers 200
//
// It remembers the last request's headers and Host, and counts requests.
type probeServer struct {
	*httptest.Server
	mu       sync.Mutex
	header   http.Header
	host     string
	uri      string
	proto    string
	requests atomic.Int32
}

func newProbeServer(t *testing.T, tls bool) *probeServer {
	t.Helper()
	s := &probeServer{}
	h := http.HandlerFunc(s.serve)
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // "client sent an HTTP request to an HTTPS server"
	if tls {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *probeServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	s.header, s.host, s.uri, s.proto = r.Header.Clone(), r.Host, r.RequestURI, r.Proto
	s.mu.Unlock()
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/status/"):
		code, _ := strconv.Atoi(strings.TrimPrefix(p, "/status/"))
		w.WriteHeader(code)
		fmt.Fprintf(w, "body-%d", code)
	case strings.HasPrefix(p, "/big/"):
		code, _ := strconv.Atoi(strings.TrimPrefix(p, "/big/"))
		w.WriteHeader(code)
		_, _ = w.Write([]byte(strings.Repeat("x", 20<<10)))
	case strings.HasPrefix(p, "/hop/"):
		n, _ := strconv.Atoi(strings.TrimPrefix(p, "/hop/"))
		if n == 0 {
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	case p == "/loop":
		http.Redirect(w, r, "/loop", http.StatusFound)
	case p == "/elsewhere":
		_, port, _ := net.SplitHostPort(r.Host)
		w.Header().Set("Location", "http://localhost:"+port+"/status/200")
		w.WriteHeader(http.StatusMovedPermanently)
		_, _ = w.Write([]byte("moved"))
	case p == "/hang":
		<-r.Context().Done()
	}
}

func (s *probeServer) last() (http.Header, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.header, s.host, s.uri
}

func (s *probeServer) port(t *testing.T) int {
	t.Helper()
	_, p, err := net.SplitHostPort(s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	return port
}

func TestProbeHTTP(t *testing.T) {
	plain := newProbeServer(t, false)
	secure := newProbeServer(t, true)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	warning := "Probe terminated redirects, Response body: "

	cases := []struct {
		name     string
		tls      bool
		scheme   string
		path     string
		ctx      context.Context
		timeout  time.Duration
		want     Result
		output   string // exact, or a suffix with suffix
		suffix   bool
		err      error
		requests int32  // when > 0
		proto    string // when set, the protocol of the request
	}{
		{name: "200", path: "/status/200", want: Success},
		{name: "204", path: "/status/204", want: Success},
		{name: "399 is a success with a warning", path: "/status/399", want: Success, output: warning + "body-399"},
		{name: "304 is a success with a warning", path: "/status/304", want: Success, output: warning},
		{name: "400", path: "/status/400", want: Failure, output: "HTTP probe failed with statuscode: 400"},
		{name: "500 without its body", path: "/big/500", want: Failure, output: "HTTP probe failed with statuscode: 500"},
		{name: "same-host redirects followed", path: "/hop/3", want: Success, requests: 4},
		{name: "nine redirects followed", path: "/hop/9", want: Success, requests: 10},
		{name: "too many redirects", path: "/loop", want: Failure, output: "/loop\": stopped after 10 redirects", suffix: true, requests: 10},
		{name: "redirect to another host not followed", path: "/elsewhere", want: Success, output: warning + "moved", requests: 1},
		{name: "warning body cut at 10 KiB", path: "/big/399", want: Success, output: warning + strings.Repeat("x", 10<<10)},
		{name: "https with a self-signed certificate", tls: true, scheme: "HTTPS", path: "/status/200", want: Success},
		{name: "https negotiates HTTP/2", tls: true, scheme: "https", path: "/status/200", want: Success, proto: "HTTP/2.0"},
		{name: "http is HTTP/1.1", path: "/status/200", want: Success, proto: "HTTP/1.1"},
		{name: "https failure", tls: true, scheme: "https", path: "/status/503", want: Failure, output: "HTTP probe failed with statuscode: 503"},
		{name: "http to an https server", tls: true, scheme: "HTTP", path: "/status/200", want: Failure, output: "HTTP probe failed with statuscode: 400"},
		{name: "timeout", path: "/hang", timeout: 300 * time.Millisecond, want: Failure, output: "/hang\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", suffix: true},
		{name: "context ended", path: "/status/200", ctx: canceled, want: Unknown, err: context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := plain
			if tc.tls {
				srv = secure
			}
			before := srv.requests.Load()
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			req := HTTPRequest{Scheme: tc.scheme, Host: "127.0.0.1", Port: srv.port(t), Path: tc.path}
			start := time.Now()
			got, out, err := ProbeHTTP(ctx, req, timeout)
			elapsed := time.Since(start)
			if got != tc.want {
				t.Errorf("result %v, want %v (output %q, err %v)", got, tc.want, out, err)
			}
			switch {
			case tc.suffix:
				if !strings.HasSuffix(out, tc.output) {
					t.Errorf("output %q, want a suffix %q", out, tc.output)
				}
			case out != tc.output:
				t.Errorf("output %q (%d bytes), want %q (%d bytes)", trunc(out), len(out), trunc(tc.output), len(tc.output))
			}
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("err %v, want %v", err, tc.err)
			}
			if n := srv.requests.Load() - before; tc.requests > 0 && n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			if tc.proto != "" {
				srv.mu.Lock()
				want(t, "protocol", srv.proto, tc.proto)
				srv.mu.Unlock()
			}
			if tc.timeout > 0 && (elapsed < tc.timeout || elapsed > tc.timeout+time.Second) {
				t.Errorf("took %v with a timeout of %v", elapsed, tc.timeout)
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func TestProbeHTTPHeaders(t *testing.T) {
	srv := newProbeServer(t, false)
	port := srv.port(t)
	cases := []struct {
		name   string
		header http.Header
		path   string
		check  func(t *testing.T, h http.Header, host, uri string)
	}{
		{name: "defaults", check: func(t *testing.T, h http.Header, host, uri string) {
			want(t, "User-Agent", h.Get("User-Agent"), "kube-probe/1.37")
			want(t, "Accept", h.Get("Accept"), "*/*")
			want(t, "Accept-Encoding", h.Get("Accept-Encoding"), "")
			want(t, "Host", host, "127.0.0.1:"+strconv.Itoa(port))
			want(t, "request URI", uri, "/")
		}},
		{name: "custom headers, Host and User-Agent", path: "/healthz?full=1",
			header: http.Header{"X-Custom": {"a", "b"}, "Host": {"example.test"}, "User-Agent": {"mine/1"}, "Accept": {"application/json"}},
			check: func(t *testing.T, h http.Header, host, uri string) {
				want(t, "X-Custom", strings.Join(h.Values("X-Custom"), ","), "a,b")
				want(t, "Host", host, "example.test")
				want(t, "User-Agent", h.Get("User-Agent"), "mine/1")
				want(t, "Accept", h.Get("Accept"), "application/json")
				want(t, "request URI", uri, "/healthz?full=1")
			}},
		{name: "an empty Accept sends none", header: http.Header{"Accept": {""}}, path: "healthz",
			check: func(t *testing.T, h http.Header, host, uri string) {
				if _, ok := h["Accept"]; ok {
					t.Errorf("Accept sent: %q", h.Values("Accept"))
				}
				want(t, "request URI", uri, "/healthz")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			orig := tc.header.Clone()
			got, out, err := ProbeHTTP(context.Background(), HTTPRequest{Host: "127.0.0.1", Port: port, Path: tc.path, Header: tc.header}, 5*time.Second)
			if got != Success || out != "" || err != nil {
				t.Fatalf("ProbeHTTP: %v %q %v", got, out, err)
			}
			h, host, uri := srv.last()
			tc.check(t, h, host, uri)
			if fmt.Sprint(orig) != fmt.Sprint(tc.header) {
				t.Errorf("the request's header was modified: %v, was %v", tc.header, orig)
			}
		})
	}
}

func want(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %q, want %q", what, got, want)
	}
}

func TestNewHTTPRequest(t *testing.T) {
	c := &v1.Container{Name: "app", Ports: []v1.ContainerPort{
		{Name: "metrics", ContainerPort: 9090},
		{Name: "http", ContainerPort: 8080},
		{Name: "http", ContainerPort: 8081},
	}}
	cases := []struct {
		name   string
		action v1.HTTPGetAction
		podIP  string
		want   HTTPRequest
		err    string
	}{
		{name: "defaults", podIP: "10.1.2.3", action: v1.HTTPGetAction{Port: intstr.FromInt32(80)},
			want: HTTPRequest{Host: "10.1.2.3", Port: 80, Header: http.Header{}}},
		{name: "everything", podIP: "10.1.2.3", action: v1.HTTPGetAction{Scheme: v1.URISchemeHTTPS, Host: "example.test",
			Path: "/ready", Port: intstr.FromString("http"),
			HTTPHeaders: []v1.HTTPHeader{{Name: "x-one", Value: "1"}, {Name: "X-One", Value: "2"}, {Name: "Host", Value: "h"}}},
			want: HTTPRequest{Scheme: "HTTPS", Host: "example.test", Port: 8080, Path: "/ready", Header: http.Header{"X-One": {"1", "2"}, "Host": {"h"}}}},
		{name: "unknown port name", podIP: "10.1.2.3", action: v1.HTTPGetAction{Port: intstr.FromString("admin")}, err: `port "admin" not found`},
		{name: "no pod IP", action: v1.HTTPGetAction{Port: intstr.FromInt32(80)}, err: "no host to probe"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewHTTPRequest(&tc.action, tc.podIP, c)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", tc.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func TestHTTPRequestURL(t *testing.T) {
	cases := []struct {
		req  HTTPRequest
		want string
	}{
		{HTTPRequest{Host: "10.0.0.1", Port: 80}, "http://10.0.0.1:80/"},
		{HTTPRequest{Scheme: "HTTPS", Host: "10.0.0.1", Port: 443, Path: "/a/b?c=d"}, "https://10.0.0.1:443/a/b?c=d"},
		{HTTPRequest{Host: "fd00::1", Port: 8080, Path: "healthz"}, "http://[fd00::1]:8080/healthz"},
		{HTTPRequest{Host: "10.0.0.1", Port: 80, Path: "?q=1"}, "http://10.0.0.1:80/?q=1"},
		{HTTPRequest{Host: "10.0.0.1", Port: 80, Path: "/%zz"}, "http://10.0.0.1:80/%25zz"},
	}
	for _, tc := range cases {
		if got := tc.req.URL().String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.req, got, tc.want)
		}
	}
}
