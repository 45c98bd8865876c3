package audio

/*
#cgo pkg-config: libpulse-simple libpulse
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pulse/simple.h>
#include <pulse/error.h>
#include <pulse/pulseaudio.h>
#include <pthread.h>
#include <poll.h>
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

// ---- device listing: the asynchronous API on a threaded main loop ----

typedef struct {
	pa_threaded_mainloop *ml;
	char *buf;
	size_t len, cap;
	int pending;
	int failed;
} parley_list_t;

static void parley_append(parley_list_t *l, const char *kind, const char *name, const char *desc) {
	size_t need = strlen(kind) + strlen(name) + (desc ? strlen(desc) : 0) + 4;
	if (l->len + need + 1 > l->cap) {
		size_t cap = (l->cap + need + 1) * 2;
		char *b = realloc(l->buf, cap);
		if (!b) { l->failed = 1; return; }
		l->buf = b; l->cap = cap;
	}
	l->len += sprintf(l->buf + l->len, "%s\t%s\t%s\n", kind, name, desc ? desc : "");
}

static void parley_sink_cb(pa_context *c, const pa_sink_info *i, int eol, void *u) {
	parley_list_t *l = u;
	if (eol) { l->pending--; pa_threaded_mainloop_signal(l->ml, 0); return; }
	parley_append(l, "speaker", i->name, i->description);
}

static void parley_source_cb(pa_context *c, const pa_source_info *i, int eol, void *u) {
	parley_list_t *l = u;
	if (eol) { l->pending--; pa_threaded_mainloop_signal(l->ml, 0); return; }
	// A monitor (what a speaker plays) is a source too.
	parley_append(l, i->monitor_of_sink != PA_INVALID_INDEX ? "monitor" : "mic", i->name, i->description);
}

static void parley_server_cb(pa_context *c, const pa_server_info *i, void *u) {
	parley_list_t *l = u;
	if (i) {
		parley_append(l, "default-speaker", i->default_sink_name ? i->default_sink_name : "", "");
		parley_append(l, "default-mic", i->default_source_name ? i->default_source_name : "", "");
	}
	l->pending--;
	pa_threaded_mainloop_signal(l->ml, 0);
}

// parley_disconnect undoes parley_connect; the loop must be locked.
static void parley_disconnect(pa_threaded_mainloop *ml, pa_context *c) {
	pa_threaded_mainloop_unlock(ml);
	pa_threaded_mainloop_stop(ml);
	pa_context_disconnect(c);
	pa_context_unref(c);
	pa_threaded_mainloop_free(ml);
}

static void parley_signal_cb(pa_context *c, void *ml) {
	pa_threaded_mainloop_signal(ml, 0);
}

// parley_connect connects a new context on a new threaded main loop and
// returns with the loop running and locked; NULL with *err set on failure.
static pa_context *parley_connect(pa_threaded_mainloop **mlp, const char *name, int *err) {
	*err = 0;
	pa_threaded_mainloop *ml = pa_threaded_mainloop_new();
	if (!ml) { *err = PA_ERR_INTERNAL; return NULL; }
	pa_context *c = pa_context_new(pa_threaded_mainloop_get_api(ml), name);
	if (!c) { pa_threaded_mainloop_free(ml); *err = PA_ERR_INTERNAL; return NULL; }
	pa_context_set_state_callback(c, parley_signal_cb, ml);
	if (pa_context_connect(c, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0) {
		*err = pa_context_errno(c);
		pa_context_unref(c);
		pa_threaded_mainloop_free(ml);
		return NULL;
	}
	pa_threaded_mainloop_lock(ml);
	if (pa_threaded_mainloop_start(ml) < 0) {
		pa_threaded_mainloop_unlock(ml);
		pa_context_disconnect(c);
		pa_context_unref(c);
		pa_threaded_mainloop_free(ml);
		*err = PA_ERR_INTERNAL;
		return NULL;
	}
	for (;;) {
		pa_context_state_t st = pa_context_get_state(c);
		if (st == PA_CONTEXT_READY) break;
		if (!PA_CONTEXT_IS_GOOD(st)) {
			*err = pa_context_errno(c);
			parley_disconnect(ml, c);
			return NULL;
		}
		pa_threaded_mainloop_wait(ml);
	}
	*mlp = ml;
	return c;
}

// parley_list returns "kind\tname\tdescription\n" lines (free with free),
// or NULL with *err set.
static char *parley_list(int *err) {
	parley_list_t l = {0};
	pa_context *c = parley_connect(&l.ml, "Parley", err);
	if (!c) return NULL;
	pa_operation *ops[3];
	l.pending = 3;
	ops[0] = pa_context_get_sink_info_list(c, parley_sink_cb, &l);
	ops[1] = pa_context_get_source_info_list(c, parley_source_cb, &l);
	ops[2] = pa_context_get_server_info(c, parley_server_cb, &l);
	while (l.pending > 0 && PA_CONTEXT_IS_GOOD(pa_context_get_state(c))) pa_threaded_mainloop_wait(l.ml);
	for (int i = 0; i < 3; i++) if (ops[i]) pa_operation_unref(ops[i]);
	if (l.pending > 0) *err = pa_context_errno(c);
	parley_disconnect(l.ml, c);
	if (*err != 0 || l.failed) {
		free(l.buf);
		if (*err == 0) *err = PA_ERR_INTERNAL;
		return NULL;
	}
	if (!l.buf) l.buf = calloc(1, 1);
	return l.buf;
}

// ---- device changes: a subscription on a connection kept open ----
//
// The main loop's thread sends "c" on fd (a cthread socket) when a sink or
// source appears or goes away, "e" when the connection to the server is
// lost. MSG_DONTWAIT: the loop never blocks on Go, and a change that finds
// the socket full is already announced by the ones waiting in it.

typedef struct {
	pa_threaded_mainloop *ml;
	pa_context *c;
	int fd;
} parley_watch;

static void parley_watch_state_cb(pa_context *c, void *u) {
	parley_watch *w = u;
	if (!PA_CONTEXT_IS_GOOD(pa_context_get_state(c))) send(w->fd, "e", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void parley_watch_event_cb(pa_context *c, pa_subscription_event_type_t t, uint32_t idx, void *u) {
	parley_watch *w = u;
	pa_subscription_event_type_t what = t & PA_SUBSCRIPTION_EVENT_TYPE_MASK;
	if (what == PA_SUBSCRIPTION_EVENT_NEW || what == PA_SUBSCRIPTION_EVENT_REMOVE) {
		send(w->fd, "c", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
}

static parley_watch *parley_watch_start(int fd, int *err) {
	parley_watch *w = calloc(1, sizeof *w);
	if (!w) { *err = PA_ERR_INTERNAL; return NULL; }
	w->fd = fd;
	w->c = parley_connect(&w->ml, "Parley device watch", err);
	if (!w->c) { free(w); return NULL; }
	pa_context_set_state_callback(w->c, parley_watch_state_cb, w);
	pa_context_set_subscribe_callback(w->c, parley_watch_event_cb, w);
	pa_operation *op = pa_context_subscribe(w->c, PA_SUBSCRIPTION_MASK_SINK | PA_SUBSCRIPTION_MASK_SOURCE, NULL, NULL);
	if (!op) {
		*err = pa_context_errno(w->c);
		parley_disconnect(w->ml, w->c);
		free(w);
		return NULL;
	}
	pa_operation_unref(op);
	pa_threaded_mainloop_unlock(w->ml);
	return w;
}

// parley_watch_end stops the watch and closes its fd.
static void parley_watch_end(parley_watch *w) {
	pa_threaded_mainloop_lock(w->ml);
	pa_context_set_state_callback(w->c, NULL, NULL);
	parley_disconnect(w->ml, w->c);
	close(w->fd);
	free(w);
}

// ---- streams: the simple (blocking) API, each on its own C thread ----
//
// Each stream has a C thread, a pump, that makes the blocking calls (see
// package cthread for why not Go) and talks to Go over a SOCK_SEQPACKET
// socket, one message per frame: a microphone pump sends each frame it
// records; a speaker pump sends "r" when it can take the next frame and
// then waits for it. "r" carries (a uint32) how many frames of silence
// the pump played before the frame Go sent last: when Go is late (a
// scheduling stall, a pause), the pump feeds the speaker silence rather
// than let it run dry, since an underrun shifts the speaker's timeline
// by an amount no one measures, and the echo canceller then cancels
// against the wrong samples until it reconverges, seconds later. Either
// sends "e" and the PulseAudio error code when the device fails, then
// ends. A pump also ends when Go closes its end (send fails with EPIPE,
// recv returns 0).

typedef struct {
	pa_simple *s;
	int fd;
	int record;
	int frame_bytes;
	pthread_t thread;
	// A pump whose blocking call does not return (a stream the server
	// left without data) is abandoned by parley_pump_end, and then frees
	// itself if the call ever returns. Guarded by mu.
	pthread_mutex_t mu;
	pthread_cond_t ended;
	int done, abandoned;
} parley_pump;

static void parley_pump_free(parley_pump *p) {
	pa_simple_free(p->s);
	close(p->fd);
	pthread_cond_destroy(&p->ended);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static void parley_pump_fail(parley_pump *p, int err) {
	char msg[1 + sizeof(int)];
	msg[0] = 'e';
	memcpy(msg + 1, &err, sizeof(int));
	send(p->fd, msg, sizeof msg, MSG_NOSIGNAL);
}

// The speaker's queue holds tlength (40 ms) when the pump asks for a
// frame; a frame of silence goes in once Go has not answered for
// PARLEY_FILL_AFTER_MS, and another every frame after that, which leaves
// a margin for this thread's own wake-up before the queue runs dry.
#define PARLEY_FILL_AFTER_MS 25
#define PARLEY_FRAME_MS 10
// The speaker pump's request for a frame: 'r', then the number of
// silent frames it played since the last request (uint32, native order).
#define PARLEY_REQ_BYTES (1 + sizeof(uint32_t))

static long long parley_now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// parley_pump_await waits until Go's frame (or its close) can be read,
// playing silence meanwhile and counting the frames in *fillers; -1 with
// *err when the stream fails.
static int parley_pump_await(parley_pump *p, const char *silence, uint32_t *fillers, int *err) {
	long long due = parley_now_ms() + PARLEY_FILL_AFTER_MS;
	for (;;) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		long long wait = due - parley_now_ms();
		int n = poll(&pfd, 1, wait > 0 ? (int)wait : 0);
		if (n > 0) return 0;
		if (n < 0 && errno != EINTR) return 0; // the recv that follows reports it
		if (n < 0) continue;
		if (pa_simple_write(p->s, silence, p->frame_bytes, err) < 0) return -1;
		(*fillers)++;
		due += PARLEY_FRAME_MS;
	}
}

static void *parley_pump_run(void *arg) {
	parley_pump *p = arg;
	char *buf = malloc(p->frame_bytes);
	char *silence = calloc(1, p->frame_bytes);
	uint32_t fillers = 0;
	int err = 0;
	if (!buf || !silence) {
		free(buf);
		free(silence);
		parley_pump_fail(p, PA_ERR_INTERNAL);
		return NULL;
	}
	for (;;) {
		if (p->record) {
			if (pa_simple_read(p->s, buf, p->frame_bytes, &err) < 0) {
				parley_pump_fail(p, err);
				break;
			}
			if (send(p->fd, buf, p->frame_bytes, MSG_NOSIGNAL) < 0) break;
		} else {
			char req[PARLEY_REQ_BYTES] = {'r'};
			memcpy(req + 1, &fillers, sizeof fillers);
			if (send(p->fd, req, sizeof req, MSG_NOSIGNAL) < 0) break;
			fillers = 0;
			if (parley_pump_await(p, silence, &fillers, &err) < 0) {
				parley_pump_fail(p, err);
				break;
			}
			ssize_t got = recv(p->fd, buf, p->frame_bytes, 0);
			if (got != p->frame_bytes) break;
			if (pa_simple_write(p->s, buf, p->frame_bytes, &err) < 0) {
				parley_pump_fail(p, err);
				break;
			}
		}
	}
	free(buf);
	free(silence);
	pthread_mutex_lock(&p->mu);
	p->done = 1;
	int abandoned = p->abandoned;
	pthread_cond_signal(&p->ended);
	pthread_mutex_unlock(&p->mu);
	if (abandoned) parley_pump_free(p);
	return NULL;
}

// parley_pump_start runs a pump for s on fd (the C end of a socket pair).
static parley_pump *parley_pump_start(pa_simple *s, int fd, int record, int frame_bytes) {
	parley_pump *p = calloc(1, sizeof *p);
	if (!p) return NULL;
	p->s = s;
	p->fd = fd;
	p->record = record;
	p->frame_bytes = frame_bytes;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->ended, NULL);
	if (pthread_create(&p->thread, NULL, parley_pump_run, p) != 0) {
		pthread_cond_destroy(&p->ended);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	return p;
}

// parley_pump_end waits for a pump whose Go end is closed: it ends after
// its current call, a frame (10 ms). If that call is still blocked after
// wait_ms, the pump is left to free itself whenever the call returns,
// and its stream stays open until then; returns 0 in that case.
static int parley_pump_end(parley_pump *p, int wait_ms) {
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
	pthread_mutex_lock(&p->mu);
	while (!p->done) {
		if (pthread_cond_timedwait(&p->ended, &p->mu, &until) != 0) break;
	}
	if (!p->done) {
		p->abandoned = 1;
		pthread_mutex_unlock(&p->mu);
		pthread_detach(p->thread);
		return 0;
	}
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	parley_pump_free(p);
	return 1;
}

static pa_simple *parley_open(int record, const char *dev, const char *stream, int frag_bytes, int *err) {
	pa_sample_spec ss = { .format = PA_SAMPLE_S16LE, .rate = 48000, .channels = 1 };
	pa_buffer_attr attr;
	attr.maxlength = (uint32_t)-1;
	attr.prebuf = (uint32_t)-1;
	attr.fragsize = (uint32_t)-1;
	attr.tlength = (uint32_t)-1;
	attr.minreq = (uint32_t)-1;
	if (record) {
		attr.fragsize = frag_bytes;
	} else {
		// Four fragments (40 ms) queued: a busy machine (the webview
		// painting video) can hold the writer up for tens of milliseconds,
		// but every millisecond here is one more of mouth-to-ear delay.
		attr.tlength = 4 * frag_bytes;
		attr.minreq = frag_bytes;
		// After an underrun, play again as soon as one frame is there
		// (the default waits for a full buffer: 60 ms more silence).
		attr.prebuf = frag_bytes;
	}
	return pa_simple_new(NULL, "Parley", record ? PA_STREAM_RECORD : PA_STREAM_PLAYBACK,
		dev, stream, &ss, NULL, &attr, err);
}
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"parley/media/cthread"
)

// Device is a microphone or speaker as the device pickers list it.
type Device struct {
	// ID is the sound server's name for it (a PulseAudio source or sink
	// name): stable across runs, so it can be remembered.
	ID      string `json:"id"`
	Name    string `json:"label"`
	Default bool   `json:"isDefault"`
	// Monitor: a speaker's monitor, listed with the microphones. Only
	// ever used when asked for by name: as a default it would send the
	// meeting back to itself.
	Monitor bool `json:"monitor,omitempty"`
}

// ErrNoDevice means a named device does not exist (unplugged).
var ErrNoDevice = errors.New("audio: no such device")

// ErrNoMic means no microphone is connected (monitors aside).
var ErrNoMic = errors.New("no microphone connected")

// A Stream's OnStop error wraps one of these: which device went away.
var (
	ErrMicLost     = errors.New("microphone")
	ErrSpeakerLost = errors.New("speaker")
)

func paError(code C.int) error {
	return errors.New(C.GoString(C.pa_strerror(code)))
}

// Context is the connection to the sound server: PulseAudio, or PipeWire
// through its PulseAudio server. The server is found the usual way
// (PULSE_SERVER, the user's runtime directory).
type Context struct {
	log *slog.Logger
}

// NewContext checks that a sound server answers.
func NewContext(log *slog.Logger) (*Context, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &Context{log: log}
	if _, _, err := c.Devices(); err != nil {
		return nil, err
	}
	return c, nil
}

// Close releases the context (streams are closed on their own).
func (c *Context) Close() {}

// Devices lists microphones and speakers. Monitors of speakers (what a
// speaker plays, as a source) are listed too: they are how a virtual
// microphone is made.
func (c *Context) Devices() (mics, speakers []Device, err error) {
	var cerr C.int
	list := C.parley_list(&cerr)
	if list == nil {
		return nil, nil, fmt.Errorf("audio: sound server: %w", paError(cerr))
	}
	defer C.free(unsafe.Pointer(list))
	var defMic, defSpk string
	for _, line := range strings.Split(C.GoString(list), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) < 3 {
			continue
		}
		switch f[0] {
		case "mic", "monitor":
			mics = append(mics, Device{ID: f[1], Name: f[2], Monitor: f[0] == "monitor"})
		case "speaker":
			speakers = append(speakers, Device{ID: f[1], Name: f[2]})
		case "default-mic":
			defMic = f[1]
		case "default-speaker":
			defSpk = f[1]
		}
	}
	for i := range mics {
		mics[i].Default = mics[i].ID == defMic
	}
	for i := range speakers {
		speakers[i].Default = speakers[i].ID == defSpk
	}
	return mics, speakers, nil
}

// WatchDevices calls changed, on a goroutine of its own, whenever a
// microphone or speaker appears or goes away, and once more if the
// connection to the sound server is lost, until the returned stop is
// called. The server tells at once, on one connection kept open, where
// listing the devices every second would open a connection each time and
// notice an unplug up to a second late. changed must not block.
func (c *Context) WatchDevices(changed func()) (stop func(), err error) {
	var w *C.parley_watch
	conn, err := cthread.Start("device watch", func(fd int) error {
		var cerr C.int
		if w = C.parley_watch_start(C.int(fd), &cerr); w == nil {
			return paError(cerr)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audio: watch devices: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 8)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			changed()
			if n > 0 && buf[0] == 'e' {
				return
			}
		}
	}()
	return func() {
		_ = conn.Close()
		<-done
		C.parley_watch_end(w)
	}, nil
}

// resolve finds a device the user named (by ID, or by label); "" is the
// server's default.
func resolve(list []Device, name string) (Device, error) {
	if name == "" {
		for _, d := range list {
			if d.Default {
				return d, nil
			}
		}
		return Device{ID: "", Name: "default"}, nil
	}
	for _, d := range list {
		if d.ID == name || d.Name == name {
			return d, nil
		}
	}
	return Device{}, fmt.Errorf("%w: %q", ErrNoDevice, name)
}

// resolveMic is resolve for microphones: with no name, the default one
// unless the sound server's default is a monitor (it is, on a machine with
// no microphone), then the first real microphone, else ErrNoMic.
func resolveMic(mics []Device, name string) (Device, error) {
	if name != "" {
		return resolve(mics, name)
	}
	if d, ok := DefaultMic(mics); ok {
		return d, nil
	}
	return Device{}, ErrNoMic
}

// DefaultMic is the microphone to use when none is chosen: the default
// one, else the first; never a monitor.
func DefaultMic(mics []Device) (Device, bool) {
	mics = slices.DeleteFunc(slices.Clone(mics), func(d Device) bool { return d.Monitor })
	if i := slices.IndexFunc(mics, func(d Device) bool { return d.Default }); i >= 0 {
		return mics[i], true
	}
	if len(mics) == 0 {
		return Device{}, false
	}
	return mics[0], true
}

// StreamConfig chooses the devices of a Stream.
type StreamConfig struct {
	Speaker string // "" = the system default
	Mic     string // "" = the system default
	// Capture opens the microphone too.
	Capture bool
	// OnStop is called (once, from a stream goroutine) if the sound server
	// ends a stream: device unplugged, server gone.
	OnStop func(error)
}

// CaptureFunc receives 10 ms of microphone samples and the 10 ms the
// speaker played when they were recorded (the echo canceller's far end).
// It runs on the capture goroutine and must not block.
type CaptureFunc func(mic, far []int16)

// Stream plays the mixer on the speaker and, when capturing, hands each
// microphone frame and its far end to a CaptureFunc.
type Stream struct {
	log     *slog.Logger
	play    *pump
	rec     *pump
	mixer   *Mixer
	capture CaptureFunc
	mic     Device
	speaker Device
	onStop  func(error)

	far     *farRing
	align   *delayEstimator
	stop    atomic.Bool
	wg      sync.WaitGroup
	once    sync.Once
	stopped sync.Once
}

// frameBytes is one 10 ms frame of mono s16.
const frameBytes = FrameSamples * 2

// Open starts a stream.
func (c *Context) Open(cfg StreamConfig, mixer *Mixer, capture CaptureFunc) (*Stream, error) {
	mics, speakers, err := c.Devices()
	if err != nil {
		return nil, err
	}
	s := &Stream{log: c.log, mixer: mixer, capture: capture, onStop: cfg.OnStop, far: newFarRing(2*Rate, c.log), align: newDelayEstimator()}
	if s.speaker, err = resolve(speakers, cfg.Speaker); err != nil {
		return nil, fmt.Errorf("speaker: %w", err)
	}
	if cfg.Capture {
		if s.mic, err = resolveMic(mics, cfg.Mic); err != nil {
			return nil, fmt.Errorf("microphone: %w", err)
		}
	}
	if s.play, err = open(false, s.speaker.ID, "Parley meeting"); err != nil {
		return nil, fmt.Errorf("audio: speaker %s: %w", s.speaker.Name, err)
	}
	if cfg.Capture {
		if s.rec, err = open(true, s.mic.ID, "Parley microphone"); err != nil {
			s.play.end(s.log)
			return nil, fmt.Errorf("audio: microphone %s: %w", s.mic.Name, err)
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.playLoop()
	}()
	if s.rec != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.recordLoop()
		}()
	}
	return s, nil
}

// pump is a stream's C thread (see parley_pump) and Go's end of its socket.
type pump struct {
	c    *C.parley_pump
	conn net.Conn
}

func open(record bool, dev, name string) (*pump, error) {
	var cdev *C.char
	if dev != "" {
		cdev = C.CString(dev)
		defer C.free(unsafe.Pointer(cdev))
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	rec := C.int(0)
	if record {
		rec = 1
	}
	var cerr C.int
	ps := C.parley_open(rec, cdev, cname, frameBytes, &cerr)
	if ps == nil {
		return nil, paError(cerr)
	}
	var c *C.parley_pump
	conn, err := cthread.Start(name, func(fd int) error {
		if c = C.parley_pump_start(ps, C.int(fd), rec, frameBytes); c == nil {
			return errors.New("cannot start the stream's thread")
		}
		return nil
	})
	if err != nil {
		C.pa_simple_free(ps)
		return nil, err
	}
	return &pump{c: c, conn: conn}, nil
}

// pumpEndWait is how long end waits for a pump's blocking call, 50
// frames: a stream the sound server stopped feeding (seen while it moved
// a recording off an unplugged microphone) must not hang the app.
const pumpEndWait = 500 * time.Millisecond

// end stops the pump and frees its stream: closing Go's end makes its
// next send or receive fail.
func (p *pump) end(log *slog.Logger) {
	_ = p.conn.Close()
	if C.parley_pump_end(p.c, C.int(pumpEndWait/time.Millisecond)) == 0 {
		log.Warn("audio: a sound server call did not return; its stream is left to close by itself")
	}
}

// read returns the pump's next message; a device error it reports comes
// back as an error.
func (p *pump) read(buf []byte) ([]byte, error) {
	n, err := p.conn.Read(buf)
	if err != nil {
		return nil, err
	}
	if msg := buf[:n]; n == 1+int(C.sizeof_int) && msg[0] == 'e' {
		return nil, paError(C.int(binary.NativeEndian.Uint32(msg[1:])))
	}
	return buf[:n], nil
}

// samplesAsBytes is how frames go to the pumps: S16 in the machine's own
// byte order, which is what both streams are opened with (S16LE on the
// little-endian machines Parley builds for).
func samplesAsBytes(frame []int16) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&frame[0])), len(frame)*2)
}

// MicName is the microphone in use ("" when not capturing).
func (s *Stream) MicName() string {
	if s.rec == nil {
		return ""
	}
	return s.mic.Name
}

// MicID is the microphone's device id ("" when not capturing or default).
func (s *Stream) MicID() string { return s.mic.ID }

// SpeakerID is the speaker's device id ("" for the server's default).
func (s *Stream) SpeakerID() string { return s.speaker.ID }

// SpeakerName is the speaker in use.
func (s *Stream) SpeakerName() string { return s.speaker.Name }

// Close stops the stream and waits for its goroutines.
func (s *Stream) Close() {
	s.once.Do(func() {
		s.stop.Store(true)
		// Closing the sockets ends the loops' reads, then the pumps.
		_ = s.play.conn.Close()
		if s.rec != nil {
			_ = s.rec.conn.Close()
		}
		s.wg.Wait()
		s.play.end(s.log)
		if s.rec != nil {
			s.rec.end(s.log)
		}
	})
}

func (s *Stream) fail(err error) {
	if s.stop.Load() {
		return
	}
	s.stopped.Do(func() {
		s.log.Warn("audio stream ended", "err", err)
		if s.onStop != nil {
			go s.onStop(err)
		}
	})
	s.stop.Store(true)
}

// playLoop mixes 10 ms whenever the speaker's pump asks for it; the pump
// asks when its blocking write returns (the server's buffer had room),
// which paces the loop at the speaker's rate.
func (s *Stream) playLoop() {
	frame := make([]int16, FrameSamples)
	req := make([]byte, 8)
	for !s.stop.Load() {
		msg, err := s.play.read(req)
		if err == nil && (len(msg) != C.PARLEY_REQ_BYTES || msg[0] != 'r') {
			err = fmt.Errorf("a %d-byte request from the speaker's thread", len(msg))
		}
		if err != nil {
			s.fail(fmt.Errorf("%w: %w", ErrSpeakerLost, err))
			return
		}
		if fillers := binary.NativeEndian.Uint32(msg[1:]); fillers > 0 {
			s.log.Debug("audio: the speaker played silence while the mix was late", "ms", int64(fillers)*1000*FrameSamples/Rate)
			s.far.fillBeforeLast(int64(fillers) * FrameSamples)
		}
		s.mixer.Mix(frame, time.Now())
		s.far.write(frame)
		if _, err := s.play.conn.Write(samplesAsBytes(frame)); err != nil {
			s.fail(fmt.Errorf("%w: %w", ErrSpeakerLost, err))
			return
		}
	}
}

// recordLoop reads 10 ms at a time and pairs each frame with what the
// speaker played while it was recorded.
func (s *Stream) recordLoop() {
	mic := make([]int16, FrameSamples)
	far := make([]int16, FrameSamples)
	for !s.stop.Load() {
		msg, err := s.rec.read(samplesAsBytes(mic))
		if err == nil && len(msg) != frameBytes {
			err = fmt.Errorf("a %d-byte frame from the microphone's thread", len(msg))
		}
		if err != nil {
			s.fail(fmt.Errorf("%w: %w", ErrMicLost, err))
			return
		}
		why := s.far.needsAnchor()
		moved := why != ""
		if moved {
			s.far.anchor(len(far), why)
		}
		// Frames paired before a move would blur the estimate.
		if slipped := s.far.aligned(far); moved {
			s.align.forget()
		} else if slipped {
			s.align.reset()
		}
		s.align.observe(mic, far)
		// While the streams are slipping the echo is on its way to a
		// place the slip will put the reference at anyway.
		if !s.far.slipping() {
			if d, ok := s.align.estimate(); ok {
				s.far.adjust(d)
				s.align.reset()
			}
		}
		s.capture(mic, far)
	}
}

// farRing keeps the last samples played, indexed by their position in the
// playback stream, so that each microphone frame can be given the far end
// that was at the speaker when it was recorded.
//
// Both streams run on the sound card's clock, so the k-th sample captured
// always pairs with the same sample played: captured sample j pairs with
// played sample j+shift. (Latency reports are no substitute: they jitter,
// and asking for them can block the writer long enough to underrun.)
// shift starts from the buffered amount at the first capture and is then
// corrected by the delay estimator, which finds the echo in the
// microphone signal itself; it only changes when the echo moved (an
// underrun, a device switch), because the canceller models a fixed path.
//
// One stream can slip against the other without a sound to find the echo
// by: a microphone that starts delivering half a second after its first
// frames, a speaker that underruns. Either way, written-captured (steady
// within a frame or two otherwise) steps by the slip and the echo moves
// by as much, so a step that holds is followed at once, before anyone
// talks.
type farRing struct {
	mu       sync.Mutex
	log      *slog.Logger
	buf      []int16
	written  int64 // samples written so far
	captured int64 // samples captured so far
	shift    int64
	started  bool
	// lastLoud is the write position of the last frame with sound, and
	// silentRef counts frames whose reference was pure silence while
	// sound was being played: a reference pointing at the wrong place.
	lastLoud  int64
	silentRef int
	// lead is written-captured when the reference was last placed; a
	// different lead held for slipHold frames is a slip.
	lead, slipLead int64
	slipFrames     int
	// Slips followed since the last one logged at Info, and the capture
	// position of that one (see slipLogEvery).
	slipsUnlogged  int
	slipMsUnlogged float64
	slipLoggedAt   int64
	slipLogged     bool
	scratch        [FrameSamples]int16 // for fillBeforeLast
}

func newFarRing(n int, log *slog.Logger) *farRing { return &farRing{buf: make([]int16, n), log: log} }

func (r *farRing) write(frame []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	loud := false
	for i, v := range frame {
		r.buf[(r.written+int64(i))%int64(len(r.buf))] = v
		loud = loud || v > 100 || v < -100
	}
	r.written += int64(len(frame))
	if loud {
		r.lastLoud = r.written
	}
}

// fillBeforeLast records n samples of silence that the speaker played
// before the last frame written (its pump filled in while the mix was
// late), so that the ring keeps every sample where the speaker played
// it and the reference stays on the echo.
func (r *farRing) fillBeforeLast(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := int64(len(r.buf))
	last := min(int64(FrameSamples), r.written)
	start := r.written - last
	for i := range last {
		r.scratch[i] = r.buf[(start+i)%size]
	}
	for p := max(start, start+n-size); p < start+n; p++ {
		r.buf[p%size] = 0
	}
	for i, v := range r.scratch[:last] {
		r.buf[(start+n+int64(i))%size] = v
	}
	if r.lastLoud > start {
		r.lastLoud += n
	}
	r.written += n
}

// leadMargin is how far the reference should lead the echo: the canceller
// models a delay (up to its tail), never an echo that comes before its
// cause.
const leadMargin = Rate * 40 / 1000

// needsAnchor says why the reference for the next frame is unknown, or
// "": the first frame, or the reference fell out of the ring. (A
// reference not written yet is an underrun under way: it is silence, and
// the slip is followed when playback resumes.)
func (r *farRing) needsAnchor() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := r.captured + r.shift
	switch {
	case !r.started:
		return "first frame"
	case start < 0:
		return "reference before the first sample played"
	case r.written-start > int64(len(r.buf)):
		return "reference older than the ring"
	case r.silentRef > 100:
		return "reference silent for 1 s while the speaker played"
	}
	return ""
}

// anchor places the reference at what the speaker is playing now: the
// newest samples written less the playback queue. Its echo is still to
// come (after the room and the capture buffer), so it follows the
// reference, within the canceller's tail; the estimator then moves the
// reference to leadMargin before the echo once the far end talks. Kept a
// queue behind the newest samples, the reference never runs out of
// written samples when the writer is a little late. (The streams'
// latency reports cannot place it: the capture side's jumps by hundreds
// of milliseconds under load, and the room's own delay is in neither.)
func (r *farRing) anchor(n int, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	shift := r.written - int64(n) - playQueue - r.captured
	if r.started {
		r.log.Info("echo reference re-anchored", "why", why, "moved_ms", float64(shift-r.shift)*1000/Rate)
	}
	r.shift, r.started = shift, true
	r.silentRef = 0
	r.lead, r.slipFrames = r.written-r.captured, 0
}

// playQueue is what the speaker stream keeps queued (parley_open's
// tlength: four frames).
const playQueue = 4 * FrameSamples

const (
	// slipMin is the smallest step of written-captured taken for a slip:
	// above the jitter of both streams' 10 ms writes and reads (±10 ms
	// measured).
	slipMin = Rate * 30 / 1000
	// slipHold frames (300 ms) within slipJitter of one another make a
	// step a slip rather than a stall the streams catch up on.
	slipHold   = 30
	slipJitter = Rate * 20 / 1000
	// slipHoldUnwritten frames do when the reference is past the newest
	// samples written, which only a stalled speaker stream can cause.
	slipHoldUnwritten = 5
)

// followSlip moves the reference with a slip of one stream against the
// other, and says whether it did; called with r.mu held, once per
// captured frame.
func (r *farRing) followSlip() bool {
	lead := r.written - r.captured
	if abs(lead-r.lead) < slipMin {
		r.slipFrames = 0
		return false
	}
	if r.slipFrames == 0 || abs(lead-r.slipLead) > slipJitter {
		r.slipLead, r.slipFrames = lead, 1
		return false
	}
	r.slipFrames++
	hold := slipHold
	if r.captured+r.shift+FrameSamples > r.written {
		// The reference runs ahead of what was written: playback
		// stalled, and what it plays now is behind the reference.
		hold = slipHoldUnwritten
	}
	if r.slipFrames < hold {
		return false
	}
	r.logSlip(float64(r.slipLead-r.lead) * 1000 / Rate)
	r.shift += r.slipLead - r.lead
	r.lead, r.slipFrames = r.slipLead, 0
	return true
}

// slipLogEvery is how much captured audio (10 s) passes between slips
// logged at Info; the others go to Debug and are counted in the next
// Info line. A slip is the speaker stream underrunning in the sound
// server (the queue of 40 ms ran dry: measured on a 2-core machine with
// 20 busy processes, 20 underruns in 15 s, the server's own log agreeing),
// and an overloaded machine does that more than once a second: one line
// each said nothing the count does not.
const slipLogEvery = 10 * Rate

// logSlip logs a slip followed (ms: how far the reference moved); called
// with r.mu held.
func (r *farRing) logSlip(ms float64) {
	r.slipsUnlogged++
	r.slipMsUnlogged += ms
	if r.slipLogged && r.captured-r.slipLoggedAt < slipLogEvery {
		r.log.Debug("echo reference followed a slip", "ms", ms)
		return
	}
	r.log.Info("echo reference followed a slip", "ms", ms,
		"slips", r.slipsUnlogged, "slips_ms", r.slipMsUnlogged, "in_s", float64(r.captured-r.slipLoggedAt)/Rate)
	r.slipsUnlogged, r.slipMsUnlogged = 0, 0
	r.slipLoggedAt, r.slipLogged = r.captured, true
}

// slipping says whether written-captured is away from where the
// reference was placed (a slip that has not held long enough yet, or
// jitter that will settle back).
func (r *farRing) slipping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.slipFrames > 0
}

// aligned fills far with the reference for the next captured frame, and
// says whether the reference moved with a slip after it.
func (r *farRing) aligned(far []int16) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := r.captured + r.shift
	silent := true
	for i := range far {
		p := start + int64(i)
		if p < 0 || p >= r.written || r.written-p > int64(len(r.buf)) {
			far[i] = 0
			continue
		}
		far[i] = r.buf[p%int64(len(r.buf))]
		silent = silent && far[i] == 0
	}
	moved := r.followSlip()
	r.captured += int64(len(far))
	if silent && r.written-r.lastLoud < Rate/2 {
		r.silentRef++
	} else {
		r.silentRef = 0
	}
	return moved
}

// adjust moves the reference so that the echo, found d samples after it,
// comes leadMargin after it.
func (r *farRing) adjust(d int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shift -= d - leadMargin
	r.log.Info("echo reference realigned", "echo_was_ms", float64(d)*1000/Rate)
}
