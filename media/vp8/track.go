package vp8

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// nonReferenceBit is the N bit of the VP8 payload descriptor's first byte
// (RFC 7741 §4.2): "the frame can be discarded without affecting any other
// frames".
const nonReferenceBit = 0x20

// Track is an outgoing VP8 track whose packets carry the N bit on frames
// that no later frame refers to (an encoder's half-rate layer), so that a
// receiver drawing a small tile can skip them and decode half the frames,
// and a lost one needs no keyframe.
type Track struct {
	*webrtc.TrackLocalStaticSample
	pay *payloader
	// mu makes the flag and the packetizing of its frame one step.
	mu sync.Mutex
}

// NewTrack returns a VP8 track with the given codec, track id and stream id.
func NewTrack(c webrtc.RTPCodecCapability, id, streamID string) (*Track, error) {
	// Picture ids as pion's own VP8 tracks send them.
	pay := &payloader{VP8Payloader: codecs.VP8Payloader{EnablePictureID: true}}
	s, err := webrtc.NewTrackLocalStaticSample(c, id, streamID,
		webrtc.WithPayloader(func(webrtc.RTPCodecCapability) (rtp.Payloader, error) { return pay, nil }))
	if err != nil {
		return nil, fmt.Errorf("vp8 track %s: %w", id, err)
	}
	return &Track{TrackLocalStaticSample: s, pay: pay}, nil
}

// WriteFrame sends one encoded frame that lasts dur; nonReference marks a
// frame that no later frame refers to.
func (t *Track) WriteFrame(data []byte, dur time.Duration, nonReference bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pay.nonReference = nonReference
	return t.TrackLocalStaticSample.WriteSample(media.Sample{Data: data, Duration: dur})
}

// WriteSample sends a frame that later frames may refer to.
func (t *Track) WriteSample(s media.Sample) error {
	return t.WriteFrame(s.Data, s.Duration, false)
}

// payloader is pion's VP8 payloader plus the N bit of the frame being
// packetized (set under Track.mu, read while the packetizer runs under it).
type payloader struct {
	codecs.VP8Payloader
	nonReference bool
}

func (p *payloader) Payload(mtu uint16, frame []byte) [][]byte {
	out := p.VP8Payloader.Payload(mtu, frame)
	if p.nonReference {
		for _, pkt := range out {
			pkt[0] |= nonReferenceBit
		}
	}
	return out
}
