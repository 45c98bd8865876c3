package sfu

import (
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"parley/media/vp8"
)

// Retransmission limits.
const (
	// A packet is resent at most once per rtxMinInterval, however often it
	// is NACKed.
	rtxMinInterval = int64(50 * time.Millisecond)
	// A packet forwarded longer ago than this, or three round trips if
	// that is longer, is not resent (libwebrtc's packet history keeps a
	// packet at least that long): the subscriber has given up on its
	// frame by then. After an outage of the subscriber's link (its ICE
	// restarting), it NACKed the packets forwarded into the void
	// meanwhile, and the SFU answered with ~960 packets 7-9 s old in 2 s,
	// ten times the video's rate, just as the link came back.
	rtxMaxAge = int64(time.Second)
	// REMB from a subscriber older than this is ignored.
	rembMaxAge = int64(5 * time.Second)
	// A jump of the publisher's sequence numbers beyond this starts a new
	// run instead of being forwarded as a gap.
	maxSeqJump = 1000
	// Bitrate kept for each audio track of a subscriber when its downlink
	// estimate is shared among its video tracks.
	audioReserve = 64_000
	// After a loss, a subscriber taking only reference frames gets every
	// frame for this long: leaving frames out renumbers the packets that
	// follow, and the lost packet's retransmission must still find its
	// place.
	thinningHoldAfterLoss = int64(time.Second)
)

// Forwarding is how much of a published track a subscriber gets.
type Forwarding int

const (
	// ForwardAll: every packet.
	ForwardAll Forwarding = iota
	// ForwardReference: a VP8 video's frames that later frames refer to,
	// leaving out those its sender marked non-reference (the N bit): half
	// the rate of a sender with a half-rate layer, for a small tile. The
	// forwarded stream is renumbered (sequence numbers, picture ids) so
	// that it shows no gap. Other tracks are forwarded whole.
	ForwardReference
	// ForwardNone: nothing; the subscription stays (paused).
	ForwardNone
)

// DownTrack is one subscription: a published track sent to one subscriber.
// It implements webrtc.TrackLocal; Router.Subscribe adds it to the
// subscriber's PeerConnection with AddTrack.
//
// It has its own SSRC (the subscriber PC's sender) and rewrites sequence
// numbers and timestamps so the subscriber sees one continuous stream: video
// is dropped until a key frame starts it, and every restart (a new binding,
// a transport that was not ready) continues where the last packet sent left
// off. It answers the subscriber's NACKs from the Receiver's packet cache and
// turns PLI/FIR into keyframe requests to the publisher.
//
// StreamID is the publisher's participant id and ID the publisher's track
// id, so the subscriber's msid says whose track it is.
type DownTrack struct {
	receiver     *Receiver
	sub          *subscriber // nil in pure-path tests
	subscriberID string
	kind         webrtc.RTPCodecType
	mime         string
	clockRate    uint32

	binding   atomic.Pointer[binding]
	paused    atomic.Bool // ForwardNone: the subscriber does not show it
	reference atomic.Bool // ForwardReference

	mu     sync.Mutex // munger and seqMap
	m      munger
	seqMap []seqEntry
	mask   uint16

	// used by the RTCP goroutine only
	rtxBuf [maxPacketSize]byte
	rtxOut outScratch
	srcHdr rtp.Header

	rembBps atomic.Uint64
	rembAt  atomic.Int64
	stats   downTrackCounters
	// what share of the publisher's bytes reaches this subscriber
	// (publisherRate; the Receiver's goroutine only)
	share                float64
	shareSent, shareLeft uint64

	// lifecycle
	life        sync.Mutex
	sender      *webrtc.RTPSender
	pc          *webrtc.PeerConnection
	closed      atomic.Bool
	loopRunning bool
	rtcpDone    chan struct{}

	// dropHook, when set (tests), makes writeRTP pretend a packet was sent
	// while it is not: a loss on the wire toward this subscriber.
	dropHook func(outSeq uint16) bool
}

// binding is what Bind learned from the subscriber PeerConnection.
type binding struct {
	ssrc         uint32
	payloadType  uint8
	audioLevelID uint8
	writer       webrtc.TrackLocalWriter
}

