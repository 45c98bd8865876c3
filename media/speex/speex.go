// Package speex wraps speexdsp's acoustic echo canceller and preprocessor
// (cgo) for the microphone path: the echo canceller removes what the
// speakers played (the far end) from the microphone signal, and the
// preprocessor suppresses noise and the echo the canceller left.
//
// Both work on fixed frames of 16-bit mono PCM; Parley uses 10 ms at
// 48 kHz.
package speex

/*
#cgo pkg-config: speexdsp
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

static int parley_echo_rate(SpeexEchoState *st, int rate) { return speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &rate); }
static int parley_pp_int(SpeexPreprocessState *st, int req, int v) { return speex_preprocess_ctl(st, req, &v); }
static int parley_pp_echo(SpeexPreprocessState *st, SpeexEchoState *echo) { return speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_ECHO_STATE, echo); }
static int parley_pp_get_int(SpeexPreprocessState *st, int req) { int v = 0; speex_preprocess_ctl(st, req, &v); return v; }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Options configure a Processor.
type Options struct {
	SampleRate int // e.g. 48000
	FrameSize  int // samples per frame, e.g. 480 (10 ms)
	// TailMs is how long an echo the canceller models: the delay from
	// playing a sample to hearing it in the microphone, plus the room's
	// reverberation.
	TailMs int
	// NoiseSuppressDB is the noise attenuation (negative, e.g. -25).
	NoiseSuppressDB int
	// EchoSuppressDB is the residual-echo attenuation, when echo is alone
	// and while the near end talks (negative, e.g. -40 and -15).
	EchoSuppressDB, EchoSuppressActiveDB int
	// AGC turns on automatic gain control (off by default: gain changes
	// would make the echo path look time-varying).
	AGC bool
}

// DefaultOptions are Parley's settings at 48 kHz.
func DefaultOptions() Options {
	return Options{SampleRate: 48000, FrameSize: 480, TailMs: 150, NoiseSuppressDB: -25,
		EchoSuppressDB: -40, EchoSuppressActiveDB: -15}
}

// Processor cancels echo and suppresses noise, one frame at a time. Not
// safe for concurrent use.
type Processor struct {
	opts Options
	echo *C.SpeexEchoState
	pre  *C.SpeexPreprocessState
	out  []int16
}

// NewProcessor sets up the echo canceller and the preprocessor.
func NewProcessor(opts Options) (*Processor, error) {
	if opts.SampleRate <= 0 || opts.FrameSize <= 0 || opts.TailMs <= 0 {
		return nil, errors.New("speex: sample rate, frame size and tail must be positive")
	}
	tail := opts.SampleRate * opts.TailMs / 1000
	echo := C.speex_echo_state_init(C.int(opts.FrameSize), C.int(tail))
	if echo == nil {
		return nil, errors.New("speex: cannot create the echo canceller")
	}
	p := &Processor{opts: opts, echo: echo, out: make([]int16, opts.FrameSize)}
	C.parley_echo_rate(echo, C.int(opts.SampleRate))
	p.pre = C.speex_preprocess_state_init(C.int(opts.FrameSize), C.int(opts.SampleRate))
	if p.pre == nil {
		p.Close()
		return nil, errors.New("speex: cannot create the preprocessor")
	}
	agc := 0
	if opts.AGC {
		agc = 1
	}
	for _, r := range []struct {
		req, v C.int
	}{
		{C.SPEEX_PREPROCESS_SET_DENOISE, 1},
		{C.SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, C.int(opts.NoiseSuppressDB)},
		{C.SPEEX_PREPROCESS_SET_AGC, C.int(agc)},
		{C.SPEEX_PREPROCESS_SET_DEREVERB, 0},
		{C.SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, C.int(opts.EchoSuppressDB)},
		{C.SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, C.int(opts.EchoSuppressActiveDB)},
	} {
		if C.parley_pp_int(p.pre, r.req, r.v) != 0 {
			p.Close()
			return nil, fmt.Errorf("speex: preprocessor setting %d rejected", r.req)
		}
	}
	if C.parley_pp_echo(p.pre, echo) != 0 {
		p.Close()
		return nil, errors.New("speex: cannot link the preprocessor to the echo canceller")
	}
	return p, nil
}

// FrameSize is the number of samples Process takes.
func (p *Processor) FrameSize() int { return p.opts.FrameSize }

// Process cleans one frame of microphone samples given the far-end samples
// played at the same time (by the same audio device callback), and returns
// the cleaned frame (valid until the next call). A nil far end (nothing
// played) skips echo cancellation.
func (p *Processor) Process(mic, far []int16) ([]int16, error) {
	n := p.opts.FrameSize
	if len(mic) != n || (far != nil && len(far) != n) {
		return nil, fmt.Errorf("speex: frames must be %d samples (mic %d, far %d)", n, len(mic), len(far))
	}
	if far != nil {
		C.speex_echo_cancellation(p.echo, (*C.spx_int16_t)(unsafe.Pointer(&mic[0])),
			(*C.spx_int16_t)(unsafe.Pointer(&far[0])), (*C.spx_int16_t)(unsafe.Pointer(&p.out[0])))
	} else {
		copy(p.out, mic)
	}
	C.speex_preprocess_run(p.pre, (*C.spx_int16_t)(unsafe.Pointer(&p.out[0])))
	return p.out, nil
}

// Reset forgets the learned echo path (after a device change).
func (p *Processor) Reset() {
	C.speex_echo_state_reset(p.echo)
}

// Close frees the states.
func (p *Processor) Close() {
	if p.pre != nil {
		C.speex_preprocess_state_destroy(p.pre)
		p.pre = nil
	}
	if p.echo != nil {
		C.speex_echo_state_destroy(p.echo)
		p.echo = nil
	}
}
