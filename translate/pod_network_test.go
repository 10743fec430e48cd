package translate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func dnsPod(policy v1.DNSPolicy, hostNetwork bool, cfg *v1.PodDNSConfig) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec:       v1.PodSpec{DNSPolicy: policy, HostNetwork: hostNetwork, DNSConfig: cfg},
	}
}

// The pod's resolv.conf follows the kubelet's DNS configurer for every
// policy, with and without a cluster DNS.
func TestPodDNS(t *testing.T) {
	cluster := DNSSettings{ClusterDNS: []string{"172.17.0.53"}, ClusterDomain: "cluster.local",
		Host: &ResolvConf{Nameservers: []string{"192.168.0.1"}, Searches: []string{"corp.example"}, Options: []string{"timeout:2"}}}
	noCluster := DNSSettings{ClusterDomain: "cluster.local"}
	missing := `Warning MissingClusterDNS pod: "web_shop()". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`
	cases := []struct {
		name                       string
		dns                        DNSSettings
		pod                        *v1.Pod
		servers, searches, options []string
		warnings                   []string
	}{
		{
			name: "ClusterFirst with a cluster DNS",
			dns:  cluster, pod: dnsPod(v1.DNSClusterFirst, false, nil),
			servers:  []string{"172.17.0.53"},
			searches: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"},
			options:  []string{"ndots:5"},
		},
		{
			name: "no policy means ClusterFirst",
			dns:  cluster, pod: dnsPod("", false, nil),
			servers:  []string{"172.17.0.53"},
			searches: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"},
			options:  []string{"ndots:5"},
		},
		{
			name: "ClusterFirst with a cluster DNS and no --resolv-conf: the cluster's search paths only",
			dns:  DNSSettings{ClusterDNS: []string{"172.17.0.53"}, ClusterDomain: "cluster.local"}, pod: dnsPod(v1.DNSClusterFirst, false, nil),
			servers:  []string{"172.17.0.53"},
			searches: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local"},
			options:  []string{"ndots:5"},
		},
		{
			name: "ClusterFirst on the host network is Default",
			dns:  cluster, pod: dnsPod(v1.DNSClusterFirst, true, nil),
			servers: []string{"192.168.0.1"}, searches: []string{"corp.example"}, options: []string{"timeout:2"},
		},
		{
			name: "ClusterFirstWithHostNet on the host network uses the cluster DNS",
			dns:  cluster, pod: dnsPod(v1.DNSClusterFirstWithHostNet, true, nil),
			servers:  []string{"172.17.0.53"},
			searches: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"},
			options:  []string{"ndots:5"},
		},
		{
			name: "Default inherits the node's resolver",
			dns:  cluster, pod: dnsPod(v1.DNSDefault, false, nil),
			servers: []string{"192.168.0.1"}, searches: []string{"corp.example"}, options: []string{"timeout:2"},
		},
		{
			name: "Default without --resolv-conf resolves through the pod's loopback",
			dns:  noCluster, pod: dnsPod(v1.DNSDefault, false, nil),
			servers: []string{"127.0.0.1"},
		},
		{
			name: "ClusterFirst without a cluster DNS falls back to Default, with the kubelet's warning",
			dns:  noCluster, pod: dnsPod(v1.DNSClusterFirst, false, nil),
			servers:  []string{"127.0.0.1"},
			warnings: []string{missing},
		},
		{
			name: "None takes dnsConfig alone",
			dns:  cluster,
			pod: dnsPod(v1.DNSNone, false, &v1.PodDNSConfig{Nameservers: []string{"172.17.0.9"}, Searches: []string{"a.example"},
				Options: []v1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}, {Name: "edns0"}}}),
			servers: []string{"172.17.0.9"}, searches: []string{"a.example"}, options: []string{"ndots:2", "edns0"},
		},
		{
			name: "dnsConfig merges: servers and searches appended without duplicates, options by name",
			dns:  cluster,
			pod: dnsPod(v1.DNSClusterFirst, false, &v1.PodDNSConfig{Nameservers: []string{"172.17.0.53", "172.17.0.54"},
				Searches: []string{"cluster.local", "extra.example"}, Options: []v1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("1")}}}),
			servers:  []string{"172.17.0.53", "172.17.0.54"},
			searches: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example", "extra.example"},
			options:  []string{"ndots:1"},
		},
		{
			name:     "more than three nameservers are cut, with the kubelet's warning",
			dns:      noCluster,
			pod:      dnsPod(v1.DNSNone, false, &v1.PodDNSConfig{Nameservers: []string{"172.17.0.1", "172.17.0.2", "172.17.0.3", "172.17.0.4"}}),
			servers:  []string{"172.17.0.1", "172.17.0.2", "172.17.0.3"},
			warnings: []string{"Warning DNSConfigForming Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 172.17.0.1 172.17.0.2 172.17.0.3"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			servers, searches, options, warnings := tc.dns.podDNS(tc.pod)
			if !reflect.DeepEqual(servers, tc.servers) || !reflect.DeepEqual(searches, tc.searches) || !reflect.DeepEqual(options, tc.options) {
				t.Errorf("resolv.conf = servers %q search %q options %q\nwant servers %q search %q options %q",
					servers, searches, options, tc.servers, tc.searches, tc.options)
			}
			var got []string
			for _, w := range warnings {
				got = append(got, w.Type+" "+w.Reason+" "+w.Message)
			}
			if !reflect.DeepEqual(got, tc.warnings) {
				t.Errorf("warnings = %q, want %q", got, tc.warnings)
			}
		})
	}
}

