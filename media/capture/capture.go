// Package capture is the desktop app's video sources, encoded: cameras
// (V4L2, through pion/mediadevices' driver) and screens (X11), scaled down
// to a size cap and encoded to VP8 (media/vp8enc) at a bitrate that can
// change while running.
//
// Cameras register at program start (mediadevices scans in its package
// init); Rescan looks again, for cameras plugged in later.
package capture

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/driver/camera"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"parley/media/testsrc"
	"parley/media/vp8enc"
)

// Device is a camera or screen as the pickers list it.
type Device struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// ErrNoDevice means the named camera or screen does not exist (unplugged).
var ErrNoDevice = errors.New("capture: no such device")

// ErrWayland explains why there is nothing to share on a Wayland session
// without a usable X display (XWayland).
var ErrWayland = errors.New("screen sharing needs X11 or XWayland for now")

var scanMu sync.Mutex

// Rescan looks for cameras again.
func Rescan() {
	scanMu.Lock()
	defer scanMu.Unlock()
	camera.Initialize()
}

func list(t driver.DeviceType) []Device {
	scanMu.Lock()
	defer scanMu.Unlock()
	out := []Device{}
	for _, d := range driver.GetManager().Query(driver.FilterDeviceType(t)) {
		info := d.Info()
		label := info.Name
		if label == "" || strings.HasPrefix(label, camera.LabelSeparator) {
			label = info.Label
		}
		out = append(out, Device{ID: d.ID(), Label: strings.TrimSuffix(label, camera.LabelSeparator)})
	}
	return out
}

// Cameras lists the video capture devices (an empty list: no camera).
func Cameras() []Device { return list(driver.Camera) }

// Screens lists the screens that can be shared (none without X11: see
// ScreensErr).
func Screens() []Device {
	list, err := x11Screens()
	if err != nil {
		return []Device{}
	}
	return list
}

// ScreensErr says why there is no screen to share (nil when there is).
func ScreensErr() error {
	list, err := x11Screens()
	if err == nil && len(list) == 0 {
		err = errors.New("capture: the X display has no screen")
	}
	return err
}

