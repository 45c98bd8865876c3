package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/pion/mediadevices/pkg/io/video"
)

// Screens are captured with plain X11 GetImage requests (jezek/xgb), not
// with mediadevices' screen driver: its MIT-SHM capture returns black
// frames under Xvfb and in containers where the X server cannot attach
// the client's shared memory, and it reports no error when it does. A
// GetImage of a 1280×720 screen is 3.7 MB over the local socket, which at
// ≤ 15 fps is cheap next to encoding it.

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
	img   *image.RGBA
	depth byte
	once  sync.Once
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
	r.img = image.NewRGBA(image.Rect(0, 0, r.w, r.h))
	r.tick = time.NewTicker(time.Second / time.Duration(fps))
	return r, nil
}

// Read waits for the next frame time and grabs the screen; io.EOF once
// closed.
func (r *x11Reader) Read() (image.Image, func(), error) {
	select {
	case <-r.tick.C:
	case <-r.done:
		return nil, func() {}, io.EOF
	}
	reply, err := xproto.GetImage(r.c, xproto.ImageFormatZPixmap, xproto.Drawable(r.root),
		0, 0, uint16(r.w), uint16(r.h), 0xffffffff).Reply()
	if err != nil {
		return nil, func() {}, fmt.Errorf("capture: grab screen: %w", err)
	}
	data := reply.Data
	if len(data) < r.w*r.h*4 {
		return nil, func() {}, fmt.Errorf("capture: short screen image (%d bytes)", len(data))
	}
	// 24/32-bit ZPixmap on a little-endian server is B, G, R, X.
	pix := r.img.Pix
	for i := 0; i+3 < len(pix) && i+3 < len(data); i += 4 {
		pix[i], pix[i+1], pix[i+2], pix[i+3] = data[i+2], data[i+1], data[i], 0xff
	}
	return r.img, func() {}, nil
}

func (r *x11Reader) Close() error {
	r.once.Do(func() {
		r.tick.Stop()
		close(r.done)
		r.c.Close()
	})
	return nil
}

var _ video.Reader = (*x11Reader)(nil)