// Docker fills an empty server or search list from the engine host's
// resolv.conf; the sandbox is given the pod's own lists, or what means
// none, so nothing of the host's leaks into a pod.
func TestSandboxDNSNeverLeftEmpty(t *testing.T) {
	rt := &Node{DNS: DNSSettings{ClusterDomain: "cluster.local"}}
	for _, tc := range []struct {
		name              string
		pod               *v1.Pod
		servers, searches []string
	}{
		{"None without dnsConfig", dnsPod(v1.DNSNone, false, nil), []string{"127.0.0.1"}, []string{"."}},
		{"None with servers only", dnsPod(v1.DNSNone, false, &v1.PodDNSConfig{Nameservers: []string{"172.17.0.9"}}), []string{"172.17.0.9"}, []string{"."}},
		{"None with searches", dnsPod(v1.DNSNone, false, &v1.PodDNSConfig{Searches: []string{"a.example"}}), []string{"127.0.0.1"}, []string{"a.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, host := &container.Config{}, &container.HostConfig{}
			if _, err := rt.ApplyPodNetworking(tc.pod, cfg, host); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(host.DNS, tc.servers) || !reflect.DeepEqual(host.DNSSearch, tc.searches) {
				t.Errorf("sandbox DNS %q search %q, want %q search %q", host.DNS, host.DNSSearch, tc.servers, tc.searches)
			}
		})
	}
}

func TestParseResolvConf(t *testing.T) {
	rc, err := ParseResolvConf(strings.NewReader("# comment\nnameserver 10.1.1.1\nsearch old.example\nsearch a.example. b.example .\noptions ndots:2 timeout:1\noptions ndots:3\nnameserver 10.1.1.2\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &ResolvConf{Nameservers: []string{"10.1.1.1", "10.1.1.2"}, Searches: []string{"a.example", "b.example"}, Options: []string{"ndots:3", "timeout:1"}}
	if !reflect.DeepEqual(rc, want) {
		t.Errorf("parsed %+v, want %+v", rc, want)
	}
}

func TestPodHostname(t *testing.T) {
	long := strings.Repeat("a", 62) + "-bcd"
	cases := []struct {
		name             string
		spec             v1.PodSpec
		podName          string
		hostname, domain string
		err              string
	}{
		{name: "pod name", podName: "web", hostname: "web"},
		{name: "spec.hostname wins", podName: "web", spec: v1.PodSpec{Hostname: "db-0"}, hostname: "db-0"},
		{name: "cut to 63 without a trailing dash", podName: long, hostname: strings.Repeat("a", 62)},
		{name: "subdomain gives a domain", podName: "web", spec: v1.PodSpec{Hostname: "db-0", Subdomain: "db"},
			hostname: "db-0", domain: "db.shop.svc.cluster.local"},
		{name: "setHostnameAsFQDN makes the hostname the FQDN", podName: "web",
			spec:     v1.PodSpec{Hostname: "db-0", Subdomain: "db", SetHostnameAsFQDN: ptr.To(true)},
			hostname: "db-0.db.shop.svc.cluster.local"},
		{name: "hostnameOverride wins, without a domain", podName: "web",
			spec:     v1.PodSpec{Hostname: "db-0", Subdomain: "db", HostnameOverride: ptr.To("box.example")},
			hostname: "box.example"},
		{name: "an FQDN over 64 characters is refused", podName: "web",
			spec: v1.PodSpec{Hostname: strings.Repeat("h", 40), Subdomain: "db", SetHostnameAsFQDN: ptr.To(true)},
			err:  "FQDN " + strings.Repeat("h", 40) + ".db.shop.svc.cluster.local is too long (64 characters is the max, 66 characters requested)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tc.podName, Namespace: "shop"}, Spec: tc.spec}
			h, d, err := podHostname(pod, "cluster.local")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || h != tc.hostname || d != tc.domain {
				t.Errorf("hostname %q domain %q err %v, want %q %q", h, d, err, tc.hostname, tc.domain)
			}
		})
	}
}
