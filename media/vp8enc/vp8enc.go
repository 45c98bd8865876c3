// Package vp8enc is the desktop app's VP8 encoder: libvpx through cgo, set
// up for live calls. pion/mediadevices' wrapper cannot set libvpx's speed
// (cpu-used) or tune for screen content, and allocates per frame; this one
// encodes at the realtime deadline with a speed chosen per source,
// changes its bitrate without a restart, makes a keyframe when asked, and
// reuses its buffers (no Go allocation per frame once the output buffer
// has grown to the largest frame). libvpx runs on a C thread of the
// encoder's own, which Encode waits for without holding a Go thread in a
// cgo call (see package cthread).
package vp8enc

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/socket.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	vpx_image_t img;
	unsigned char *planes;
	const unsigned char *out;
	size_t out_len;
	int key;
	// The encoding thread's job, set by Go before it asks for a frame.
	long long pts;
	unsigned long dur;
	int force_key, droppable;
	vpx_codec_err_t err;
	int fd;
	pthread_t thread;
} parley_vp8;

static vpx_codec_err_t parley_vp8_open(parley_vp8 *e, int w, int h, int kbps, int screen,
		int cpu, int kf_max, int threads) {
	vpx_codec_err_t err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (err != VPX_CODEC_OK) return err;
	vpx_codec_enc_cfg_t *c = &e->cfg;
	c->g_w = w;
	c->g_h = h;
	c->g_threads = threads;
	// 90 kHz, the RTP clock: frame durations come from capture times.
	c->g_timebase.num = 1;
	c->g_timebase.den = 90000;
	c->g_lag_in_frames = 0;
	c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	c->g_pass = VPX_RC_ONE_PASS;
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = kbps;
	c->rc_min_quantizer = screen ? 4 : 2;
	c->rc_max_quantizer = screen ? 52 : 56;
	c->rc_undershoot_pct = 100;
	c->rc_overshoot_pct = 15;
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	c->rc_dropframe_thresh = 0;
	c->rc_resize_allowed = 0;
	if (kf_max > 0) {
		c->kf_mode = VPX_KF_AUTO;
		c->kf_min_dist = 0;
		c->kf_max_dist = kf_max;
	} else {
		c->kf_mode = VPX_KF_DISABLED;
	}
	err = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), c, 0);
	if (err != VPX_CODEC_OK) return err;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, cpu)) != VPX_CODEC_OK) goto fail;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0)) != VPX_CODEC_OK) goto fail;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION)) != VPX_CODEC_OK) goto fail;
	// A keyframe may take 3 frames' worth of bits, not a burst of 10.
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300)) != VPX_CODEC_OK) goto fail;
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_SCREEN_CONTENT_MODE, screen ? 1 : 0)) != VPX_CODEC_OK) goto fail;
	// Skips unchanged blocks: most of a shared screen, most of the time.
	if ((err = vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, screen ? 100 : 1)) != VPX_CODEC_OK) goto fail;
	e->planes = malloc((size_t)w * h * 3 / 2);
	if (e->planes == NULL) {
		err = VPX_CODEC_MEM_ERROR;
		goto fail;
	}
	vpx_img_wrap(&e->img, VPX_IMG_FMT_I420, w, h, 1, e->planes);
	return VPX_CODEC_OK;
fail:
	vpx_codec_destroy(&e->ctx);
	return err;
}

static vpx_codec_err_t parley_vp8_encode(parley_vp8 *e, long long pts, unsigned long dur, int key, int droppable) {
	e->out = NULL;
	e->out_len = 0;
	e->key = 0;
	vpx_enc_frame_flags_t flags = key ? VPX_EFLAG_FORCE_KF : 0;
	if (droppable && !key) {
		// Updates no reference buffer: no later frame depends on it.
		flags |= VP8_EFLAG_NO_UPD_LAST | VP8_EFLAG_NO_UPD_GF | VP8_EFLAG_NO_UPD_ARF;
	}
	vpx_codec_err_t err = vpx_codec_encode(&e->ctx, &e->img, pts, dur, flags, VPX_DL_REALTIME);
	if (err != VPX_CODEC_OK) return err;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (pkt->kind == VPX_CODEC_CX_FRAME_PKT) {
			// One token partition and no lag: one packet per frame.
			e->out = pkt->data.frame.buf;
			e->out_len = pkt->data.frame.sz;
			e->key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
		}
	}
	return VPX_CODEC_OK;
}

// parley_vp8_run encodes a frame for each byte Go sends and answers with
// one byte when the frame is in e->out (see package cthread for why not
// call libvpx from Go). It ends when Go closes its end.
static void *parley_vp8_run(void *arg) {
	parley_vp8 *e = arg;
	char c;
	while (recv(e->fd, &c, 1, 0) == 1) {
		e->err = parley_vp8_encode(e, e->pts, e->dur, e->force_key, e->droppable);
		if (send(e->fd, &c, 1, MSG_NOSIGNAL) != 1) break;
	}
	return NULL;
}

