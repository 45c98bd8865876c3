//go:build unix

package discovery

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reuseAddrPort lets several programs on one machine (this app twice, Avahi,
// a browser and an advertiser) share UDP port 5353; each still receives
// every multicast packet.
func reuseAddrPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
