package translate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	v1 "k8s.io/api/core/v1"
)

// SecurityPolicy is what the node lets pods ask for, as the kubelet's flags
// of the same names do.
type SecurityPolicy struct {
	// AllowPrivileged lets containers run privileged (--allow-privileged).
	AllowPrivileged bool
	// Sysctls is the sysctl allowlist; nil means the safe set alone.
	Sysctls *SysctlAllowlist
	// SeccompDefault gives containers without a seccomp profile the engine's
	// default one instead of none (the kubelet's --seccomp-default).
	SeccompDefault bool
	// SeccompProfileRoot is the directory Localhost seccomp profiles are
	// read from; they are passed to the engine as content, so it may be
	// remote.
	SeccompProfileRoot string
}

// EffectiveSecurity is the container's securityContext with the pod's
// settings filled in where the container has none (the kubelet's
// DetermineEffectiveSecurityContext).
func EffectiveSecurity(pod *v1.Pod, c *v1.Container) v1.SecurityContext {
	var sc v1.SecurityContext
	if c.SecurityContext != nil {
		sc = *c.SecurityContext
	}
	psc := pod.Spec.SecurityContext
	if psc == nil {
		return sc
	}
	if sc.SELinuxOptions == nil {
		sc.SELinuxOptions = psc.SELinuxOptions
	}
	if sc.WindowsOptions == nil {
		sc.WindowsOptions = psc.WindowsOptions
	}
	if sc.RunAsUser == nil {
		sc.RunAsUser = psc.RunAsUser
	}
	if sc.RunAsGroup == nil {
		sc.RunAsGroup = psc.RunAsGroup
	}
	if sc.RunAsNonRoot == nil {
		sc.RunAsNonRoot = psc.RunAsNonRoot
	}
	if sc.SeccompProfile == nil {
		sc.SeccompProfile = psc.SeccompProfile
	}
	if sc.AppArmorProfile == nil {
		sc.AppArmorProfile = psc.AppArmorProfile
	}
	return sc
}

// imageUser splits an image's USER ("uid", "name", "uid:gid") as the
// kubelet's runtime does: a numeric user is a uid, anything else a name;
// no user at all is root.
func imageUser(user string) (uid *int64, name string) {
	u, _, _ := strings.Cut(user, ":")
	if u == "" {
		return new(int64), ""
	}
	if n, err := strconv.ParseInt(u, 10, 64); err == nil {
		return &n, ""
	}
	return nil, u
}

// verifyRunAsNonRoot is the kubelet's check of runAsNonRoot, with its
// messages; image is the image's USER.
func verifyRunAsNonRoot(pod *v1.Pod, c *v1.Container, sc v1.SecurityContext, image string) error {
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		return nil
	}
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return fmt.Errorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", FormatPod(pod), c.Name)
		}
		return nil
	}
	uid, name := imageUser(image)
	switch {
	case uid == nil:
		return fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", name, FormatPod(pod), c.Name)
	case *uid == 0:
		return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", FormatPod(pod), c.Name)
	case *uid < 0 || *uid > 1<<31-1:
		return fmt.Errorf("container has runAsNonRoot and image has an invalid user id (%d). (Must be 1-(%d)): must be between 0 and 2147483647, inclusive (pod: %q, container: %s)", *uid, 1<<31-1, FormatPod(pod), c.Name)
	}
	return nil
}

// Engine answers what the security translation must ask the engine.
type Engine interface {
	// ImageUser is the user the image runs as ("" when it sets none).
	ImageUser(ctx context.Context, image string) (string, error)
	// Enforces reports whether the engine enforces a security module
	// ("apparmor", "selinux").
	Enforces(ctx context.Context, module string) (bool, error)
}

// The kubelet's reasons for a container that cannot be created.
const (
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
)