// seqEntry maps a sequence number sent to the subscriber back to the
// publisher's packet.
type seqEntry struct {
	out      uint16
	src      uint16
	ts       uint32
	picShift uint16 // subtracted from the picture id (frames left out)
	valid    bool
	sent     int64 // when forwarded (the packet's arrival), monotonic ns
	lastSent int64 // when last resent
}

func newDownTrack(r *Receiver, sub *subscriber, subscriberID string) *DownTrack {
	n := r.cache.capacity()
	d := &DownTrack{
		receiver:     r,
		sub:          sub,
		subscriberID: subscriberID,
		kind:         r.kind.codecType(),
		mime:         r.codec.MimeType,
		clockRate:    r.clockRate,
		seqMap:       make([]seqEntry, n),
		mask:         uint16(n - 1),
		rtxOut:       newOutScratch(),
		rtcpDone:     make(chan struct{}),
	}
	d.srcHdr.Extensions = make([]rtp.Extension, 0, 8)
	d.m.lastOutSeq = uint16(rand.Uint32())
	d.m.lastOutTs = rand.Uint32()

	return d
}

// ID is the publisher's track id (webrtc.TrackLocal).
func (d *DownTrack) ID() string { return d.receiver.trackID }

// StreamID is the publisher's participant id (webrtc.TrackLocal).
func (d *DownTrack) StreamID() string { return d.receiver.participantID }

// RID is empty: no simulcast (webrtc.TrackLocal).
func (d *DownTrack) RID() string { return "" }

// Kind is audio or video (webrtc.TrackLocal).
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.kind }

// Receiver is the published track this DownTrack forwards.
func (d *DownTrack) Receiver() *Receiver { return d.receiver }

// SubscriberID is the subscriber's participant id.
func (d *DownTrack) SubscriberID() string { return d.subscriberID }

// Sender is the RTPSender in the subscriber's PeerConnection (nil before
// Router.Subscribe returns).
func (d *DownTrack) Sender() *webrtc.RTPSender {
	d.life.Lock()
	defer d.life.Unlock()

	return d.sender
}

// SSRC is the SSRC the subscriber receives, 0 until negotiated.
func (d *DownTrack) SSRC() uint32 {
	if b := d.binding.Load(); b != nil {
		return b.ssrc
	}

	return 0
}

// Bound reports whether negotiation has completed and packets flow.
func (d *DownTrack) Bound() bool { return d.binding.Load() != nil }

// Stats returns the counters of the subscription.
func (d *DownTrack) Stats() DownTrackStats {
	c := &d.stats

	return DownTrackStats{
		Packets:          c.packets.Load(),
		Bytes:            c.bytes.Load(),
		Dropped:          c.dropped.Load(),
		NACKs:            c.nacks.Load(),
		Retransmits:      c.rtx.Load(),
		RetransmitMisses: c.rtxMiss.Load(),
		PLIs:             c.plis.Load(),
		FIRs:             c.firs.Load(),
		Lost:             c.lost.Load(),
		FractionLost:     float64(c.fractionLost.Load()) / 256,
		Jitter:           time.Duration(c.jitterNs.Load()),
		RTT:              time.Duration(c.rttNs.Load()),
		Estimate:         c.estimate.Load(),
	}
}

// Bind is called by pion when the subscriber's PeerConnection has
// negotiated the track (webrtc.TrackLocal).
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, d.mime) {
			continue
		}
		b := &binding{
			ssrc:        uint32(ctx.SSRC()),
			payloadType: uint8(c.PayloadType),
			writer:      ctx.WriteStream(),
		}
		if d.kind == webrtc.RTPCodecTypeAudio {
			b.audioLevelID = audioLevelID(ctx.HeaderExtensions())
		}
		d.mu.Lock()
		for i := range d.seqMap {
			d.seqMap[i].valid = false
		}
		d.mu.Unlock()
		d.binding.Store(b)

		return c, nil
	}

	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// Unbind is called by pion when the track is removed from the
// PeerConnection or the PeerConnection closes (webrtc.TrackLocal).
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.binding.Store(nil)

	return nil
}

