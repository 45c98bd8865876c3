// Package vp8 turns the RTP packets of a VP8 track back into whole frames
// for a decoder: it reorders packets, waits briefly for retransmissions,
// drops frames that cannot be completed and, because a VP8 delta frame
// cannot be decoded after a loss, holds everything back until the next
// keyframe and asks the sender for one.
//
// pion's samplebuilder would do the reassembly but only releases a frame
// when the first packet of the next one arrives, a frame interval of added
// latency; a VP8 frame is complete as soon as its marker packet and every
// sequence number before it back to the partition start are in.
package vp8

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// Frame is one complete encoded VP8 frame.
type Frame struct {
	Data []byte
	// Timestamp is the RTP timestamp (90 kHz clock).
	Timestamp uint32
	Keyframe  bool
	// NonReference: no later frame refers to this one (the sender set the
	// payload descriptor's N bit), so a decoder may skip it.
	NonReference bool
	// Width and Height are read from a keyframe's header; zero on delta frames.
	Width, Height int
}

// Defaults of an Assembler.
const (
	// DefaultMaxWait is how long an incomplete frame waits for its missing
	// packets (NACK retransmissions) once a later frame is complete. On a
	// LAN a retransmission takes a few milliseconds; waiting longer only
	// freezes the picture.
	DefaultMaxWait = 150 * time.Millisecond
	// DefaultMaxPending bounds the frames being assembled at once.
	DefaultMaxPending = 8
	// DefaultMaxFrameBytes bounds one frame; larger ones are dropped (a
	// 1080p keyframe is a few hundred kilobytes).
	DefaultMaxFrameBytes = 4 << 20
	// DefaultKeyframeInterval is the least time between keyframe requests:
	// a request answered by a keyframe takes a round trip and an encode.
	DefaultKeyframeInterval = 500 * time.Millisecond
)

// Assembler reassembles frames. It is not safe for concurrent use: feed it
// from the track's reader goroutine.
type Assembler struct {
	// RequestKeyframe is called (at most every KeyframeInterval) when the
	// picture cannot continue without a keyframe. May be nil.
	RequestKeyframe  func()
	MaxWait          time.Duration
	MaxPending       int
	MaxFrameBytes    int
	KeyframeInterval time.Duration

	pending      []*pendingFrame // ordered by timestamp, oldest first
	lastTS       uint32          // timestamp of the last frame released or dropped
	haveLast     bool
	lastPic      pictureID // of the last frame released or dropped
	needKeyframe bool
	lastRequest  time.Time
	stats        Stats
	desc         codecs.VP8Packet
}

// Stats count what an Assembler did.
type Stats struct {
	Frames            uint64 // frames released
	Keyframes         uint64
	Dropped           uint64 // incomplete frames given up on
	Missing           uint64 // whole frames that never arrived (picture id gaps)
	Skipped           uint64 // complete delta frames held back waiting for a keyframe
	KeyframeRequests  uint64
	LatePackets       uint64 // packets of frames already released or dropped
	MalformedPackets  uint64
	OversizedFrames   uint64
	DuplicatedPackets uint64
}

type pendingFrame struct {
	ts        uint32
	first     time.Time // arrival of its first packet
	parts     map[uint16][]byte
	startSeq  uint16
	haveStart bool
	endSeq    uint16
	haveEnd   bool
	size      int
	nonRef    bool // a packet carried the N bit
	pic       pictureID
}

// NewAssembler returns an Assembler with the default limits that waits for
// a keyframe before releasing anything.
func NewAssembler(requestKeyframe func()) *Assembler {
	return &Assembler{
		RequestKeyframe:  requestKeyframe,
		MaxWait:          DefaultMaxWait,
		MaxPending:       DefaultMaxPending,
		MaxFrameBytes:    DefaultMaxFrameBytes,
		KeyframeInterval: DefaultKeyframeInterval,
		needKeyframe:     true,
	}
}

// Stats returns the counters so far.
func (a *Assembler) Stats() Stats { return a.stats }

// NeedKeyframe makes the assembler hold back frames until the next
// keyframe (the consumer lost its decoder state) and asks for one.
func (a *Assembler) NeedKeyframe(now time.Time) {
	a.needKeyframe = true
	a.requestKeyframe(now)
}

// Push adds a packet that arrived at now and returns the frames it
// completed, in order. The packet is not kept: its payload is copied.
func (a *Assembler) Push(p *rtp.Packet, now time.Time) []Frame {
	if len(p.Payload) == 0 {
		return nil // padding
	}
	if a.haveLast && int32(p.Timestamp-a.lastTS) <= 0 {
		a.stats.LatePackets++
		return nil
	}
	payload, err := a.desc.Unmarshal(p.Payload)
	if err != nil {
		a.stats.MalformedPackets++
		return nil
	}
	f := a.frameFor(p.Timestamp, now)
	if _, dup := f.parts[p.SequenceNumber]; dup {
		a.stats.DuplicatedPackets++
		return a.release(now)
	}
	f.parts[p.SequenceNumber] = append([]byte(nil), payload...)
	f.size += len(payload)
	f.nonRef = f.nonRef || a.desc.N == 1
	f.pic = readPictureID(p.Payload)
	if a.desc.S == 1 && a.desc.PID == 0 {
		f.startSeq, f.haveStart = p.SequenceNumber, true
	}
	if p.Marker {
		f.endSeq, f.haveEnd = p.SequenceNumber, true
	}
	if f.size > a.MaxFrameBytes {
		a.stats.OversizedFrames++
		for i, g := range a.pending {
			if g == f {
				a.drop(i, now)
				break
			}
		}
	}
	return a.release(now)
}

