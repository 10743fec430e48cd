//go:build !unix

package probes

import "net"

// newDialer returns the dialer of the network probes: a plain one where the
// socket options of the Unix dialer are not available.
func newDialer() *net.Dialer { return &net.Dialer{} }