// writeRTP forwards one packet from the Receiver. It runs on the Receiver's
// goroutine, allocates nothing and holds no lock while writing.
func (d *DownTrack) writeRTP(p *packet, out *outScratch) {
	b := d.binding.Load()
	if b == nil || d.closed.Load() || d.paused.Load() {
		d.stats.dropped.Add(1)

		return
	}
	d.mu.Lock()
	if d.paused.Load() {
		d.mu.Unlock()
		d.stats.dropped.Add(1)

		return
	}
	seq, ts, res := d.m.next(p, b, d.receiver.keyframes, d.clockRate, d.reference.Load())
	picShift := d.m.picShift
	if res == forward {
		e := &d.seqMap[seq&d.mask]
		*e = seqEntry{out: seq, src: p.seq, ts: ts, picShift: picShift, valid: true, sent: p.arrival}
	}
	d.mu.Unlock()
	if res != forward {
		d.stats.dropped.Add(1)
		switch res {
		case dropNeedKeyframe:
			d.receiver.RequestKeyframe()
		case leaveOutFrame:
			d.stats.leftOut.Add(uint64(len(p.payload)))
		}

		return
	}
	if d.dropHook != nil && d.dropHook(seq) {
		return
	}

	h := &out.hdr
	h.Padding = false
	h.Marker = p.marker
	h.PayloadType = b.payloadType
	h.SequenceNumber = seq
	h.Timestamp = ts
	h.SSRC = b.ssrc
	h.CSRC = h.CSRC[:0]
	h.ClearExtensions()
	if b.audioLevelID != 0 && p.hasLevel {
		out.level[0] = p.level
		_ = h.SetExtension(b.audioLevelID, out.level[:])
	}
	payload := p.payload
	if picShift != 0 && p.thin.PictureIDBits != 0 {
		payload = out.payload[:copy(out.payload, payload)]
		vp8.ShiftPictureID(payload, p.thin.PictureIDBits, picShift)
	}
	n, err := b.writer.WriteRTP(h, payload)
	if n == 0 && err == nil {
		// The subscriber's transport is not up yet: nothing was sent, so
		// start again (with a key frame) once it is.
		d.mu.Lock()
		d.m.notSent(seq)
		d.mu.Unlock()
		d.stats.dropped.Add(1)

		return
	}
	if err == nil {
		d.stats.packets.Add(1)
		d.stats.bytes.Add(uint64(n))
		if d.sub != nil {
			d.sub.sentBytes.Add(uint64(n))
		}
	}
}

// SetForwarding sets how much of the track this subscriber gets. A pause
// (ForwardNone) keeps the subscription. Resumed video starts at a keyframe,
// asked for at once; its sequence numbers and timestamps go on from the
// last packet sent, so the subscriber sees a pause, not a loss. Switching
// between ForwardAll and ForwardReference needs no keyframe: frames are
// left out from the next non-reference one, or no longer from the next
// frame.
func (d *DownTrack) SetForwarding(f Forwarding) {
	paused := f == ForwardNone
	// Under d.mu, which writeRTP holds from its second look at paused to
	// its decision: no packet of the old run slips out after a resume.
	d.mu.Lock()
	d.reference.Store(f == ForwardReference)
	changed := d.paused.Swap(paused) != paused
	if changed {
		d.m.started = false // a new run, from the next keyframe
	}
	d.mu.Unlock()
	if changed && !paused && d.receiver.keyframes {
		d.receiver.RequestKeyframe()
	}
}

// rtcpLoop reads the subscriber's RTCP for this track until the sender
// stops, then removes the DownTrack.
func (d *DownTrack) rtcpLoop(sender *webrtc.RTPSender) {
	defer close(d.rtcpDone)
	buf := make([]byte, maxPacketSize)
	failures := 0
	for {
		n, attr, err := sender.Read(buf)
		if err != nil {
			if d.closed.Load() || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				break
			}
			if failures++; failures > 100 {
				break
			}

			continue
		}
		failures = 0
		var pkts []rtcp.Packet
		if attr != nil {
			pkts, err = attr.GetRTCPPackets(buf[:n])
		} else {
			pkts, err = rtcp.Unmarshal(buf[:n])
		}
		if err != nil {
			continue
		}
		d.handleRTCP(pkts, monoNow())
	}
	// The sender stopped (track removed, PeerConnection closed).
	d.close(false)
}

