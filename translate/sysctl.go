package translate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/docker/docker/api/types/container"
	v1 "k8s.io/api/core/v1"
)

// safeSysctls is the kubelet's safe set (pkg/kubelet/sysctl/safe_sysctls.go):
// namespaced sysctls that cannot affect other pods. The kubelet drops the
// ones the node's kernel does not namespace; every kernel a current Docker
// engine runs on (4.15 and later) namespaces them all.
var safeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
	"net.ipv4.tcp_slow_start_after_idle",
	"net.ipv4.tcp_notsent_lowat",
}

// Kernel namespaces a sysctl can live in, named as the kubelet names them
// in its messages.
const (
	sysctlIPC  = "IPC"
	sysctlNet  = "Net"
	sysctlUTS  = "UTS"
	sysctlUser = "User"
)

// sysctlNamespaces and sysctlPrefixNamespaces say which sysctls the Linux
// kernel namespaces (the list of k8s.io/component-helpers/node/util/sysctl).
var (
	sysctlNamespaces = map[string]string{
		"kernel.domainname": sysctlUTS,
		"kernel.sem":        sysctlIPC,
		"kernel.shmall":     sysctlIPC, "kernel.shmmax": sysctlIPC, "kernel.shmmni": sysctlIPC,
		"kernel.shm_rmid_forced": sysctlIPC, "kernel.shm": sysctlIPC,
		"kernel.msgmax": sysctlIPC, "kernel.msgmnb": sysctlIPC, "kernel.msgmni": sysctlIPC,
		"kernel.msg": sysctlIPC,
	}
	sysctlPrefixNamespaces = map[string]string{"net": sysctlNet, "fs.mqueue": sysctlIPC, "user": sysctlUser}
)

// sysctlPattern is the API's pattern of a sysctl name or of a prefix ending
// in "*" (policy validation's SysctlContainSlashPatternFmt).
var sysctlPattern = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*([a-z0-9][-_a-z0-9]*)?[a-z0-9*]$`)

// NormalizeSysctl turns the slash form ("net/ipv4/tcp_syncookies") into the
// dotted one, swapping dots and slashes as the kubelet does.
func NormalizeSysctl(name string) string {
	i := strings.IndexAny(name, "./")
	if i == -1 || name[i] == '.' {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
}

func sysctlNamespace(name string) string {
	if ns, ok := sysctlNamespaces[name]; ok {
		return ns
	}
	for p, ns := range sysctlPrefixNamespaces {
		if strings.HasPrefix(name, p+".") {
			return ns
		}
	}
	return ""
}

// SysctlAllowlist is the node's allowlist: the safe set plus the unsafe
// sysctls or prefixes ("kernel.msg*") an --allowed-unsafe-sysctls flag adds.
type SysctlAllowlist struct {
	names    map[string]string // sysctl → namespace
	prefixes map[string]string // prefix → namespace
}

// NewSysctlAllowlist builds the allowlist; like the kubelet it refuses a
// pattern that is malformed or names a sysctl the kernel does not namespace.
func NewSysctlAllowlist(unsafe []string) (*SysctlAllowlist, error) {
	a := &SysctlAllowlist{names: map[string]string{}, prefixes: map[string]string{}}
	for _, p := range append(append([]string(nil), safeSysctls...), unsafe...) {
		if len(p) > 253 || !sysctlPattern.MatchString(p) {
			return nil, fmt.Errorf("sysctl %q must have at most 253 characters and match regex %s", p, sysctlPattern)
		}
		name := NormalizeSysctl(p)
		prefixed := strings.HasSuffix(name, "*")
		name = strings.TrimSuffix(name, "*")
		ns := sysctlNamespace(name)
		if ns == "" {
			return nil, fmt.Errorf("the sysctls %q are not known to be namespaced", name)
		}
		if prefixed {
			a.prefixes[name] = ns
		} else {
			a.names[name] = ns
		}
	}
	return a, nil
}

// check is the kubelet's validateSysctl: the sysctl must be allowlisted, and
// not live in a namespace the pod shares with the host. Every pod shares the
// host's user namespace under Docker (hostUsers is not supported).
func (a *SysctlAllowlist) check(pod *v1.Pod, sysctl string) error {
	name := NormalizeSysctl(sysctl)
	ns, ok := a.names[name]
	if !ok {
		for p, pns := range a.prefixes {
			if strings.HasPrefix(name, p) {
				ns, ok = pns, true
				break
			}
		}
	}
	if !ok {
		return fmt.Errorf("%q not allowlisted", name)
	}
	hostUsers := pod.Spec.HostUsers == nil || *pod.Spec.HostUsers
	if (ns == sysctlIPC && pod.Spec.HostIPC) || (ns == sysctlNet && pod.Spec.HostNetwork) || (ns == sysctlUser && hostUsers) {
		return fmt.Errorf("%q not allowed with host %s enabled", name, ns)
	}
	return nil
}

// ForbiddenSysctl returns the kubelet's rejection message for the first
// sysctl of pod the allowlist does not admit, or "" when all are admitted.
func (a *SysctlAllowlist) ForbiddenSysctl(pod *v1.Pod) string {
	sc := pod.Spec.SecurityContext
	if sc == nil {
		return ""
	}
	if a == nil {
		a = defaultSysctlAllowlist
	}
	for _, s := range sc.Sysctls {
		if err := a.check(pod, s.Name); err != nil {
			return fmt.Sprintf("forbidden sysctl: %v", err)
		}
	}
	return ""
}

// defaultSysctlAllowlist is the safe set alone.
var defaultSysctlAllowlist = func() *SysctlAllowlist {
	a, err := NewSysctlAllowlist(nil)
	if err != nil {
		panic(err) // the safe set is a constant
	}
	return a
}()

// applySysctls sets the pod's sysctls on its sandbox: they are namespaced,
// and the sandbox owns the network and IPC namespaces the containers join
// (the engine refuses net.* sysctls on a container joining another's).
func applySysctls(pod *v1.Pod, host *container.HostConfig) {
	sc := pod.Spec.SecurityContext
	if sc == nil || len(sc.Sysctls) == 0 {
		return
	}
	host.Sysctls = map[string]string{}
	for _, s := range sc.Sysctls {
		host.Sysctls[NormalizeSysctl(s.Name)] = s.Value
	}
}