// ApplySecurity translates the container's effective securityContext into
// Docker terms. A non-empty reason means the container cannot be created
// (CreateContainerConfigError, or CreateContainerError for a seccomp
// profile that cannot be read); err is for a failed engine call.
func (n *Node) ApplySecurity(ctx context.Context, engine Engine, pod *v1.Pod, c *v1.Container, cfg *container.Config, host *container.HostConfig) (reason, message string, err error) {
	sc := EffectiveSecurity(pod, c)
	var imgUser string
	if sc.RunAsUser == nil && (sc.RunAsGroup != nil || (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot)) {
		if imgUser, err = engine.ImageUser(ctx, c.Image); err != nil {
			return "", "", err
		}
	}
	if err := verifyRunAsNonRoot(pod, c, sc, imgUser); err != nil {
		return ReasonCreateContainerConfigError, err.Error(), nil
	}
	cfg.User = dockerUser(sc, imgUser)
	host.GroupAdd = podGroups(pod)
	if sc.Capabilities != nil {
		host.CapAdd = capabilityNames(sc.Capabilities.Add)
		host.CapDrop = capabilityNames(sc.Capabilities.Drop)
	}
	host.Privileged = sc.Privileged != nil && *sc.Privileged
	if host.Privileged && !n.Security.AllowPrivileged {
		// Admission holds back pods whose containers ask for it; an
		// ephemeral container added later is refused here, in the words of
		// the kubelet's canRunPod.
		return ReasonCreateContainerConfigError, fmt.Sprintf("pod with UID %q specified privileged container, but is disallowed", pod.UID), nil
	}
	host.ReadonlyRootfs = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		host.SecurityOpt = append(host.SecurityOpt, "no-new-privileges")
	}
	if sc.ProcMount != nil && *sc.ProcMount == v1.UnmaskedProcMount {
		// Empty lists (not absent ones) tell the engine to mask nothing.
		host.MaskedPaths, host.ReadonlyPaths = []string{}, []string{}
	}
	opt, err := n.Security.seccompOpt(sc.SeccompProfile)
	if err != nil {
		return ReasonCreateContainerError, err.Error(), nil
	}
	if opt != "" {
		host.SecurityOpt = append(host.SecurityOpt, opt)
	}
	if p := sc.AppArmorProfile; p != nil {
		// The pod was admitted only if the engine enforces AppArmor when a
		// profile other than Unconfined is asked for.
		switch p.Type {
		case v1.AppArmorProfileTypeUnconfined:
			host.SecurityOpt = append(host.SecurityOpt, "apparmor=unconfined")
		case v1.AppArmorProfileTypeLocalhost:
			if p.LocalhostProfile != nil {
				host.SecurityOpt = append(host.SecurityOpt, "apparmor="+*p.LocalhostProfile)
			}
		}
	}
	if o := sc.SELinuxOptions; o != nil {
		enforced, err := engine.Enforces(ctx, "selinux")
		if err != nil {
			return "", "", err
		}
		if !enforced {
			// Ignored, with an event when the pod was admitted.
			return "", "", nil
		}
		for k, v := range map[string]string{"user": o.User, "role": o.Role, "type": o.Type, "level": o.Level} {
			if v != "" {
				host.SecurityOpt = append(host.SecurityOpt, "label="+k+":"+v)
			}
		}
		slices.Sort(host.SecurityOpt)
	}
	return "", "", nil
}

// dockerUser is the engine's "user[:group]" for runAsUser and runAsGroup; a
// group without a user keeps the image's user (root when it has none).
func dockerUser(sc v1.SecurityContext, image string) string {
	user := ""
	switch {
	case sc.RunAsUser != nil:
		user = strconv.FormatInt(*sc.RunAsUser, 10)
	case sc.RunAsGroup != nil:
		user, _, _ = strings.Cut(image, ":")
		if user == "" {
			user = "0"
		}
	}
	if sc.RunAsGroup != nil {
		user += ":" + strconv.FormatInt(*sc.RunAsGroup, 10)
	}
	return user
}

// podGroups are the supplementary groups of every container: fsGroup and
// supplementalGroups, each once.
func podGroups(pod *v1.Pod) []string {
	psc := pod.Spec.SecurityContext
	if psc == nil {
		return nil
	}
	var out []string
	add := func(g int64) {
		s := strconv.FormatInt(g, 10)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if psc.FSGroup != nil {
		add(*psc.FSGroup)
	}
	for _, g := range psc.SupplementalGroups {
		add(g)
	}
	return out
}

// capabilityNames passes capabilities through; the engine takes the API's
// names ("NET_ADMIN", "ALL") with or without the CAP_ prefix.
func capabilityNames(caps []v1.Capability) []string {
	var out []string
	for _, c := range caps {
		out = append(out, string(c))
	}
	return out
}

// seccompOpt is the engine's seccomp option for a profile: none for
// RuntimeDefault (the engine's default profile), "unconfined" for
// Unconfined and, as under the kubelet without --seccomp-default, for no
// profile at all; a Localhost profile is read here and passed as content.
func (p SecurityPolicy) seccompOpt(profile *v1.SeccompProfile) (string, error) {
	typ := v1.SeccompProfileTypeUnconfined
	if profile != nil {
		typ = profile.Type
	} else if p.SeccompDefault {
		typ = v1.SeccompProfileTypeRuntimeDefault
	}
	switch typ {
	case v1.SeccompProfileTypeRuntimeDefault:
		return "", nil
	case v1.SeccompProfileTypeLocalhost:
		name := ""
		if profile.LocalhostProfile != nil {
			name = *profile.LocalhostProfile
		}
		if p.SeccompProfileRoot == "" {
			return "", fmt.Errorf("cannot load seccomp profile %q: the node has no --seccomp-profile-root", name)
		}
		file := filepath.Join(p.SeccompProfileRoot, filepath.Clean("/"+name))
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("cannot load seccomp profile %q: %w", file, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, b); err != nil {
			return "", fmt.Errorf("cannot load seccomp profile %q: %w", file, err)
		}
		return "seccomp=" + compact.String(), nil
	default:
		return "seccomp=unconfined", nil
	}
}