func (d *DownTrack) handleRTCP(pkts []rtcp.Packet, now int64) {
	b := d.binding.Load()
	if b == nil {
		return
	}
	for _, pkt := range pkts {
		switch p := pkt.(type) {
		case *rtcp.PictureLossIndication:
			d.stats.plis.Add(1)
			d.receiver.RequestKeyframe()
		case *rtcp.FullIntraRequest:
			d.stats.firs.Add(1)
			d.receiver.RequestKeyframe()
		case *rtcp.TransportLayerNack:
			for _, pair := range p.Nacks {
				pair.Range(func(seq uint16) bool {
					d.retransmit(b, seq, now)

					return true
				})
			}
		case *rtcp.ReceiverReport:
			for i := range p.Reports {
				if p.Reports[i].SSRC == b.ssrc {
					d.onReport(&p.Reports[i])
				}
			}
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			for _, s := range p.SSRCs {
				if s == b.ssrc && p.Bitrate > 0 {
					// REMB is for all the SSRCs it lists together.
					d.rembBps.Store(uint64(p.Bitrate) / uint64(len(p.SSRCs)))
					d.rembAt.Store(now)
				}
			}
		}
	}
}

// retransmit resends the packet the subscriber knows as seq from the cache.
func (d *DownTrack) retransmit(b *binding, seq uint16, now int64) {
	d.stats.nacks.Add(1)
	d.mu.Lock()
	e := &d.seqMap[seq&d.mask]
	if !e.valid || e.out != seq {
		d.mu.Unlock()
		d.stats.rtxMiss.Add(1)

		return
	}
	if e.lastSent != 0 && now-e.lastSent < rtxMinInterval {
		d.mu.Unlock()

		return
	}
	if now-e.sent > max(rtxMaxAge, 3*int64(d.stats.rttNs.Load())) {
		d.mu.Unlock()
		d.stats.rtxMiss.Add(1)

		return
	}
	e.lastSent = now
	src, ts, picShift := e.src, e.ts, e.picShift
	d.mu.Unlock()

	n := d.receiver.cache.get(src, d.rtxBuf[:])
	if n == 0 {
		d.stats.rtxMiss.Add(1)

		return
	}
	sh := &d.srcHdr
	hl, err := sh.Unmarshal(d.rtxBuf[:n])
	if err != nil || hl > n {
		return
	}
	payload := d.rtxBuf[hl:n]
	if sh.Padding && len(payload) > 0 && int(payload[len(payload)-1]) <= len(payload) {
		payload = payload[:len(payload)-int(payload[len(payload)-1])]
	}
	if picShift != 0 {
		// The cache holds the publisher's numbering; rtxBuf is ours.
		vp8.ShiftPictureID(payload, vp8.ReadThinning(payload).PictureIDBits, picShift)
	}
	h := &d.rtxOut.hdr
	h.Padding = false
	h.Marker = sh.Marker
	h.PayloadType = b.payloadType
	h.SequenceNumber = seq
	h.Timestamp = ts
	h.SSRC = b.ssrc
	h.CSRC = h.CSRC[:0]
	h.ClearExtensions()
	if b.audioLevelID != 0 && d.receiver.audioLevel != 0 {
		if lv := sh.GetExtension(d.receiver.audioLevel); len(lv) > 0 {
			d.rtxOut.level[0] = lv[0]
			_ = h.SetExtension(b.audioLevelID, d.rtxOut.level[:])
		}
	}
	if _, err := b.writer.WriteRTP(h, payload); err == nil {
		d.stats.rtx.Add(1)
	}
}

func (d *DownTrack) onReport(rr *rtcp.ReceptionReport) {
	c := &d.stats
	c.lost.Store(uint64(rr.TotalLost))
	c.fractionLost.Store(uint64(rr.FractionLost))
	if d.clockRate > 0 {
		c.jitterNs.Store(uint64(rr.Jitter) * uint64(time.Second) / uint64(d.clockRate))
	}
	if rr.LastSenderReport != 0 {
		// RTT = now - LSR - DLSR, all in 1/65536 s (RFC 3550 6.4.1).
		rtt := ntpCompact(time.Now()) - rr.LastSenderReport - rr.Delay
		if rtt < 60<<16 {
			c.rttNs.Store(uint64(rtt) * uint64(time.Second) >> 16)
		}
	}
}

