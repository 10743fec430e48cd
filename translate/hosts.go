package translate

import (
	"strings"

	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
)

// The headers of the kubelet's /etc/hosts.
const (
	managedHostsHeader            = "# Kubernetes-managed hosts file.\n"
	managedHostsHeaderHostNetwork = "# Kubernetes-managed hosts file (host network).\n"
)

// HostsFile is the pod's /etc/hosts as the kubelet writes it, one file for
// all its containers: for a pod on the pod network, the localhost lines, a
// line per pod IP with the pod's hostname (its FQDN first with a subdomain)
// and the hostAliases; with hostNetwork, the host's own file (KeepCurrent:
// the engine copied the engine machine's /etc/hosts into the sandbox) and
// the hostAliases. ok is false when the kubelet would leave the file to the
// runtime: a pod on the pod network without an IP.
func (n *Node) HostsFile(pod *v1.Pod, podIPs []string) (f dockerhost.HostsFile, ok bool) {
	aliases := hostAliasesSection(pod.Spec.HostAliases)
	if pod.Spec.HostNetwork {
		return dockerhost.HostsFile{Head: managedHostsHeaderHostNetwork, KeepCurrent: true, Tail: aliases}, true
	}
	if len(podIPs) == 0 {
		return dockerhost.HostsFile{}, false
	}
	var b strings.Builder
	b.WriteString(managedHostsHeader)
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	// The kubelet names the pod by hostname and domain whatever
	// setHostnameAsFQDN says: that only changes the kernel's hostname.
	hostname, domain := podHostnameAndDomain(pod, n.DNS.ClusterDomain)
	for _, ip := range podIPs {
		if domain != "" {
			b.WriteString(ip + "\t" + hostname + "." + domain + "\t" + hostname + "\n")
		} else {
			b.WriteString(ip + "\t" + hostname + "\n")
		}
	}
	b.WriteString(aliases)
	return dockerhost.HostsFile{Head: b.String()}, true
}

// hostAliasesSection is the kubelet's section of a pod's hostAliases: one
// line per alias IP with all its names, tab-separated.
func hostAliasesSection(aliases []v1.HostAlias) string {
	if len(aliases) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, a := range aliases {
		b.WriteString(a.IP + "\t" + strings.Join(a.Hostnames, "\t") + "\n")
	}
	return b.String()
}
