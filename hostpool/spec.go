// Package hostpool is the set of Docker hosts one node fronts: how they are
// named and reached (--docker-host, --docker-cert-path), whether each
// answers, what each has, and on which one a new pod goes.
package hostpool

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// DefaultLocalHost is the engine's socket when neither a flag nor
// DOCKER_HOST names one.
const DefaultLocalHost = "unix:///var/run/docker.sock"

// Spec says how to reach one Docker host.
type Spec struct {
	// URL is the engine's address (unix:// or tcp://); it names the host
	// in logs, events, conditions and container labels.
	URL string
	// CertDir holds ca.pem, cert.pem and key.pem (the layout of
	// DOCKER_CERT_PATH); empty for a plain connection.
	CertDir string
	// FromEnv connects the way the docker CLI does with no -H flag:
	// DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
	FromEnv bool
}

// Remote reports whether the engine is reached over the network: its pod
// IPs may then not be routable from here, and its disk is not this
// machine's.
func (s Spec) Remote() bool { return !strings.HasPrefix(s.URL, "unix://") }

// Address is the engine's host as an IP address when its URL names one
// (tcp://IP:port); empty for a local socket or a host name.
func (s Spec) Address() string {
	u, err := url.Parse(s.URL)
	if err != nil || u.Scheme != "tcp" {
		return ""
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil {
		return ip.String()
	}
	return ""
}

// ParseSpecs reads the repeatable --docker-host URL and --docker-cert-path
// URL=DIR flags. With no --docker-host the one host is the docker CLI's:
// DOCKER_HOST (the local socket when unset), over TLS when
// DOCKER_TLS_VERIFY is set, with DOCKER_CERT_PATH's certificates.
func ParseSpecs(hosts, certPaths []string) ([]Spec, error) {
	if len(hosts) == 0 {
		if len(certPaths) > 0 {
			return nil, fmt.Errorf("--docker-cert-path needs the --docker-host it names")
		}
		u := os.Getenv("DOCKER_HOST")
		if u == "" {
			u = DefaultLocalHost
		}
		return []Spec{{URL: u, FromEnv: true}}, nil
	}
	specs := make([]Spec, 0, len(hosts))
	index := map[string]int{}
	for _, h := range hosts {
		u, err := url.Parse(h)
		if err != nil || (u.Scheme != "unix" && u.Scheme != "tcp") || (u.Scheme == "tcp" && u.Host == "") || (u.Scheme == "unix" && u.Path == "") {
			return nil, fmt.Errorf("--docker-host %q: want unix:///path or tcp://host:port", h)
		}
		if _, dup := index[h]; dup {
			return nil, fmt.Errorf("--docker-host %q given twice", h)
		}
		index[h] = len(specs)
		specs = append(specs, Spec{URL: h})
	}
	for _, cp := range certPaths {
		h, dir, ok := strings.Cut(cp, "=")
		if !ok || dir == "" {
			return nil, fmt.Errorf("--docker-cert-path %q: want URL=DIR", cp)
		}
		i, known := index[h]
		if !known {
			return nil, fmt.Errorf("--docker-cert-path %q: %s is not a --docker-host", cp, h)
		}
		if !strings.HasPrefix(h, "tcp://") {
			return nil, fmt.Errorf("--docker-cert-path %q: TLS is for tcp:// hosts", cp)
		}
		for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
			if _, err := os.Stat(dir + "/" + f); err != nil {
				return nil, fmt.Errorf("--docker-cert-path %q: %w", cp, err)
			}
		}
		specs[i].CertDir = dir
	}
	return specs, nil
}