static int parley_vp8_start(parley_vp8 *e, int fd) {
	e->fd = fd;
	return pthread_create(&e->thread, NULL, parley_vp8_run, e);
}

// parley_vp8_end waits for the thread whose Go end is closed.
static void parley_vp8_end(parley_vp8 *e) {
	pthread_join(e->thread, NULL);
	close(e->fd);
}

static vpx_codec_err_t parley_vp8_set_bitrate(parley_vp8 *e, int kbps) {
	e->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg);
}

static void parley_vp8_close(parley_vp8 *e) {
	vpx_codec_destroy(&e->ctx);
	free(e->planes);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"sync/atomic"
	"time"
	"unsafe"

	"parley/media/cthread"
)

// Options shape an Encoder.
type Options struct {
	Width, Height int // even
	FPS           int // the expected rate, for the first frame's duration
	Bitrate       int // bits per second
	// Screen tunes for screen content: sharper text, unchanged areas
	// skipped, a slower (better) speed setting.
	Screen bool
	// KeyframeInterval makes a keyframe at least every so many frames
	// (0: only the first and those asked for).
	KeyframeInterval int
	// Speed is libvpx's cpu-used (0 … 16, higher is faster and blurrier);
	// 0 picks the default for the content: 16 for a camera (720p at 1
	// Mbit/s: 5 ms a frame instead of 8.5 at 12, luma PSNR 31.84 dB
	// instead of 31.85 on the moving test scene), 6 for a screen
	// (text stays sharp; unchanged areas cost little anyway).
	Speed int
	// Threads for libvpx [1].
	Threads int
	// HalfRateLayer makes every other frame one that no later frame
	// refers to (Frame.Droppable): a receiver can skip those and decode
	// at half the rate, as the self view does.
	HalfRateLayer bool
}

// Frame is one encoded frame.
type Frame struct {
	// Data is valid until the next Encode; empty when the encoder
	// dropped the frame.
	Data     []byte
	Keyframe bool
	// Droppable: no later frame refers to this one (Options.HalfRateLayer).
	Droppable bool
}

// Error is a libvpx error.
type Error struct {
	Op   string
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("vp8enc: %s: %s", e.Op, e.Msg) }

// ErrClosed is returned by Encode after Close.
var ErrClosed = errors.New("vp8enc: closed")

// Encoder encodes I420 frames to VP8. Encode and Close from one goroutine;
// ForceKeyframe and SetBitrate from any.
type Encoder struct {
	c        *C.parley_vp8
	thread   net.Conn // to the encoding thread
	signal   []byte
	w, h     int
	frameDur uint64 // 90 kHz
	y, u, v  []byte // the C-side I420 planes the encoder reads
	out      []byte
	scratch  *image.RGBA // other image types are drawn here first
	// The BGRX frame the planes hold; an empty Rect, which no frame has,
	// when they hold none (Pix stays, as the buffer for the next).
	lastBGRX   BGRX
	changed    []byte // per row of a BGRX frame: 1 where it differs from lastBGRX
	lastPTS    int64
	started    bool
	halfRate   bool
	frames     int64 // encoded so far, for the half-rate layer
	curBitrate int

	forceKey atomic.Bool
	bitrate  atomic.Int64 // wanted, applied before the next frame
}

// New starts an encoder.
func New(opts Options) (*Encoder, error) {
	if opts.Width <= 0 || opts.Height <= 0 || opts.Width%2 != 0 || opts.Height%2 != 0 {
		return nil, fmt.Errorf("vp8enc: size %dx%d must be positive and even", opts.Width, opts.Height)
	}
	if opts.FPS <= 0 || opts.Bitrate <= 0 {
		return nil, fmt.Errorf("vp8enc: fps %d and bitrate %d must be positive", opts.FPS, opts.Bitrate)
	}
	speed := opts.Speed
	if speed == 0 {
		speed = 16
		if opts.Screen {
			speed = 6
		}
	}
	threads := max(opts.Threads, 1)
	c := (*C.parley_vp8)(C.calloc(1, C.sizeof_parley_vp8))
	if c == nil {
		return nil, errors.New("vp8enc: out of memory")
	}
	screen := 0
	if opts.Screen {
		screen = 1
	}
	if err := C.parley_vp8_open(c, C.int(opts.Width), C.int(opts.Height), C.int(kbps(opts.Bitrate)),
		C.int(screen), C.int(speed), C.int(opts.KeyframeInterval), C.int(threads)); err != C.VPX_CODEC_OK {
		C.free(unsafe.Pointer(c))
		return nil, &Error{Op: "open", Code: int(err), Msg: C.GoString(C.vpx_codec_err_to_string(err))}
	}
	conn, err := cthread.Start("vp8 encoder", func(fd int) error {
		if C.parley_vp8_start(c, C.int(fd)) != 0 {
			return errors.New("vp8enc: cannot start the encoding thread")
		}
		return nil
	})
	if err != nil {
		C.parley_vp8_close(c)
		C.free(unsafe.Pointer(c))
		return nil, err
	}
	ySize := opts.Width * opts.Height
	planes := unsafe.Slice((*byte)(unsafe.Pointer(c.planes)), ySize*3/2)
	e := &Encoder{
		c: c, thread: conn, signal: make([]byte, 1), w: opts.Width, h: opts.Height,
		frameDur:   uint64(90_000 / opts.FPS),
		y:          planes[:ySize:ySize],
		u:          planes[ySize : ySize+ySize/4 : ySize+ySize/4],
		v:          planes[ySize+ySize/4:],
		curBitrate: opts.Bitrate,
		halfRate:   opts.HalfRateLayer,
	}
	e.bitrate.Store(int64(opts.Bitrate))
	return e, nil
}

