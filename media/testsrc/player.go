package testsrc

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
)

// SampleWriter is what a Player writes to; *webrtc.TrackLocalStaticSample
// is one.
type SampleWriter interface {
	WriteSample(media.Sample) error
}

// Player writes a Loop to a track in real time.
type Player struct {
	loop   *Loop
	out    SampleWriter
	sent   atomic.Int64
	rewind atomic.Bool
}

// NewPlayer returns a Player of loop into out; call Run to start it.
func NewPlayer(loop *Loop, out SampleWriter) *Player {
	return &Player{loop: loop, out: out}
}

// RequestKeyframe makes the next frame a keyframe. The loop's only keyframe
// is its first frame, so this rewinds, which a viewer cannot tell apart from
// a fresh keyframe of a live encoder.
func (p *Player) RequestKeyframe() { p.rewind.Store(true) }

// FramesSent counts frames written so far.
func (p *Player) FramesSent() int64 { return p.sent.Load() }

// Run writes frames at the loop's pace until ctx is done. A write error
// ends it: the track is gone.
func (p *Player) Run(ctx context.Context) error {
	if len(p.loop.Frames) == 0 {
		return fmt.Errorf("testsrc: empty loop")
	}
	ticker := time.NewTicker(p.loop.Interval)
	defer ticker.Stop()
	i := 0
	for ctx.Err() == nil {
		if p.rewind.Swap(false) {
			i = 0
		}
		f := p.loop.Frames[i]
		if err := p.out.WriteSample(media.Sample{Data: f.Data, Duration: p.loop.Interval}); err != nil {
			return fmt.Errorf("testsrc: write frame: %w", err)
		}
		p.sent.Add(1)
		i = (i + 1) % len(p.loop.Frames)
		select {
		case <-ctx.Done():
		case <-ticker.C:
		}
	}
	return nil
}
