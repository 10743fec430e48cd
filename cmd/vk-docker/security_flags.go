package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vk-docker/vk-docker/translate"
)

// securityOptions are the flags that say what pods may ask for in their
// securityContext, named after the kubelet's.
type securityOptions struct {
	allowPrivileged      bool
	allowedUnsafeSysctls []string
	seccompDefault       bool
	seccompProfileRoot   string
}

func (s *securityOptions) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.BoolVar(&s.allowPrivileged, "allow-privileged", false, "let containers run privileged; without it a pod with a privileged container stays Pending (reason Forbidden)")
	f.StringSliceVar(&s.allowedUnsafeSysctls, "allowed-unsafe-sysctls", nil, "unsafe sysctls or sysctl patterns (ending in *) pods may set besides the safe set, comma-separated (\"kernel.msg*,net.core.somaxconn\")")
	f.BoolVar(&s.seccompDefault, "seccomp-default", false, "run containers without a seccompProfile under the engine's default profile (RuntimeDefault) instead of Unconfined")
	f.StringVar(&s.seccompProfileRoot, "seccomp-profile-root", "", "directory of this machine that Localhost seccomp profiles are read from")
}

// policy checks the flags and returns the node's security policy.
func (s *securityOptions) policy() (translate.SecurityPolicy, error) {
	sysctls, err := translate.NewSysctlAllowlist(s.allowedUnsafeSysctls)
	if err != nil {
		return translate.SecurityPolicy{}, fmt.Errorf("--allowed-unsafe-sysctls: %w", err)
	}
	return translate.SecurityPolicy{
		AllowPrivileged:    s.allowPrivileged,
		Sysctls:            sysctls,
		SeccompDefault:     s.seccompDefault,
		SeccompProfileRoot: s.seccompProfileRoot,
	}, nil
}