func kbps(bps int) int { return max((bps+500)/1000, 1) }

// Size is the frame size the encoder takes.
func (e *Encoder) Size() (int, int) { return e.w, e.h }

// ForceKeyframe makes the next frame a keyframe (a viewer's PLI).
func (e *Encoder) ForceKeyframe() { e.forceKey.Store(true) }

// SetBitrate changes the target bitrate (bits per second) from the next
// frame on; the encoder keeps its state (no keyframe).
func (e *Encoder) SetBitrate(bps int) {
	if bps > 0 {
		e.bitrate.Store(int64(bps))
	}
}

// Bitrate is the target bitrate in force (bits per second).
func (e *Encoder) Bitrate() int { return int(e.bitrate.Load()) }

// Encode encodes img (Width×Height, or a larger BGRX frame, which it
// scales down) captured at pts (time since the stream's start; it sets
// the frame's duration, which rate control needs when capture runs
// slower than FPS).
func (e *Encoder) Encode(img image.Image, pts time.Duration) (Frame, error) {
	if e.c == nil {
		return Frame{}, ErrClosed
	}
	if b := img.Bounds(); b.Dx() != e.w || b.Dy() != e.h {
		_, bgrx := img.(*BGRX)
		if !bgrx || b.Dx() < e.w || b.Dy() < e.h || b.Dx() > maxDownscale*e.w || b.Dy() > maxDownscale*e.h {
			return Frame{}, fmt.Errorf("vp8enc: frame is %dx%d, the encoder takes %dx%d", b.Dx(), b.Dy(), e.w, e.h)
		}
	}
	if err := e.applyBitrate(); err != nil {
		return Frame{}, err
	}
	if err := e.load(img); err != nil {
		return Frame{}, fmt.Errorf("vp8enc: %w", err)
	}
	ts := int64(pts * 90_000 / time.Second)
	dur := e.frameDur
	if e.started {
		if ts <= e.lastPTS {
			ts = e.lastPTS + 1
		}
		dur = uint64(ts - e.lastPTS)
	}
	e.started, e.lastPTS = true, ts
	key := 0
	if e.forceKey.Swap(false) {
		key = 1
	}
	droppable := 0
	if e.halfRate && e.frames%2 == 1 && key == 0 {
		droppable = 1
	}
	e.frames++
	e.c.pts, e.c.dur, e.c.force_key, e.c.droppable = C.longlong(ts), C.ulong(dur), C.int(key), C.int(droppable)
	if _, err := e.thread.Write(e.signal); err != nil {
		return Frame{}, fmt.Errorf("vp8enc: encoding thread: %w", err)
	}
	if _, err := io.ReadFull(e.thread, e.signal); err != nil {
		return Frame{}, fmt.Errorf("vp8enc: encoding thread: %w", err)
	}
	if err := e.c.err; err != C.VPX_CODEC_OK {
		return Frame{}, &Error{Op: "encode", Code: int(err), Msg: C.GoString(C.vpx_codec_error_detail(&e.c.ctx))}
	}
	if e.c.key != 0 {
		// A keyframe (asked for, or libvpx's periodic one) refreshes every
		// reference and starts the layer pattern again.
		droppable, e.frames = 0, 1
	}
	n := int(e.c.out_len)
	if n == 0 {
		return Frame{}, nil
	}
	if cap(e.out) < n {
		e.out = make([]byte, n, n+n/2)
	}
	e.out = e.out[:n]
	copy(e.out, unsafe.Slice((*byte)(unsafe.Pointer(e.c.out)), n))
	return Frame{Data: e.out, Keyframe: e.c.key != 0, Droppable: droppable == 1}, nil
}

func (e *Encoder) applyBitrate() error {
	want := int(e.bitrate.Load())
	if want == e.curBitrate {
		return nil
	}
	if err := C.parley_vp8_set_bitrate(e.c, C.int(kbps(want))); err != C.VPX_CODEC_OK {
		return &Error{Op: "set bitrate", Code: int(err), Msg: C.GoString(C.vpx_codec_err_to_string(err))}
	}
	e.curBitrate = want
	return nil
}

// Close frees the encoder.
func (e *Encoder) Close() {
	if e.c == nil {
		return
	}
	_ = e.thread.Close()
	C.parley_vp8_end(e.c)
	C.parley_vp8_close(e.c)
	C.free(unsafe.Pointer(e.c))
	e.c, e.y, e.u, e.v = nil, nil, nil, nil
}
