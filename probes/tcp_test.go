package probes

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen returns the port of a loopback listener that accepts and closes
// connections until the test ends.
func listen(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

func TestProbeTCP(t *testing.T) {
	open := listen(t)
	closed := closedPort(t)
	bhHost, bhPort := blackhole(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	cases := []struct {
		name    string
		ctx     context.Context
		host    string
		port    int
		timeout time.Duration
		want    Result
		output  string // substring; "" means empty output
		err     error
		minTime time.Duration
		maxTime time.Duration
	}{
		{name: "open port", host: "127.0.0.1", port: open, timeout: time.Second, want: Success},
		{name: "closed port", host: "127.0.0.1", port: closed, timeout: time.Second, want: Failure,
			output: "dial tcp 127.0.0.1:" + itoa(closed) + ": connect: connection refused"},
		{name: "timeout", host: bhHost, port: bhPort, timeout: 300 * time.Millisecond, want: Failure,
			output: "dial tcp 127.0.0.1:" + itoa(bhPort) + ": i/o timeout", minTime: 300 * time.Millisecond, maxTime: 1500 * time.Millisecond},
		{name: "context ended", ctx: canceled, host: "127.0.0.1", port: open, timeout: time.Second, want: Unknown, err: context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			start := time.Now()
			got, out, err := ProbeTCP(ctx, tc.host, tc.port, tc.timeout)
			elapsed := time.Since(start)
			if got != tc.want {
				t.Errorf("result %v, want %v (output %q, err %v)", got, tc.want, out, err)
			}
			checkOutput(t, out, tc.output)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("err %v, want %v", err, tc.err)
			}
			if elapsed < tc.minTime || (tc.maxTime > 0 && elapsed > tc.maxTime) {
				t.Errorf("took %v, want between %v and %v", elapsed, tc.minTime, tc.maxTime)
			}
		})
	}
}

// checkOutput checks that out is empty when want is, else that it contains
// want.
func checkOutput(t *testing.T, out, want string) {
	t.Helper()
	if want == "" && out != "" || !strings.Contains(out, want) {
		t.Errorf("output %q, want %q", out, want)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
