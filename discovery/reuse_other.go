//go:build !unix && !windows

package discovery

import "syscall"

// reuseAddrPort is a no-op where sockets have no reuse options.
func reuseAddrPort(_, _ string, _ syscall.RawConn) error { return nil }