// frameFor finds or inserts the pending frame of timestamp ts.
func (a *Assembler) frameFor(ts uint32, now time.Time) *pendingFrame {
	i := len(a.pending)
	for j, f := range a.pending {
		if f.ts == ts {
			return f
		}
		if int32(ts-f.ts) < 0 {
			i = j
			break
		}
	}
	f := &pendingFrame{ts: ts, first: now, parts: make(map[uint16][]byte, 4)}
	a.pending = append(a.pending, nil)
	copy(a.pending[i+1:], a.pending[i:])
	a.pending[i] = f
	for len(a.pending) > a.MaxPending {
		a.drop(0, now)
	}
	return f
}

func (f *pendingFrame) complete() bool {
	return f.haveStart && f.haveEnd && int(f.endSeq-f.startSeq)+1 == len(f.parts) &&
		int16(f.endSeq-f.startSeq) >= 0
}

// release returns the frames that may go to the decoder now: complete ones
// at the head, after giving up on incomplete heads that waited too long
// while something later is already complete.
func (a *Assembler) release(now time.Time) []Frame {
	var out []Frame
	for len(a.pending) > 0 {
		head := a.pending[0]
		if !head.complete() {
			if !a.laterComplete() || now.Sub(head.first) < a.MaxWait {
				break
			}
			a.drop(0, now)
			continue
		}
		if !head.pic.follows(a.lastPic) && !head.keyframe() {
			// A whole frame before it is missing: wait for a late
			// retransmission like for a missing packet, then give up.
			if now.Sub(head.first) < a.MaxWait {
				break
			}
			a.stats.Missing++
			a.needKeyframe = true
			a.requestKeyframe(now)
		}
		a.pending = a.pending[1:]
		a.lastTS, a.haveLast, a.lastPic = head.ts, true, head.pic
		frame := head.assemble()
		if a.needKeyframe && !frame.Keyframe {
			a.stats.Skipped++
			a.requestKeyframe(now)
			continue
		}
		a.needKeyframe = false
		a.stats.Frames++
		if frame.Keyframe {
			a.stats.Keyframes++
		}
		out = append(out, frame)
	}
	return out
}

func (a *Assembler) laterComplete() bool {
	for _, f := range a.pending[1:] {
		if f.complete() {
			return true
		}
	}
	return false
}

// drop gives up on pending[i]: every later delta frame depends on it,
// unless the sender marked it as one that nothing refers to.
func (a *Assembler) drop(i int, now time.Time) {
	f := a.pending[i]
	a.pending = append(a.pending[:i], a.pending[i+1:]...)
	if i == 0 {
		// Its late packets must not start it again.
		a.lastTS, a.haveLast, a.lastPic = f.ts, true, f.pic
	}
	a.stats.Dropped++
	if f.nonRef {
		return
	}
	a.needKeyframe = true
	a.requestKeyframe(now)
}

func (a *Assembler) requestKeyframe(now time.Time) {
	if a.RequestKeyframe == nil || now.Sub(a.lastRequest) < a.KeyframeInterval {
		return
	}
	a.lastRequest = now
	a.stats.KeyframeRequests++
	a.RequestKeyframe()
}

// keyframe reads the frame tag of a complete frame's first packet.
func (f *pendingFrame) keyframe() bool {
	first := f.parts[f.startSeq]
	return len(first) > 0 && first[0]&0x01 == 0
}

func (f *pendingFrame) assemble() Frame {
	data := make([]byte, 0, f.size)
	for seq := f.startSeq; ; seq++ {
		data = append(data, f.parts[seq]...)
		if seq == f.endSeq {
			break
		}
	}
	fr := Frame{Data: data, Timestamp: f.ts, NonReference: f.nonRef}
	fr.Keyframe, fr.Width, fr.Height = ParseKeyframe(data)
	return fr
}

// ParseKeyframe reads the frame tag and, for a keyframe, its dimensions
// (RFC 6386 §9.1: a 3-byte tag whose bit 0 is clear on keyframes, the start
// code 9d 01 2a, then 14-bit width and height).
func ParseKeyframe(frame []byte) (keyframe bool, width, height int) {
	if len(frame) < 10 || frame[0]&0x01 != 0 {
		return false, 0, 0
	}
	if frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return false, 0, 0
	}
	w := binary.LittleEndian.Uint16(frame[6:8]) & 0x3fff
	h := binary.LittleEndian.Uint16(frame[8:10]) & 0x3fff
	return true, int(w), int(h)
}
