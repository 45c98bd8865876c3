package cthread

import (
	"errors"
	"io"
	"syscall"
	"testing"
	"time"
)

// The C thread's end is played here by raw system calls on its descriptor,
// as a C thread would make them.
func TestSocket(t *testing.T) {
	conn, fd, err := socket("test")
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}

	// Messages keep their boundaries: two sends, two reads.
	for _, msg := range []string{"frame one", "e1234"} {
		if err := syscall.Sendmsg(fd, []byte(msg), nil, nil, syscall.MSG_NOSIGNAL); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	for _, want := range []string{"frame one", "e1234"} {
		n, err := conn.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, want)
		}
	}

	// Go to C: the descriptor blocks, as a C thread's read should.
	if _, err := conn.Write([]byte("r")); err != nil {
		t.Fatal(err)
	}
	n, _, _, _, err := syscall.Recvmsg(fd, buf, nil, 0)
	if err != nil || string(buf[:n]) != "r" {
		t.Fatalf("C side read %q, %v; want \"r\"", buf[:n], err)
	}
	if flags, err := fcntl(fd); err != nil || flags&syscall.O_NONBLOCK != 0 {
		t.Errorf("the C end's flags are %#x, %v: want blocking", flags, err)
	}

	// Go closes: the C side's receive sees the end, its send fails
	// with EPIPE and does not kill the process with SIGPIPE.
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _, _, _, err := syscall.Recvmsg(fd, buf, nil, 0); n != 0 || err != nil {
		t.Errorf("C side read after close: %d bytes, %v; want 0, nil", n, err)
	}
	if err := syscall.Sendmsg(fd, []byte("late"), nil, nil, syscall.MSG_NOSIGNAL); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("C side send after close: %v, want EPIPE", err)
	}
	if _, err := conn.Read(buf); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("read on a closed conn: %v, want a closed error", err)
	}
}

func fcntl(fd int) (int, error) {
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(flags), nil
}

// A thread that could not start leaves no descriptor open behind it.
func TestStartFails(t *testing.T) {
	failed := errors.New("no thread")
	var cEnd int
	conn, err := Start("test", func(fd int) error {
		cEnd = fd
		return failed
	})
	if conn != nil || !errors.Is(err, failed) {
		t.Fatalf("Start: %v, %v; want nil, the start's error", conn, err)
	}
	if _, err := fcntl(cEnd); !errors.Is(err, syscall.EBADF) {
		t.Errorf("the C end after a failed start: %v, want EBADF (closed)", err)
	}
}