func find(t driver.DeviceType, id string) (driver.Driver, error) {
	scanMu.Lock()
	defer scanMu.Unlock()
	for _, d := range driver.GetManager().Query(driver.FilterDeviceType(t)) {
		if id == "" || d.ID() == id || d.Info().Label == id || strings.HasPrefix(d.Info().Name, id) {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrNoDevice, id)
}

// Options shape an encoded source.
type Options struct {
	// MaxWidth, MaxHeight cap the size (aspect ratio kept; never scaled up).
	MaxWidth, MaxHeight int
	FPS                 int
	Bitrate             int // bits per second
	// Screen tunes the encoder for screen content (sharp text).
	Screen bool
	// HalfRateLayer makes every other frame droppable (vp8enc): our own
	// tile shows the camera at half rate, for half the decoding.
	HalfRateLayer bool
}

// ScreenOptions are the defaults for sharing a screen: sharp text at a low
// frame rate.
func ScreenOptions() Options {
	return Options{MaxWidth: 1280, MaxHeight: 720, FPS: 15, Bitrate: 1_200_000, Screen: true}
}

// CameraOptions are the defaults for a camera.
func CameraOptions() Options {
	return Options{MaxWidth: 1280, MaxHeight: 720, FPS: 30, Bitrate: 1_000_000, HalfRateLayer: true}
}

// Source is a capture device encoded to VP8. Read it from one goroutine.
type Source struct {
	closeDevice func() error
	reader      video.Reader
	enc         *vp8enc.Encoder
	start       time.Time
	mu          sync.Mutex // the encoder, which Close frees
	closed      bool
	Width       int
	Height      int
	FPS         int
	// MaxBitrate is the bitrate it was opened with, the most it is worth
	// at its size (SetBitrate goes lower when the network asks).
	MaxBitrate int
	once       sync.Once
}

// OpenScreen starts capturing screen id ("" = the first).
func OpenScreen(id string, opts Options) (*Source, error) {
	r, err := openX11(id, opts.FPS)
	if err != nil {
		return nil, err
	}
	// The encoder scales screen grabs (BGRX) itself, faster and sharper.
	src, err := encode(r, r.w, r.h, false, opts, r.Close)
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	return src, nil
}

// PatternCamera is the id of a virtual camera showing the moving test
// pattern, made and encoded live (for tests and benchmarks on machines
// without a camera). PatternCameraID(n) names more of them.
const PatternCamera = "pattern"

// PatternCameraID is the id of virtual camera n (1 is PatternCamera).
func PatternCameraID(n int) string {
	if n <= 1 {
		return PatternCamera
	}
	return fmt.Sprintf("%s:%d", PatternCamera, n)
}

// PatternCameras lists n virtual pattern cameras, as Cameras lists real
// ones.
func PatternCameras(n int) []Device {
	out := make([]Device, 0, n)
	for i := 1; i <= n; i++ {
		label := "Test pattern"
		if i > 1 {
			label = fmt.Sprintf("Test pattern %d", i)
		}
		out = append(out, Device{ID: PatternCameraID(i), Label: label})
	}
	return out
}

// PatternIndex is n for PatternCameraID(n), and 0 for any other id.
func PatternIndex(id string) int {
	if id == PatternCamera {
		return 1
	}
	if s, ok := strings.CutPrefix(id, PatternCamera+":"); ok {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// IsPattern reports whether id names a virtual pattern camera.
func IsPattern(id string) bool {
	return id == PatternCamera || strings.HasPrefix(id, PatternCamera+":")
}

// OpenCamera starts capturing camera id ("" = the first).
func OpenCamera(id string, opts Options) (*Source, error) {
	if IsPattern(id) {
		w, h := fit(1280, 720, opts.MaxWidth, opts.MaxHeight)
		p := testsrc.NewLivePattern(w, h, opts.FPS)
		return encode(p, w, h, true, opts, p.Close)
	}
	d, err := find(driver.Camera, id)
	if err != nil {
		return nil, err
	}
	return open(d, opts)
}

func open(d driver.Driver, opts Options) (*Source, error) {
	rec, ok := d.(driver.VideoRecorder)
	if !ok {
		return nil, fmt.Errorf("capture: %s is not a video device", d.ID())
	}
	if err := d.Open(); err != nil {
		return nil, fmt.Errorf("capture: open %s: %w", d.ID(), err)
	}
	p, err := choose(d.Properties(), opts)
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	reader, err := rec.VideoRecord(p)
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("capture: record %s: %w", d.ID(), err)
	}
	src, err := encode(reader, p.Width, p.Height, true, opts, d.Close)
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	return src, nil
}

// encode encodes reader's w0×h0 frames at the size cap, scaling them down
// first if scale is set; closeDevice is called by Source.Close.
func encode(reader video.Reader, w0, h0 int, scale bool, opts Options, closeDevice func() error) (*Source, error) {
	w, h := fit(w0, h0, opts.MaxWidth, opts.MaxHeight)
	if scale && (w != w0 || h != h0) {
		// Approximate bilinear: a fraction of the exact filter's cost,
		// enough for a camera's smooth picture (screens keep their text
		// through the encoder's own area averaging).
		reader = video.Scale(w, h, video.ScalerApproxBiLinear)(reader)
	}
	enc, err := vp8enc.New(vp8enc.Options{
		Width: w, Height: h, FPS: opts.FPS, Bitrate: opts.Bitrate, Screen: opts.Screen, HalfRateLayer: opts.HalfRateLayer,
		// Keyframes on request (a viewer joined or lost packets), plus a
		// periodic one so that a viewer whose request got lost still
		// recovers.
		KeyframeInterval: opts.FPS * 4,
	})
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return &Source{closeDevice: closeDevice, reader: reader, enc: enc, Width: w, Height: h, FPS: opts.FPS, MaxBitrate: opts.Bitrate}, nil
}

// choose picks the device mode closest to the cap at the wanted rate.
func choose(modes []prop.Media, opts Options) (prop.Media, error) {
	if len(modes) == 0 {
		return prop.Media{}, errors.New("capture: the device reports no video modes")
	}
	best, bestScore := modes[0], -1.0
	for _, m := range modes {
		if m.Width <= 0 || m.Height <= 0 {
			continue
		}
		// Prefer the largest mode within the cap; then the smallest above
		// it (it gets scaled down); formats libvpx takes without
		// decompressing first.
		score := float64(m.Width * m.Height)
		if m.Width > opts.MaxWidth || m.Height > opts.MaxHeight {
			score = 1e7 / score
		}
		if m.FrameFormat == frame.FormatMJPEG {
			score *= 0.9
		}
		if score > bestScore {
			best, bestScore = m, score
		}
	}
	best.FrameRate = float32(opts.FPS)
	return best, nil
}

// fit scales w×h down into maxW×maxH keeping the aspect ratio, to even
// sizes (VP8 wants them).
func fit(w, h, maxW, maxH int) (int, int) {
	if maxW <= 0 || maxH <= 0 || (w <= maxW && h <= maxH) {
		return w &^ 1, h &^ 1
	}
	s := min(float64(maxW)/float64(w), float64(maxH)/float64(h))
	return int(float64(w)*s) &^ 1, int(float64(h)*s) &^ 1
}

// Read returns the next encoded frame, blocking until the device delivers
// one. Its data is valid until the next Read.
func (s *Source) Read() (vp8enc.Frame, error) {
	for {
		f, err := s.readOne()
		if err != nil || len(f.Data) > 0 {
			return f, err
		}
		// The encoder dropped the frame (over its budget): on to the next.
	}
}

func (s *Source) readOne() (vp8enc.Frame, error) {
	img, release, err := s.reader.Read()
	if err != nil {
		return vp8enc.Frame{}, err
	}
	defer release()
	now := time.Now()
	if s.start.IsZero() {
		s.start = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return vp8enc.Frame{}, io.EOF
	}
	return s.enc.Encode(img, now.Sub(s.start))
}

// ForceKeyframe makes the next frame a keyframe.
func (s *Source) ForceKeyframe() { s.enc.ForceKeyframe() }

// SetBitrate changes the encoder's target bitrate (bits per second) from
// the next frame on.
func (s *Source) SetBitrate(bps int) { s.enc.SetBitrate(bps) }

// Bitrate is the encoder's target bitrate.
func (s *Source) Bitrate() int { return s.enc.Bitrate() }

// Close stops the device and the encoder. The device goes first: that
// ends a Read waiting for its next frame, as unplugging it would.
func (s *Source) Close() error {
	var err error
	s.once.Do(func() {
		err = s.closeDevice()
		s.mu.Lock()
		s.closed = true
		s.enc.Close()
		s.mu.Unlock()
	})
	return err
}
