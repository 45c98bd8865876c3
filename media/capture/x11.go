package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
	"github.com/pion/mediadevices/pkg/io/video"
	"golang.org/x/sys/unix"

	"parley/media/vp8enc"
)

// Screens are captured with X11 requests of our own (jezek/xgb), not with
// mediadevices' screen driver: its MIT-SHM capture returns black frames
// under Xvfb and in containers where the X server cannot attach the
// client's shared memory, and it reports no error when it does. Ours
// uses MIT-SHM only once the server has attached the segment and a grab
// through it matched a plain GetImage of the same screen; otherwise it
// stays with GetImage. A GetImage of a 1280×720 screen is 3.7 MB over the
// local socket, read into two fresh buffers. Frames go to the encoder in
// the server's byte order (vp8enc.BGRX), which scales them itself.

const screenPrefix = "x11:"

var quietXGB sync.Once

// connect opens the X display, without xgb's log lines about a missing
// ~/.Xauthority (it then connects without, as Xlib does).
func connect() (*xgb.Conn, error) {
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })
	return xgb.NewConn()
}

// wayland reports a Wayland session (where, without XWayland, there is
// no X display to capture).
func wayland() bool {
	return os.Getenv("WAYLAND_DISPLAY") != "" || os.Getenv("XDG_SESSION_TYPE") == "wayland"
}

// displayErr explains a missing or unusable X display; on Wayland it is
// ErrWayland, which the UI shows as it is.
func displayErr(err error) error {
	if wayland() {
		return fmt.Errorf("%w (%v)", ErrWayland, err)
	}
	return fmt.Errorf("capture: X display: %w", err)
}

// x11Screens lists the screens of the X display ($DISPLAY).
func x11Screens() ([]Device, error) {
	if os.Getenv("DISPLAY") == "" {
		return nil, displayErr(errors.New("$DISPLAY is not set"))
	}
	c, err := connect()
	if err != nil {
		return nil, displayErr(err)
	}
	defer c.Close()
	var out []Device
	for i, root := range xproto.Setup(c).Roots {
		out = append(out, Device{
			ID:    screenPrefix + strconv.Itoa(i),
			Label: fmt.Sprintf("Screen %d (%d×%d)", i+1, root.WidthInPixels, root.HeightInPixels),
		})
	}
	return out, nil
}

// x11Reader captures one X screen at fps frames per second.
type x11Reader struct {
	c     *xgb.Conn
	root  xproto.Window
	w, h  int
	tick  *time.Ticker
	done  chan struct{} // closed by Close: a waiting Read returns
	frame vp8enc.BGRX
	depth byte
	once  sync.Once
	// Held from a grab until its frame is released, and by Close.
	inUse sync.Mutex
	// The shared-memory segment the server writes frames into (nil:
	// GetImage).
	shmMem []byte
	shmSeg shm.Seg
}

func openX11(id string, fps int) (*x11Reader, error) {
	n := 0
	if id != "" {
		s, ok := strings.CutPrefix(id, screenPrefix)
		v, err := strconv.Atoi(s)
		if !ok || err != nil {
			return nil, fmt.Errorf("%w: %q", ErrNoDevice, id)
		}
		n = v
	}
	if os.Getenv("DISPLAY") == "" {
		return nil, displayErr(errors.New("$DISPLAY is not set"))
	}
	c, err := connect()
	if err != nil {
		return nil, displayErr(err)
	}
	roots := xproto.Setup(c).Roots
	if n < 0 || n >= len(roots) {
		c.Close()
		return nil, fmt.Errorf("%w: %q", ErrNoDevice, id)
	}
	root := roots[n]
	if root.RootDepth != 24 && root.RootDepth != 32 {
		c.Close()
		return nil, fmt.Errorf("capture: screen %d has depth %d; only 24 and 32 bits are supported", n, root.RootDepth)
	}
	r := &x11Reader{c: c, root: root.Root, w: int(root.WidthInPixels), h: int(root.HeightInPixels), depth: root.RootDepth, done: make(chan struct{})}
	r.frame = vp8enc.BGRX{Stride: r.w * 4, Rect: image.Rect(0, 0, r.w, r.h)}
	if err := r.useSharedMemory(); err != nil {
		slog.Debug("screen capture without shared memory", "err", err)
	}
	r.tick = time.NewTicker(time.Second / time.Duration(fps))
	return r, nil
}

