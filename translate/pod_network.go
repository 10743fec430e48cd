package translate

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/container"
	v1 "k8s.io/api/core/v1"
)

// Limits of a pod's resolv.conf, as the API validates them and the kubelet
// enforces them on what it composes.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
	maxDNSSearchPathLen   = 253
	maxFQDNLength         = 64
)

// DNSSettings is the node's DNS configuration: the kubelet's --cluster-dns,
// --cluster-domain and the contents of --resolv-conf.
type DNSSettings struct {
	// ClusterDNS are the cluster DNS server IPs; empty makes ClusterFirst
	// pods fall back to Default, with the kubelet's warning.
	ClusterDNS []string
	// ClusterDomain is the cluster's DNS domain (e.g. cluster.local); empty
	// means pods get no cluster search paths and no domain.
	ClusterDomain string
	// Host is the resolver configuration Default pods inherit; nil means none
	// (the kubelet's --resolv-conf=""): the pod resolves through its own
	// loopback, so no query ever leaves it.
	Host *ResolvConf
}

// ResolvConf is the part of a resolv.conf the kubelet reads.
type ResolvConf struct {
	Nameservers, Searches, Options []string
}

// ParseResolvConf reads nameserver, search and options lines the way the
// kubelet does: the last search line wins, options merge by name.
func ParseResolvConf(r io.Reader) (*ResolvConf, error) {
	rc := &ResolvConf{}
	s := bufio.NewScanner(r)
	for s.Scan() {
		fields := strings.Fields(strings.TrimSpace(s.Text()))
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if len(fields) < 2 {
				return nil, fmt.Errorf("resolv.conf: nameserver line without an address")
			}
			rc.Nameservers = append(rc.Nameservers, fields[1])
		case "search":
			rc.Searches = nil
			for _, d := range fields[1:] {
				if d != "." {
					rc.Searches = append(rc.Searches, strings.TrimSuffix(d, "."))
				}
			}
		case "options":
			rc.Options = mergeOptions(rc.Options, fields[1:]...)
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read resolv.conf: %w", err)
	}
	return rc, nil
}

