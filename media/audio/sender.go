package audio

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"parley/media/opus"
	"parley/media/speex"
)

// SampleWriter takes encoded audio (a *webrtc.TrackLocalStaticSample).
type SampleWriter interface {
	WriteSample(media.Sample) error
}

// Sender is the microphone path: echo cancellation and noise suppression
// on the audio thread (Capture), Opus encoding and sending on its own
// goroutine (Run).
type Sender struct {
	proc  *speex.Processor
	enc   *opus.Encoder
	out   SampleWriter
	send  func() bool // false while muted: process, but send nothing
	queue chan []int16
	pool  chan []int16
	peak  atomic.Int32 // of the last cleaned frames, for the level meter
	drops atomic.Uint64
	sent  atomic.Uint64
}

// Opus bitrate of the microphone: wideband speech with room to spare.
const micBitrate = 32000

// NewSender builds the microphone path writing to out; send reports
// whether to send (not muted).
func NewSender(out SampleWriter, send func() bool) (*Sender, error) {
	proc, err := speex.NewProcessor(speex.DefaultOptions())
	if err != nil {
		return nil, err
	}
	enc, err := opus.NewEncoder(micBitrate)
	if err != nil {
		proc.Close()
		return nil, err
	}
	s := &Sender{proc: proc, enc: enc, out: out, send: send,
		queue: make(chan []int16, 32), pool: make(chan []int16, 40)}
	return s, nil
}

// Capture is the Stream's CaptureFunc: it cleans one 10 ms frame against
// its far end and queues it for encoding. It never blocks: if the encoder
// falls 320 ms behind, frames are dropped.
func (s *Sender) Capture(mic, far []int16) {
	clean, err := s.proc.Process(mic, far)
	if err != nil {
		return
	}
	var peak int32
	for _, v := range clean {
		peak = max(peak, abs(int32(v)))
	}
	s.peak.Store(peak)
	var buf []int16
	select {
	case buf = <-s.pool:
	default:
		buf = make([]int16, FrameSamples)
	}
	copy(buf, clean)
	select {
	case s.queue <- buf:
	default:
		s.drops.Add(1)
	}
}

// Level is the microphone level after cleaning, 0..1 (peak, linear).
func (s *Sender) Level() float64 { return float64(s.peak.Load()) / 32768 }

// Stats: 20 ms packets sent and 10 ms frames dropped.
func (s *Sender) Stats() (sent, dropped uint64) { return s.sent.Load(), s.drops.Load() }

// Run encodes 20 ms packets and writes them until ctx is done, then frees
// the codec and the echo canceller. Call it once; Capture must not be
// called after Run returns (close the Stream first).
func (s *Sender) Run(ctx context.Context) error {
	defer s.enc.Close()
	defer s.proc.Close()
	frame := make([]int16, 0, opus.FrameSamples)
	for {
		select {
		case <-ctx.Done():
			return nil
		case buf := <-s.queue:
			frame = append(frame, buf...)
			select {
			case s.pool <- buf:
			default:
			}
			if len(frame) < opus.FrameSamples {
				continue
			}
			pkt, err := s.enc.Encode(frame)
			frame = frame[:0]
			if err != nil {
				return fmt.Errorf("microphone: %w", err)
			}
			if !s.send() {
				continue
			}
			if err := s.out.WriteSample(media.Sample{Data: append([]byte(nil), pkt...), Duration: 20 * time.Millisecond}); err != nil {
				return fmt.Errorf("microphone: send: %w", err)
			}
			s.sent.Add(1)
		}
	}
}

// Discard frees a Sender that will never Run.
func (s *Sender) Discard() {
	s.enc.Close()
	s.proc.Close()
}