// useSharedMemory sets up MIT-SHM capture, and keeps it only if a grab
// through it shows what GetImage shows.
func (r *x11Reader) useSharedMemory() error {
	if err := shm.Init(r.c); err != nil {
		return err
	}
	size := r.w * r.h * 4
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|0o600)
	if err != nil {
		return fmt.Errorf("shmget: %w", err)
	}
	// Removed once both ends have detached (also when this process dies).
	defer func() { _, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil) }()
	mem, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		return fmt.Errorf("shmat: %w", err)
	}
	seg, err := shm.NewSegId(r.c)
	if err == nil {
		err = shm.AttachChecked(r.c, seg, uint32(id), false).Check()
	}
	if err != nil {
		_ = unix.SysvShmDetach(mem)
		return fmt.Errorf("the X server cannot attach the segment: %w", err)
	}
	r.shmMem, r.shmSeg = mem, seg
	if err := r.sharedMemoryMatches(); err != nil {
		r.dropSharedMemory()
		return err
	}
	return nil
}

// sharedMemoryMatches compares a grab through shared memory with one by
// GetImage, twice if the screen changed in between.
func (r *x11Reader) sharedMemoryMatches() error {
	for try := 0; ; try++ {
		viaShm, err := r.grabShared()
		if err != nil {
			return err
		}
		viaShm = append([]byte(nil), viaShm...)
		plain, err := r.grabPlain()
		if err != nil {
			return err
		}
		if sameScreen(viaShm, plain) {
			return nil
		}
		if try == 1 {
			return errors.New("a grab through shared memory differs from GetImage")
		}
	}
}

// sameScreen compares two BGRX grabs, ignoring the unused fourth byte.
func sameScreen(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i+3 < len(a); i += 4 {
		if a[i] != b[i] || a[i+1] != b[i+1] || a[i+2] != b[i+2] {
			return false
		}
	}
	return true
}

func (r *x11Reader) dropSharedMemory() {
	if r.shmMem == nil {
		return
	}
	_ = shm.DetachChecked(r.c, r.shmSeg).Check()
	_ = unix.SysvShmDetach(r.shmMem)
	r.shmMem = nil
}

// grab returns the screen in the server's 24/32-bit ZPixmap layout, which
// on a little-endian server is B, G, R, X; valid until the next grab.
func (r *x11Reader) grab() ([]byte, error) {
	if r.shmMem != nil {
		return r.grabShared()
	}
	return r.grabPlain()
}

func (r *x11Reader) grabShared() ([]byte, error) {
	_, err := shm.GetImage(r.c, xproto.Drawable(r.root), 0, 0, uint16(r.w), uint16(r.h), 0xffffffff,
		xproto.ImageFormatZPixmap, r.shmSeg, 0).Reply()
	if err != nil {
		return nil, err
	}
	return r.shmMem, nil
}

func (r *x11Reader) grabPlain() ([]byte, error) {
	reply, err := xproto.GetImage(r.c, xproto.ImageFormatZPixmap, xproto.Drawable(r.root),
		0, 0, uint16(r.w), uint16(r.h), 0xffffffff).Reply()
	if err != nil {
		return nil, err
	}
	if len(reply.Data) < r.w*r.h*4 {
		return nil, fmt.Errorf("short screen image (%d bytes)", len(reply.Data))
	}
	return reply.Data, nil
}

// Read waits for the next frame time and grabs the screen: a BGRX frame
// that may be the shared segment itself, so it must be released (before
// the next Read); io.EOF once closed.
func (r *x11Reader) Read() (image.Image, func(), error) {
	select {
	case <-r.tick.C:
	case <-r.done:
		return nil, func() {}, io.EOF
	}
	r.inUse.Lock()
	select {
	case <-r.done: // closed while this Read waited for the lock
		r.inUse.Unlock()
		return nil, func() {}, io.EOF
	default:
	}
	data, err := r.grab()
	if err != nil {
		r.inUse.Unlock()
		return nil, func() {}, fmt.Errorf("capture: grab screen: %w", err)
	}
	r.frame.Pix = data
	var release sync.Once
	return &r.frame, func() { release.Do(r.inUse.Unlock) }, nil
}

// Close ends a Read waiting for its frame time, and detaches the shared
// segment once the frame being encoded from it is released.
func (r *x11Reader) Close() error {
	r.once.Do(func() {
		r.tick.Stop()
		close(r.done)
		r.inUse.Lock()
		defer r.inUse.Unlock()
		r.dropSharedMemory()
		r.c.Close()
	})
	return nil
}

var _ video.Reader = (*x11Reader)(nil)
