// Package opus wraps libopus (cgo) for the desktop app's audio: an encoder
// for the microphone and a decoder per remote participant, with packet
// loss concealment and in-band FEC. pion/mediadevices only has an encoder,
// and its reader-driven API cannot conceal a lost packet.
//
// Audio is 48 kHz, 16-bit, interleaved; Parley sends mono and decodes to
// mono (the mixer is mono).
package opus

/*
#cgo pkg-config: opus
#include <opus.h>

static int parley_set_bitrate(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_BITRATE(v)); }
static int parley_set_fec(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(v)); }
static int parley_set_loss(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(v)); }
static int parley_set_complexity(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(v)); }
static int parley_set_signal_voice(OpusEncoder *e) { return opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)); }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// SampleRate is the only rate Parley uses.
const SampleRate = 48000

// FrameSamples is a 20 ms frame at 48 kHz, what Parley sends.
const FrameSamples = SampleRate / 50

// MaxFrameSamples is the longest Opus frame (120 ms).
const MaxFrameSamples = SampleRate * 120 / 1000

// Error is a libopus error code.
type Error int

func (e Error) Error() string { return "opus: " + C.GoString(C.opus_strerror(C.int(e))) }

// Encoder encodes mono 48 kHz PCM. Not safe for concurrent use.
type Encoder struct {
	enc *C.OpusEncoder
	buf []byte
}

// NewEncoder returns a VoIP encoder at bitrate bits per second with in-band
// FEC on (the SDP says useinbandfec=1), so that a decoder can rebuild a lost
// packet from the next one.
func NewEncoder(bitrate int) (*Encoder, error) {
	var cerr C.int
	enc := C.opus_encoder_create(SampleRate, 1, C.OPUS_APPLICATION_VOIP, &cerr)
	if cerr != C.OPUS_OK {
		return nil, fmt.Errorf("opus encoder: %w", Error(cerr))
	}
	e := &Encoder{enc: enc, buf: make([]byte, 1500)}
	for _, set := range []C.int{
		C.parley_set_bitrate(enc, C.opus_int32(bitrate)),
		C.parley_set_fec(enc, 1),
		// FEC is only sent when the encoder expects loss.
		C.parley_set_loss(enc, 5),
		C.parley_set_complexity(enc, 5),
		C.parley_set_signal_voice(enc),
	} {
		if set != C.OPUS_OK {
			e.Close()
			return nil, fmt.Errorf("opus encoder settings: %w", Error(set))
		}
	}
	return e, nil
}

// SetBitrate changes the target bitrate (bits per second).
func (e *Encoder) SetBitrate(bitrate int) error {
	if r := C.parley_set_bitrate(e.enc, C.opus_int32(bitrate)); r != C.OPUS_OK {
		return fmt.Errorf("opus bitrate %d: %w", bitrate, Error(r))
	}
	return nil
}

// Encode encodes one frame (2.5 to 60 ms of samples; Parley uses 20 ms)
// and returns the packet, valid until the next call.
func (e *Encoder) Encode(pcm []int16) ([]byte, error) {
	if len(pcm) == 0 {
		return nil, errors.New("opus: empty frame")
	}
	n := C.opus_encode(e.enc, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)),
		(*C.uchar)(unsafe.Pointer(&e.buf[0])), C.opus_int32(len(e.buf)))
	if n < 0 {
		return nil, fmt.Errorf("opus encode: %w", Error(n))
	}
	return e.buf[:n], nil
}

// Close frees the encoder.
func (e *Encoder) Close() {
	if e.enc != nil {
		C.opus_encoder_destroy(e.enc)
		e.enc = nil
	}
}

// Decoder decodes to mono 48 kHz PCM. Not safe for concurrent use.
type Decoder struct {
	dec *C.OpusDecoder
}

// NewDecoder returns a mono decoder (stereo packets are downmixed).
func NewDecoder() (*Decoder, error) {
	var cerr C.int
	dec := C.opus_decoder_create(SampleRate, 1, &cerr)
	if cerr != C.OPUS_OK {
		return nil, fmt.Errorf("opus decoder: %w", Error(cerr))
	}
	return &Decoder{dec: dec}, nil
}

// Decode decodes packet into pcm (room for MaxFrameSamples is always
// enough) and returns the number of samples.
func (d *Decoder) Decode(packet []byte, pcm []int16) (int, error) {
	return d.decode(packet, pcm, 0)
}

// DecodeFEC rebuilds the packet *before* packet from its FEC data, frame
// samples long (the lost packet's duration).
func (d *Decoder) DecodeFEC(packet []byte, pcm []int16) (int, error) {
	return d.decode(packet, pcm, 1)
}

// Conceal makes up len(pcm) samples for a lost packet (PLC); len(pcm) must
// be a multiple of 2.5 ms.
func (d *Decoder) Conceal(pcm []int16) (int, error) {
	return d.decode(nil, pcm, 0)
}

func (d *Decoder) decode(packet []byte, pcm []int16, fec C.int) (int, error) {
	if len(pcm) == 0 {
		return 0, errors.New("opus: no room to decode into")
	}
	var data *C.uchar
	if len(packet) > 0 {
		data = (*C.uchar)(unsafe.Pointer(&packet[0]))
	}
	n := C.opus_decode(d.dec, data, C.opus_int32(len(packet)), (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)), fec)
	if n < 0 {
		return 0, fmt.Errorf("opus decode: %w", Error(n))
	}
	return int(n), nil
}

// Close frees the decoder.
func (d *Decoder) Close() {
	if d.dec != nil {
		C.opus_decoder_destroy(d.dec)
		d.dec = nil
	}
}

// PacketSamples is the duration of a packet in 48 kHz samples, or an error
// for a malformed packet.
func PacketSamples(packet []byte) (int, error) {
	if len(packet) == 0 {
		return 0, errors.New("opus: empty packet")
	}
	n := C.opus_packet_get_nb_samples((*C.uchar)(unsafe.Pointer(&packet[0])), C.opus_int32(len(packet)), SampleRate)
	if n < 0 {
		return 0, fmt.Errorf("opus packet: %w", Error(n))
	}
	return int(n), nil
}