// estimate is what this subscriber's downlink takes for this track, in bits
// per second (0: no limit known): the lower of the subscriber's REMB and,
// when its downlink is congested, its share of the congestion controller's
// estimate for its PeerConnection.
func (d *DownTrack) estimate(now int64) uint64 {
	var est uint64
	if at := d.rembAt.Load(); at != 0 && now-at < rembMaxAge {
		est = d.rembBps.Load()
	}
	if d.sub != nil && d.kind == webrtc.RTPCodecTypeVideo {
		if share, ok := d.sub.videoShare(now); ok && (est == 0 || share < est) {
			est = share
		}
	}
	d.stats.estimate.Store(est)

	return est
}

// Bounds of the share of a publisher's bytes that a subscriber taking
// reference frames only is sent, and the bytes (sent and left out) that a
// new measurement of it needs.
const (
	minForwardedShare   = 0.25
	shareMeasuringBytes = 16 << 10
)

// publisherRate is the publisher bitrate at which this subscriber is sent
// est: more than est while frames are left out for it, by the share of
// the publisher's bytes it was sent since the last call (a thumbnail
// viewer on a slow link does not hold everyone else's picture down to its
// own rate). Called on the Receiver's goroutine.
func (d *DownTrack) publisherRate(est uint64) uint64 {
	sent, left := d.stats.bytes.Load(), d.stats.leftOut.Load()
	if ds, dl := sent-d.shareSent, left-d.shareLeft; ds+dl >= shareMeasuringBytes {
		d.share = max(float64(ds)/float64(ds+dl), minForwardedShare)
		d.shareSent, d.shareLeft = sent, left
	}
	if !d.reference.Load() || d.share == 0 {
		return est
	}

	return uint64(float64(est) / d.share)
}

// Close ends the subscription: the track is removed from the subscriber's
// PeerConnection (renegotiate it afterwards). Same as Router.Unsubscribe.
func (d *DownTrack) Close() { d.close(true) }

// close detaches the DownTrack from its Receiver and Router; removeTrack
// also removes it from the PeerConnection and waits for the RTCP goroutine.
func (d *DownTrack) close(removeTrack bool) {
	d.life.Lock()
	if d.closed.Load() {
		running := d.loopRunning
		d.life.Unlock()
		if removeTrack && running {
			<-d.rtcpDone
		}

		return
	}
	d.closed.Store(true)
	sender, pc, running := d.sender, d.pc, d.loopRunning
	d.life.Unlock()

	d.receiver.removeDownTrack(d)
	if d.sub != nil {
		d.sub.router.forgetDownTrack(d)
	}
	if removeTrack {
		if sender != nil && pc != nil {
			if err := pc.RemoveTrack(sender); err != nil {
				// PC closed: stopping the sender ends the RTCP loop.
				_ = sender.Stop()
			}
		}
		if running {
			<-d.rtcpDone
		}
	}
}

// ntpCompact is the middle 32 bits of the NTP timestamp of t.
func ntpCompact(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)

	return uint32(secs<<16 | frac>>16)
}

// forwarding decisions of the munger
type mungeResult int

const (
	forward mungeResult = iota
	drop
	dropNeedKeyframe
	leaveOutFrame // a packet of a non-reference frame, for ForwardReference
)

// munger maps the publisher's sequence numbers and timestamps to the
// DownTrack's. Within a run ("generation") the mapping is a constant offset,
// so losses stay visible as gaps (and NACKable); a new run starts on the
// first packet, on a new binding and after a write that could not be sent,
// and continues one sequence number and the elapsed time after the last
// packet sent.
//
// Packets left out on purpose (padding; non-reference frames when only
// reference frames are wanted) leave no gap: the offset grows by them, and
// older packets arriving late are dropped, since the offset no longer fits
// them. Frames are left out only when no loss was seen for
// thinningHoldAfterLoss, so that retransmissions of lost packets still fit.
type munger struct {
	started    bool
	binding    *binding
	snOffset   uint16
	tsOffset   uint32
	lastSrc    uint16 // highest publisher sequence number in this run
	runStart   uint16 // older publisher sequence numbers are from a previous run
	lastOutSeq uint16
	lastOutTs  uint32
	lastOutAt  int64 // 0: nothing sent yet
	// state before the run started, restored by notSent
	prevSeq uint16
	prevTs  uint32
	prevAt  int64
	// frames left out (ForwardReference)
	skipping bool   // the frame of timestamp skipTs is being left out
	skipTs   uint32 // the last frame left out
	skipped  bool   // skipTs is set
	picShift uint16 // frames left out in this run: the picture ids' offset
	lossAt   int64  // arrival of the packet after the last gap, 0: none
}