// mergeOptions sets each "name[:value]" option, replacing one of the same
// name and keeping first-seen order.
func mergeOptions(opts []string, more ...string) []string {
	out := append([]string(nil), opts...)
	for _, o := range more {
		name, _, _ := strings.Cut(o, ":")
		replaced := false
		for i, e := range out {
			if en, _, _ := strings.Cut(e, ":"); en == name {
				out[i], replaced = o, true
				break
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

// Event is an event to record about the pod.
type Event struct {
	Type, Reason, Message string
}

// podDNS composes the pod's resolv.conf from its dnsPolicy and dnsConfig as
// the kubelet's DNS configurer does, with the warnings it records.
func (d DNSSettings) podDNS(pod *v1.Pod) (servers, searches, options []string, warnings []Event) {
	host := ResolvConf{Nameservers: []string{"127.0.0.1"}}
	if d.Host != nil {
		host = *d.Host
	}
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = v1.DNSClusterFirst
	}
	cluster := policy == v1.DNSClusterFirstWithHostNet || (policy == v1.DNSClusterFirst && !pod.Spec.HostNetwork)
	switch {
	case policy == v1.DNSNone:
	case cluster && len(d.ClusterDNS) > 0:
		servers = append(servers, d.ClusterDNS...)
		searches = host.Searches
		if d.ClusterDomain != "" {
			searches = uniq(append([]string{pod.Namespace + ".svc." + d.ClusterDomain, "svc." + d.ClusterDomain, d.ClusterDomain}, host.Searches...))
		}
		options = []string{"ndots:5"}
	default:
		if cluster {
			msg := fmt.Sprintf("kubelet does not have ClusterDNS IP configured and cannot create Pod using %q policy. Falling back to %q policy.", v1.DNSClusterFirst, v1.DNSDefault)
			warnings = append(warnings, Event{v1.EventTypeWarning, "MissingClusterDNS", fmt.Sprintf("pod: %q. %s", FormatPod(pod), msg)})
		}
		servers, searches, options = host.Nameservers, host.Searches, host.Options
	}
	if c := pod.Spec.DNSConfig; c != nil {
		servers = uniq(append(append([]string(nil), servers...), c.Nameservers...))
		searches = uniq(append(append([]string(nil), searches...), c.Searches...))
		for _, o := range c.Options {
			opt := o.Name
			if o.Value != nil && *o.Value != "" {
				opt += ":" + *o.Value
			}
			options = mergeOptions(options, opt)
		}
	}
	if len(servers) > maxDNSNameservers {
		servers = servers[:maxDNSNameservers]
		warnings = append(warnings, Event{v1.EventTypeWarning, "DNSConfigForming",
			"Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: " + strings.Join(servers, " ")})
	}
	if s, cut := fitSearches(searches); cut {
		searches = s
		warnings = append(warnings, Event{v1.EventTypeWarning, "DNSConfigForming",
			"Search Line limits were exceeded, some search paths have been omitted, the applied search line is: " + strings.Join(searches, " ")})
	}
	return servers, searches, options, warnings
}

// fitSearches applies the kubelet's limits to a search line.
func fitSearches(in []string) ([]string, bool) {
	cut := false
	if len(in) > maxDNSSearchPaths {
		in, cut = in[:maxDNSSearchPaths], true
	}
	var out []string
	for _, s := range in {
		if len(s) > maxDNSSearchPathLen {
			cut = true
			continue
		}
		out = append(out, s)
	}
	for len(out) > 0 && len(strings.Join(out, " ")) > maxDNSSearchListChars {
		out, cut = out[:len(out)-1], true
	}
	return out, cut
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// podHostnameAndDomain is the pod's hostname and domain as the kubelet
// computes them (GeneratePodHostNameAndDomain): spec.hostnameOverride
// without a domain, or spec.hostname or the pod name (cut to 63
// characters, without a trailing '-' or '.'), and
// subdomain.namespace.svc.clusterDomain with a subdomain.
func podHostnameAndDomain(pod *v1.Pod, clusterDomain string) (hostname, domain string) {
	hostname = pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	override := pod.Spec.HostnameOverride != nil
	if override {
		hostname = *pod.Spec.HostnameOverride
	}
	if len(hostname) > 63 {
		hostname = strings.TrimRight(hostname[:63], "-.")
	}
	if pod.Spec.Subdomain != "" && clusterDomain != "" && !override {
		domain = pod.Spec.Subdomain + "." + pod.Namespace + ".svc." + clusterDomain
	}
	return hostname, domain
}

// podHostname is the sandbox's hostname and domain: those of
// podHostnameAndDomain or, with setHostnameAsFQDN, the whole name as the
// hostname, at most 64 characters.
func podHostname(pod *v1.Pod, clusterDomain string) (hostname, domain string, err error) {
	hostname, domain = podHostnameAndDomain(pod, clusterDomain)
	if pod.Spec.SetHostnameAsFQDN != nil && *pod.Spec.SetHostnameAsFQDN && domain != "" {
		fqdn := hostname + "." + domain
		if len(fqdn) > maxFQDNLength {
			return "", "", fmt.Errorf("failed to construct FQDN from pod hostname and cluster domain, FQDN %s is too long (%d characters is the max, %d characters requested)", fqdn, maxFQDNLength, len(fqdn))
		}
		return fqdn, "", nil
	}
	return hostname, domain, nil
}

// HostNamespaces says which host namespaces the node lets pods use.
type HostNamespaces struct {
	Network, PID, IPC bool
}

// forbiddenHostNamespaces lists the host namespaces the pod asks for that
// the node does not allow, with the flag that would allow each.
func (h HostNamespaces) Forbidden(pod *v1.Pod) []string {
	var why []string
	for _, ns := range []struct {
		asked, allowed bool
		field, flag    string
	}{
		{pod.Spec.HostNetwork, h.Network, "hostNetwork", "--allow-host-network"},
		{pod.Spec.HostPID, h.PID, "hostPID", "--allow-host-pid"},
		{pod.Spec.HostIPC, h.IPC, "hostIPC", "--allow-host-ipc"},
	} {
		if ns.asked && !ns.allowed {
			why = append(why, fmt.Sprintf("%s is not allowed on this node (start vk-docker with %s to allow it)", ns.field, ns.flag))
		}
	}
	return why
}

// ApplyPodNetworking sets what the sandbox owns for the whole pod: its
// namespaces (the host's when asked and allowed), hostname and domain, and
// resolv.conf. The pod's containers join the sandbox's network and so share
// all of it, /etc/hosts too (written once the sandbox runs: see HostsFile).
func (n *Node) ApplyPodNetworking(pod *v1.Pod, cfg *container.Config, host *container.HostConfig) ([]Event, error) {
	if pod.Spec.HostNetwork {
		// The pod is the host on the network: its name and files are the
		// host's, as on a kubelet.
		host.NetworkMode = container.NetworkMode("host")
		cfg.Hostname, cfg.Domainname = "", ""
	} else {
		name, domain, err := podHostname(pod, n.DNS.ClusterDomain)
		if err != nil {
			return nil, err
		}
		cfg.Hostname, cfg.Domainname = name, domain
	}
	if pod.Spec.HostIPC {
		host.IpcMode = container.IPCModeHost
	}
	if pod.Spec.HostPID {
		host.PidMode = container.PidMode("host")
	}
	servers, searches, options, warnings := n.DNS.podDNS(pod)
	if len(servers) == 0 {
		// Docker copies the engine host's resolv.conf when given no server
		// (and adds public resolvers when that names only loopback ones); a
		// resolver with no nameserver line asks the local host, which this
		// says explicitly.
		servers = []string{"127.0.0.1"}
	}
	if len(searches) == 0 {
		// Likewise an empty search list takes the engine host's; "." is none.
		searches = []string{"."}
	}
	host.DNS, host.DNSSearch, host.DNSOptions = servers, searches, options
	return warnings, nil
}

// applyHostNamespaces makes a container share the host's PID and IPC
// namespaces when its pod does, instead of the sandbox's.
func applyHostNamespaces(pod *v1.Pod, host *container.HostConfig) {
	if pod.Spec.HostIPC {
		host.IpcMode = container.IPCModeHost
	}
	if pod.Spec.HostPID {
		host.PidMode = container.PidMode("host")
	}
}
