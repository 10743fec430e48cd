//go:build unix

package probes

import (
	"net"
	"syscall"
)

// newDialer returns the dialer of the network probes. Like the kubelet's
// (pkg/probe/dialer_others.go), it sets SO_LINGER to 1 second on every socket
// so that the many short connections of probes do not linger in TIME-WAIT
// for the OS default of a minute, while still closing with a FIN rather than
// a RST.
func newDialer() *net.Dialer {
	return &net.Dialer{
		Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				_ = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER,
					&syscall.Linger{Onoff: 1, Linger: 1})
			})
		},
	}
}
