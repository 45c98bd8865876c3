//go:build windows

package discovery

import "syscall"

// reuseAddrPort lets this app share UDP port 5353 with Bonjour and other
// copies of itself.
func reuseAddrPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
