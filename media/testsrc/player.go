package testsrc

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
)

// FrameWriter is what a Player writes to: a vp8.Track takes video frames
// with their non-reference mark; Samples adapts an audio track.
type FrameWriter interface {
	WriteFrame(data []byte, dur time.Duration, nonReference bool) error
}

// SampleWriter is a track that takes samples, such as
// *webrtc.TrackLocalStaticSample.
type SampleWriter interface {
	WriteSample(media.Sample) error
}

// Samples writes frames to a sample track, which has no use for the
// non-reference mark (audio frames have none).
type Samples struct{ Track SampleWriter }

func (s Samples) WriteFrame(data []byte, dur time.Duration, _ bool) error {
	return s.Track.WriteSample(media.Sample{Data: data, Duration: dur})
}

// Player writes a Loop to a track in real time.
type Player struct {
	loop   *Loop
	out    FrameWriter
	sent   atomic.Int64
	rewind atomic.Bool
}

// NewPlayer returns a Player of loop into out; call Run to start it.
func NewPlayer(loop *Loop, out FrameWriter) *Player {
	return &Player{loop: loop, out: out}
}

// RequestKeyframe makes the next frame a keyframe. The loop's only keyframe
// is its first frame, so this rewinds, which a viewer cannot tell apart from
// a fresh keyframe of a live encoder.
func (p *Player) RequestKeyframe() { p.rewind.Store(true) }

// FramesSent counts frames written so far.
func (p *Player) FramesSent() int64 { return p.sent.Load() }

// Run writes frames at the loop's pace until ctx is done. It keeps to the
// wall clock like a capture device does: frames a busy machine could not
// send on time go out late rather than not at all (beyond a second behind,
// it skips ahead). A write error ends it: the track is gone.
func (p *Player) Run(ctx context.Context) error {
	if len(p.loop.Frames) == 0 {
		return fmt.Errorf("testsrc: empty loop")
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := time.Now()
	i := 0
	for ctx.Err() == nil {
		if p.rewind.Swap(false) {
			i = 0
		}
		f := p.loop.Frames[i]
		if err := p.out.WriteFrame(f.Data, p.loop.Interval, f.NonReference); err != nil {
			return fmt.Errorf("testsrc: write frame: %w", err)
		}
		p.sent.Add(1)
		i = (i + 1) % len(p.loop.Frames)
		next = next.Add(p.loop.Interval)
		wait := time.Until(next)
		if wait < -time.Second {
			next, wait = time.Now(), 0
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
	}
	return nil
}
