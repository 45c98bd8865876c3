// Package testsrc makes synthetic media for bots, tests and benchmarks: a
// moving VP8 test pattern and an Opus tone, encoded once with the real
// codecs (libvpx, libopus) and then replayed in a loop. Encoding once keeps
// a benchmark with dozens of publishers from measuring the encoder instead
// of the server.
package testsrc

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"

	"parley/media/vp8enc"
)

// Frame is one encoded frame of a loop.
type Frame struct {
	Data     []byte
	Keyframe bool
	// NonReference: no later frame refers to this one (every other video
	// frame, as a desktop camera sends them), so a viewer may skip it.
	NonReference bool
}

// Loop is a sequence of encoded frames that can be played back forever:
// its first frame is a keyframe, so wrapping around needs no new one.
type Loop struct {
	Frames   []Frame
	Interval time.Duration // time between frames
}

// Bitrate is the loop's average bitrate in bits per second.
func (l *Loop) Bitrate() int {
	if len(l.Frames) == 0 || l.Interval <= 0 {
		return 0
	}
	var bytes int
	for _, f := range l.Frames {
		bytes += len(f.Data)
	}
	seconds := float64(len(l.Frames)) * l.Interval.Seconds()
	return int(float64(bytes*8) / seconds)
}

// VideoOptions shape the test pattern.
type VideoOptions struct {
	Width, Height int
	FPS           int
	Seconds       int // loop length
	Bitrate       int // bits per second
}

// DefaultVideo is the pattern `parley join --source test` publishes.
func DefaultVideo() VideoOptions {
	return VideoOptions{Width: 640, Height: 360, FPS: 30, Seconds: 2, Bitrate: 1_000_000}
}

// EncodeVideo renders and encodes a moving test pattern with libvpx, as
// the desktop app encodes a camera: realtime, with every other frame
// non-reference (vp8enc's half-rate layer).
func EncodeVideo(opts VideoOptions) (*Loop, error) {
	if opts.Width <= 0 || opts.Height <= 0 || opts.Width%2 != 0 || opts.Height%2 != 0 {
		return nil, fmt.Errorf("testsrc: video size %dx%d must be positive and even", opts.Width, opts.Height)
	}
	if opts.FPS <= 0 || opts.Seconds <= 0 || opts.Bitrate <= 0 {
		return nil, fmt.Errorf("testsrc: fps %d, seconds %d and bitrate %d must be positive", opts.FPS, opts.Seconds, opts.Bitrate)
	}
	total := opts.FPS * opts.Seconds
	pattern := newPattern(opts.Width, opts.Height)
	// The loop's only keyframe is its first frame (KeyframeInterval 0).
	enc, err := vp8enc.New(vp8enc.Options{
		Width: opts.Width, Height: opts.Height, FPS: opts.FPS, Bitrate: opts.Bitrate, HalfRateLayer: true,
	})
	if err != nil {
		return nil, fmt.Errorf("testsrc: vp8 encoder: %w", err)
	}
	defer enc.Close()
	loop := &Loop{Interval: time.Second / time.Duration(opts.FPS)}
	// Two passes, the first thrown away: rate control starting cold
	// makes a blurry first keyframe, which a loop would show every lap.
	for i := range 2 * total {
		if i == total {
			enc.ForceKeyframe()
		}
		f, err := enc.Encode(pattern.frame(i%total, total), time.Duration(i)*loop.Interval)
		if err != nil {
			return nil, fmt.Errorf("testsrc: encode frame %d: %w", i, err)
		}
		if i < total {
			continue
		}
		if len(f.Data) == 0 {
			return nil, fmt.Errorf("testsrc: the encoder dropped frame %d", i%total)
		}
		loop.Frames = append(loop.Frames, Frame{
			Data: append([]byte(nil), f.Data...), Keyframe: f.Keyframe, NonReference: f.Droppable,
		})
	}
	if len(loop.Frames) != total || !loop.Frames[0].Keyframe {
		return nil, fmt.Errorf("testsrc: encoder gave %d frames (want %d), first keyframe=%v",
			len(loop.Frames), total, len(loop.Frames) > 0 && loop.Frames[0].Keyframe)
	}
	return loop, nil
}

// AudioOptions shape the tone.
type AudioOptions struct {
	FrequencyHz float64
	Seconds     int
	Bitrate     int
}

// DefaultAudio is the tone `parley join --source test` publishes: 440 Hz for
// a whole number of cycles per loop, so the loop joins without a click.
func DefaultAudio() AudioOptions {
	return AudioOptions{FrequencyHz: 440, Seconds: 1, Bitrate: 32_000}
}

const (
	audioRate     = 48_000
	audioFrameDur = 20 * time.Millisecond
	audioFrameLen = audioRate / 50 // samples per 20 ms
)

// EncodeAudio encodes a sine tone with libopus in 20 ms frames.
func EncodeAudio(opts AudioOptions) (*Loop, error) {
	if opts.FrequencyHz <= 0 || opts.FrequencyHz >= audioRate/2 || opts.Seconds <= 0 {
		return nil, fmt.Errorf("testsrc: tone %.0f Hz for %d s is out of range", opts.FrequencyHz, opts.Seconds)
	}
	total := opts.Seconds * 50
	next := 0
	reader := audio.ReaderFunc(func() (wave.Audio, func(), error) {
		if next >= total {
			return nil, func() {}, io.EOF
		}
		chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: audioFrameLen, Channels: 1, SamplingRate: audioRate})
		for i := 0; i < audioFrameLen; i++ {
			t := float64(next*audioFrameLen+i) / audioRate
			chunk.SetInt16(i, 0, wave.Int16Sample(8000*math.Sin(2*math.Pi*opts.FrequencyHz*t)))
		}
		next++
		return chunk, func() {}, nil
	})
	params, err := opus.NewParams()
	if err != nil {
		return nil, fmt.Errorf("testsrc: opus params: %w", err)
	}
	params.BitRate = opts.Bitrate
	enc, err := params.BuildAudioEncoder(reader, prop.Media{
		Audio: prop.Audio{SampleRate: audioRate, ChannelCount: 1},
	})
	if err != nil {
		return nil, fmt.Errorf("testsrc: opus encoder: %w", err)
	}
	defer enc.Close()
	loop := &Loop{Interval: audioFrameDur}
	if err := readAll(enc, loop, total); err != nil {
		return nil, err
	}
	return loop, nil
}

func readAll(enc codec.ReadCloser, loop *Loop, total int) error {
	for len(loop.Frames) < total {
		data, release, err := enc.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("testsrc: encode frame %d: %w", len(loop.Frames), err)
		}
		loop.Frames = append(loop.Frames, Frame{Data: append([]byte(nil), data...), Keyframe: true})
		release()
	}
	if len(loop.Frames) != total {
		return fmt.Errorf("testsrc: encoder gave %d frames, want %d", len(loop.Frames), total)
	}
	return nil
}
