package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"parley/media/testsrc"
)

// stampSize is the tail of every payload the probe overwrites with its send
// time. The SFU never looks past a payload's first bytes, and nobody
// decodes the bench's media, so the stamp costs nothing and lets each
// subscriber measure the one-way forwarding latency of every packet.
const stampSize = 8

// probe plays a loop as RTP like a real sender (one frame per interval,
// packetized at 1200 bytes), stamping each packet.
type probe struct {
	track     *webrtc.TrackLocalStaticRTP
	loop      *testsrc.Loop
	packetize rtp.Packetizer
	samples   uint32
	epoch     time.Time
	rewind    atomic.Bool
	sent      atomic.Uint64
}

func newProbe(track *webrtc.TrackLocalStaticRTP, loop *testsrc.Loop, clockRate uint32, video bool, epoch time.Time) *probe {
	var payloader rtp.Payloader = &codecs.OpusPayloader{}
	if video {
		payloader = &codecs.VP8Payloader{EnablePictureID: true}
	}
	return &probe{
		track:     track,
		loop:      loop,
		packetize: rtp.NewPacketizer(1200, 0, 0, payloader, rtp.NewRandomSequencer(), clockRate),
		samples:   uint32(loop.Interval.Seconds() * float64(clockRate)),
		epoch:     epoch,
	}
}

func (p *probe) requestKeyframe() { p.rewind.Store(true) }

func (p *probe) run(ctx context.Context) error {
	ticker := time.NewTicker(p.loop.Interval)
	defer ticker.Stop()
	i := 0
	for {
		if p.rewind.Swap(false) {
			i = 0
		}
		for _, pkt := range p.packetize.Packetize(p.loop.Frames[i].Data, p.samples) {
			if len(pkt.Payload) >= stampSize+16 {
				binary.BigEndian.PutUint64(pkt.Payload[len(pkt.Payload)-stampSize:], uint64(time.Since(p.epoch)))
			}
			if err := p.track.WriteRTP(pkt); err != nil {
				return fmt.Errorf("probe write: %w", err)
			}
			p.sent.Add(1)
		}
		i = (i + 1) % len(p.loop.Frames)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// readStamp returns the latency a stamped packet took, false for packets
// too small to carry a stamp.
func readStamp(payload []byte, epoch time.Time) (time.Duration, bool) {
	if len(payload) < stampSize+16 {
		return 0, false
	}
	sent := time.Duration(binary.BigEndian.Uint64(payload[len(payload)-stampSize:]))
	now := time.Since(epoch)
	if sent <= 0 || sent > now {
		return 0, false
	}
	return now - sent, true
}