// leaveOut drops the packets up to seq from the run without a gap.
func (m *munger) leaveOut(seq uint16) {
	m.snOffset += seq - m.lastSrc
	m.lastSrc = seq
	m.runStart = seq + 1
}

func (m *munger) next(p *packet, b *binding, gate bool, clockRate uint32, referenceOnly bool) (uint16, uint32, mungeResult) {
	if m.started && m.binding != b {
		m.started = false
	}
	if m.started {
		// The publisher's numbering jumped (restarted encoder, long
		// outage): forwarding the jump would make the subscriber NACK
		// thousands of packets, or drop everything as old.
		if d := int16(p.seq - m.lastSrc); d > maxSeqJump || d < -maxSeqJump {
			m.started = false
		}
	}
	if !m.started {
		if p.paddingOnly {
			return 0, 0, drop
		}
		if gate && !p.keyframe {
			return 0, 0, dropNeedKeyframe
		}
		m.prevSeq, m.prevTs, m.prevAt = m.lastOutSeq, m.lastOutTs, m.lastOutAt
		var gap uint32
		if m.lastOutAt != 0 {
			elapsed := min(max(p.arrival-m.lastOutAt, 0), int64(time.Hour))
			gap = max(uint32(uint64(elapsed)*uint64(clockRate)/uint64(time.Second)), 1)
		}
		m.snOffset = p.seq - (m.lastOutSeq + 1)
		m.tsOffset = p.ts - (m.lastOutTs + gap)
		m.runStart = p.seq
		m.lastSrc = p.seq - 1
		m.started = true
		m.binding = b
		m.skipping, m.skipped, m.picShift, m.lossAt = false, false, 0, 0
	}
	d := int16(p.seq - m.lastSrc)
	if d > 0 {
		if p.paddingOnly && d == 1 {
			// Padding (bandwidth probes) is for the publisher's link only.
			m.leaveOut(p.seq)

			return 0, 0, drop
		}
		if m.skipping && p.ts == m.skipTs {
			// More of the frame being left out; anything lost since its
			// last packet was part of it too.
			m.leaveOut(p.seq)

			return 0, 0, leaveOutFrame
		}
		m.skipping = false
		if d > 1 {
			m.lossAt = p.arrival
		}
		if referenceOnly && d == 1 && p.thin.NonReference && p.thin.FrameStart && !p.keyframe &&
			(m.lossAt == 0 || p.arrival-m.lossAt >= thinningHoldAfterLoss) {
			m.skipping, m.skipped, m.skipTs = true, true, p.ts
			m.picShift++
			m.leaveOut(p.seq)

			return 0, 0, leaveOutFrame
		}
		m.lastSrc = p.seq
		m.lastOutSeq = p.seq - m.snOffset
		m.lastOutTs = p.ts - m.tsOffset
		m.lastOutAt = p.arrival

		return m.lastOutSeq, m.lastOutTs, forward
	}
	// A late packet (e.g. retransmitted by the publisher after our NACK).
	// One of the last frame left out would arrive as a headless fragment.
	if d == 0 || p.paddingOnly || int16(p.seq-m.runStart) < 0 || (m.skipped && p.ts == m.skipTs) {
		return 0, 0, drop
	}

	return p.seq - m.snOffset, p.ts - m.tsOffset, forward
}

// notSent undoes packet seq, which could not be sent: the next run starts
// afresh (with a key frame for video).
func (m *munger) notSent(seq uint16) {
	if !m.started {
		return
	}
	m.started = false
	if seq == m.prevSeq+1 && seq == m.lastOutSeq {
		// It was the first packet of the run: as if the run never started.
		m.lastOutSeq, m.lastOutTs, m.lastOutAt = m.prevSeq, m.prevTs, m.prevAt
	}
}

var _ webrtc.TrackLocal = (*DownTrack)(nil)
