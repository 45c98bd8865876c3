// Package cthread connects Go to a C thread that makes long blocking or
// CPU-heavy calls (a sound server's blocking reads, a video encoder).
//
// A cgo call that lasts milliseconds keeps its processor in a system call
// state; the Go scheduler takes the processor back, and every such retake
// resets its monitor thread (sysmon) to waking every 20 µs for the next
// millisecond or more. With a few hundred such calls a second it never
// slows down again: measured on the 2-core test VM, 3,000 wake-ups a
// second and 0.05 of a core. A C thread of our own makes those calls
// instead, and Go waits for it on a socket, through its poller, like for
// any network read: no thread blocked in cgo, nothing to retake.
package cthread

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// socket returns the two ends of a SOCK_SEQPACKET socket pair (each
// message arrives whole, or not at all): Go's end, in non-blocking mode
// for the poller, and the C thread's end, a blocking file descriptor the
// caller hands to its thread and closes when the thread has ended. The C
// side sends with MSG_NOSIGNAL, so that a send after Go closed its end
// fails with EPIPE instead of raising SIGPIPE.
func socket(name string) (net.Conn, int, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, -1, fmt.Errorf("%s: socket pair: %w", name, err)
	}
	f := os.NewFile(uintptr(fds[0]), name)
	conn, err := net.FileConn(f) // a duplicate of fds[0]
	_ = f.Close()
	if err != nil {
		_ = syscall.Close(fds[1])
		return nil, -1, fmt.Errorf("%s: socket pair: %w", name, err)
	}
	return conn, fds[1], nil
}

// Start makes a socket pair and calls start with the C end, for start to
// hand to a new C thread; it returns Go's end. When start fails, both
// ends are closed (the thread never ran) and its error is returned.
func Start(name string, start func(fd int) error) (net.Conn, error) {
	conn, fd, err := socket(name)
	if err != nil {
		return nil, err
	}
	if err := start(fd); err != nil {
		_ = conn.Close()
		_ = syscall.Close(fd)
		return nil, err
	}
	return conn, nil
}
