package translate

import (
	"testing"

	"github.com/vk-docker/vk-docker/dockerhost"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The pod's /etc/hosts has the kubelet's bytes: its header, the localhost
// lines, the pod IP with the hostname (the FQDN first with a subdomain) and
// one line per hostAlias IP with all its names; with hostNetwork, the
// host's file between a header and the aliases.
func TestHostsFile(t *testing.T) {
	const localhost = "# Kubernetes-managed hosts file.\n" +
		"127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\n" +
		"fe00::1\tip6-allnodes\n" +
		"fe00::2\tip6-allrouters\n"
	aliases := []v1.HostAlias{{IP: "127.0.0.2", Hostnames: []string{"foo.local", "bar.local"}}, {IP: "10.1.2.3", Hostnames: []string{"baz"}}}
	const aliasSection = "\n# Entries added by HostAliases.\n127.0.0.2\tfoo.local\tbar.local\n10.1.2.3\tbaz\n"
	cases := []struct {
		name          string
		spec          v1.PodSpec
		clusterDomain string
		ips           []string
		want          dockerhost.HostsFile
		wantNone      bool
	}{
		{name: "the pod name", ips: []string{"172.17.0.5"},
			want: dockerhost.HostsFile{Head: localhost + "172.17.0.5\tweb\n"}},
		{name: "hostname and subdomain", clusterDomain: "cluster.local", ips: []string{"172.17.0.5"},
			spec: v1.PodSpec{Hostname: "db-0", Subdomain: "db"},
			want: dockerhost.HostsFile{Head: localhost + "172.17.0.5\tdb-0.db.shop.svc.cluster.local\tdb-0\n"}},
		{name: "setHostnameAsFQDN changes nothing here", clusterDomain: "cluster.local", ips: []string{"172.17.0.5"},
			spec: v1.PodSpec{Hostname: "db-0", Subdomain: "db", SetHostnameAsFQDN: ptr.To(true)},
			want: dockerhost.HostsFile{Head: localhost + "172.17.0.5\tdb-0.db.shop.svc.cluster.local\tdb-0\n"}},
		{name: "hostnameOverride: that name alone", clusterDomain: "cluster.local", ips: []string{"172.17.0.5"},
			spec: v1.PodSpec{Hostname: "db-0", Subdomain: "db", HostnameOverride: ptr.To("box.example")},
			want: dockerhost.HostsFile{Head: localhost + "172.17.0.5\tbox.example\n"}},
		{name: "hostAliases: a line per IP", ips: []string{"172.17.0.5"}, spec: v1.PodSpec{HostAliases: aliases},
			want: dockerhost.HostsFile{Head: localhost + "172.17.0.5\tweb\n" + aliasSection}},
		{name: "a line per pod IP", ips: []string{"172.17.0.5", "fd00::5"},
			want: dockerhost.HostsFile{Head: localhost + "172.17.0.5\tweb\nfd00::5\tweb\n"}},
		{name: "no pod IP: the runtime's file", wantNone: true},
		{name: "hostNetwork: the host's file and the aliases", spec: v1.PodSpec{HostNetwork: true, HostAliases: aliases},
			want: dockerhost.HostsFile{Head: "# Kubernetes-managed hosts file (host network).\n", KeepCurrent: true, Tail: aliasSection}},
		{name: "hostNetwork without aliases", spec: v1.PodSpec{HostNetwork: true}, ips: []string{"10.0.0.1"},
			want: dockerhost.HostsFile{Head: "# Kubernetes-managed hosts file (host network).\n", KeepCurrent: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &Node{DNS: DNSSettings{ClusterDomain: tc.clusterDomain}}
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: tc.spec}
			got, ok := n.HostsFile(pod, tc.ips)
			if ok == tc.wantNone {
				t.Fatalf("written = %v, want %v", ok, !tc.wantNone)
			}
			if got != tc.want {
				t.Errorf("hosts file\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}
