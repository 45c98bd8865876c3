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

	"parley/backend/rtcconf"
	"parley/media/vp8"
)

// TrackKind is what a published track carries, as the signaling protocol
// names it. Screen shares are video tracks with larger key frames and a
// higher bitrate cap.
type TrackKind string

const (
	KindAudio  TrackKind = "audio"
	KindVideo  TrackKind = "video"
	KindScreen TrackKind = "screen"
)

func (k TrackKind) valid() bool { return k == KindAudio || k == KindVideo || k == KindScreen }

// codecType is the RTP media kind of k.
func (k TrackKind) codecType() webrtc.RTPCodecType {
	if k == KindAudio {
		return webrtc.RTPCodecTypeAudio
	}

	return webrtc.RTPCodecTypeVideo
}

// SpeakingEvent reports a change of a published audio track's speaking
// state, or of its level while speaking.
type SpeakingEvent struct {
	ParticipantID string
	TrackID       string
	Speaking      bool
	// Level is the smoothed RFC 6464 level: 0 is the loudest (0 dBov),
	// 127 silence. LevelToLinear converts it for a meter.
	Level uint8
}

// Receiver is one published track: it reads the publisher's RTP, keeps the
// recent packets in a cache, and forwards every packet to its DownTracks.
// Create it with Router.AddPublisherTrack.
type Receiver struct {
	participantID string
	trackID       string
	kind          TrackKind
	cfg           *Config
	router        *Router

	track       *webrtc.TrackRemote // nil in pure-path tests
	rtpReceiver *webrtc.RTPReceiver
	codec       webrtc.RTPCodecParameters
	mediaSSRC   uint32
	localSSRC   uint32 // sender SSRC of the RTCP we send
	clockRate   uint32
	keyframes   bool // key frames are detectable (VP8): DownTracks wait for one
	audioLevel  uint8
	writeRTCP   func([]rtcp.Packet) error

	cache   *packetCache
	speaker *speakerDetector // audio only

	mu         sync.Mutex
	closed     bool
	downTracks atomic.Pointer[[]*DownTrack] // copy-on-write, read without locks

	lastPLI  atomic.Int64
	closing  atomic.Bool
	stats    receiverCounters
	speaking atomic.Bool

	// owned by the read goroutine
	hdr      rtp.Header
	pkt      packet
	out      outScratch
	seqInit  bool
	lastSeq  uint16
	expected uint64
	lastREMB int64

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	done      chan struct{}
}

// packet is one received RTP packet as the Receiver hands it to DownTracks.
// It points into the Receiver's read buffer and is valid during the call.
type packet struct {
	seq         uint16
	ts          uint32
	marker      bool
	keyframe    bool
	thin        vp8.Thinning // VP8 only
	paddingOnly bool
	hasLevel    bool
	level       uint8
	payload     []byte
	arrival     int64
}

// outScratch is the outgoing header a forwarding goroutine fills for each
// DownTrack in turn, so that forwarding allocates nothing.
type outScratch struct {
	hdr   rtp.Header
	level [1]byte
	// payload holds a payload whose picture id is renumbered: the
	// packet's own is shared by every DownTrack. It is as large as the
	// read buffer, so any payload fits.
	payload []byte
}

func newOutScratch() outScratch {
	return outScratch{
		hdr:     rtp.Header{Version: 2, Extensions: make([]rtp.Extension, 0, 4)},
		payload: make([]byte, maxPacketSize),
	}
}

var errKindMismatch = errors.New("sfu: track kind does not match the RTP media kind")

func newReceiver(rt *Router, participantID, trackID string, kind TrackKind,
	codec webrtc.RTPCodecParameters, mediaSSRC uint32, audioLevelID uint8,
) *Receiver {
	cfg := &rt.cfg
	size := cfg.VideoCacheSize
	switch kind {
	case KindAudio:
		size = cfg.AudioCacheSize
	case KindScreen:
		size = cfg.ScreenCacheSize
	}
	r := &Receiver{
		participantID: participantID,
		trackID:       trackID,
		kind:          kind,
		cfg:           cfg,
		router:        rt,
		codec:         codec,
		mediaSSRC:     mediaSSRC,
		localSSRC:     rand.Uint32(),
		clockRate:     codec.ClockRate,
		keyframes:     kind != KindAudio && strings.EqualFold(codec.MimeType, webrtc.MimeTypeVP8),
		audioLevel:    audioLevelID,
		cache:         newPacketCache(size),
		out:           newOutScratch(),
		stop:          make(chan struct{}),
		done:          make(chan struct{}),
		writeRTCP:     func([]rtcp.Packet) error { return nil },
	}
	if r.clockRate == 0 {
		r.clockRate = 90000
		if kind == KindAudio {
			r.clockRate = 48000
		}
	}
	r.hdr.Extensions = make([]rtp.Extension, 0, 8)
	if kind == KindAudio {
		r.speaker = newSpeakerDetector(cfg.SpeakingLevel, cfg.SpeakingOnset, cfg.SpeakingHangover)
	}
	r.downTracks.Store(&[]*DownTrack{})

	return r
}

// start runs the goroutines that read RTP and RTCP from the publisher and the
// timer that sends REMB and speaking events.
func (r *Receiver) start() {
	r.wg.Add(3)
	go r.readLoop()
	go r.rtcpLoop()
	go r.tickLoop()
}

// ParticipantID is the publisher's participant id.
func (r *Receiver) ParticipantID() string { return r.participantID }

// TrackID is the published track's id.
func (r *Receiver) TrackID() string { return r.trackID }

// Kind is what the track carries.
func (r *Receiver) Kind() TrackKind { return r.kind }

// Codec is the negotiated codec of the published track.
func (r *Receiver) Codec() webrtc.RTPCodecParameters { return r.codec }

// SSRC is the publisher's SSRC.
func (r *Receiver) SSRC() uint32 { return r.mediaSSRC }

// Done is closed when the Receiver has stopped: its goroutines have returned
// and its DownTracks are removed.
func (r *Receiver) Done() <-chan struct{} { return r.done }

// Speaking reports whether the track (audio) is currently speaking.
func (r *Receiver) Speaking() bool { return r.speaking.Load() }

// AudioLevel is the smoothed RFC 6464 level of an audio track (0 loudest,
// 127 silence); 127 for video.
func (r *Receiver) AudioLevel() uint8 {
	if r.speaker == nil {
		return silentLevel
	}

	return r.speaker.currentLevel()
}

// DownTracks returns the current subscriptions to this track.
func (r *Receiver) DownTracks() []*DownTrack {
	return append([]*DownTrack(nil), *r.downTracks.Load()...)
}

// Stats returns the counters of the track.
func (r *Receiver) Stats() ReceiverStats {
	return ReceiverStats{
		Packets:    r.stats.packets.Load(),
		Bytes:      r.stats.bytes.Load(),
		Lost:       r.stats.lost.Load(),
		Keyframes:  r.stats.keyframes.Load(),
		PLIsSent:   r.stats.plis.Load(),
		REMBsSent:  r.stats.rembs.Load(),
		REMB:       r.stats.remb.Load(),
		DownTracks: len(*r.downTracks.Load()),
	}
}

// RequestKeyframe asks the publisher for a key frame (PLI), at most once per
// Config.PLIInterval. Safe to call from any goroutine, as often as needed.
func (r *Receiver) RequestKeyframe() {
	if r.kind == KindAudio || r.closing.Load() {
		return
	}
	now := monoNow()
	last := r.lastPLI.Load()
	if last != 0 && now-last < int64(r.cfg.PLIInterval) {
		return
	}
	if !r.lastPLI.CompareAndSwap(last, now) {
		return
	}
	r.stats.plis.Add(1)
	_ = r.writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: r.localSSRC, MediaSSRC: r.mediaSSRC}})
}

// Close stops the Receiver: its goroutines return and its DownTracks are
// removed from their subscriber PeerConnections (the session layer then
// renegotiates them). The publisher's PeerConnection is left alone. Close
// waits until all of that is done; it is idempotent.
func (r *Receiver) Close() {
	r.closeOnce.Do(r.shutdown)
	<-r.done
}

func (r *Receiver) shutdown() {
	r.closing.Store(true)
	if r.track != nil {
		// Wake up the blocked reads; the publisher's PC stays as it is.
		_ = r.track.SetReadDeadline(time.Now())
		_ = r.rtpReceiver.SetReadDeadline(time.Now())
	}
	close(r.stop)
	r.wg.Wait()

	r.mu.Lock()
	r.closed = true
	dts := *r.downTracks.Load()
	r.downTracks.Store(&[]*DownTrack{})
	r.mu.Unlock()
	for _, d := range dts {
		d.close(true)
	}
	if r.router != nil {
		r.router.forgetReceiver(r)
	}
	close(r.done)
}

// ended is called by a loop goroutine when the publisher's track is gone.
func (r *Receiver) ended() {
	if r.closing.Load() {
		return
	}
	go func() {
		r.Close()
		if cb := r.cfg.OnTrackEnded; cb != nil {
			cb(r)
		}
	}()
}

func (r *Receiver) addDownTrack(d *DownTrack) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.closing.Load() {
		return ErrClosed
	}
	old := *r.downTracks.Load()
	dts := make([]*DownTrack, len(old), len(old)+1)
	copy(dts, old)
	dts = append(dts, d)
	r.downTracks.Store(&dts)

	return nil
}

func (r *Receiver) removeDownTrack(d *DownTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.downTracks.Load()
	dts := make([]*DownTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			dts = append(dts, x)
		}
	}
	r.downTracks.Store(&dts)
}

func (r *Receiver) readLoop() {
	defer r.wg.Done()
	buf := make([]byte, maxPacketSize)
	for {
		n, _, err := r.track.Read(buf)
		if err != nil {
			if r.closing.Load() {
				return
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				r.ended()

				return
			}

			continue // e.g. a malformed packet
		}
		r.handlePacket(buf[:n], monoNow())
	}
}

// rtcpLoop reads the publisher's RTCP (sender reports, ...) so that the
// interceptors see it (receiver reports need the sender reports).
func (r *Receiver) rtcpLoop() {
	defer r.wg.Done()
	buf := make([]byte, maxPacketSize)
	failures := 0
	for {
		_, _, err := r.rtpReceiver.Read(buf)
		if err != nil {
			if r.closing.Load() || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return
			}
			if failures++; failures > 100 {
				return
			}

			continue
		}
		failures = 0
	}
}

// tickLoop evaluates speaking state and sends the publisher its bitrate cap.
func (r *Receiver) tickLoop() {
	defer r.wg.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.tick(monoNow())
		}
	}
}

func (r *Receiver) tick(now int64) {
	if r.speaker != nil {
		speaking, level, event := r.speaker.tick(now)
		r.speaking.Store(speaking)
		if event && r.cfg.OnSpeaking != nil {
			r.cfg.OnSpeaking(SpeakingEvent{
				ParticipantID: r.participantID, TrackID: r.trackID, Speaking: speaking, Level: level,
			})
		}
	}
	if r.kind != KindAudio && now-r.lastREMB >= int64(r.cfg.REMBInterval) {
		r.lastREMB = now
		if bps := r.publishBitrate(now); bps > 0 {
			r.stats.rembs.Add(1)
			r.stats.remb.Store(bps)
			_ = r.writeRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{
				SenderSSRC: r.localSSRC, Bitrate: float32(bps), SSRCs: []uint32{r.mediaSSRC},
			}})
		}
	}
}

// publishBitrate is what the publisher may send: the lowest estimate of its
// subscribers, clamped to the configured range; the maximum when no
// subscriber limits it (a REMB stays in force at the publisher until the
// next one, so the cap is lifted explicitly). A subscriber that paused the
// track (its tile is hidden) does not hold everyone else's picture back,
// and one that takes reference frames only counts for what it is sent.
func (r *Receiver) publishBitrate(now int64) uint64 {
	hi := uint64(r.cfg.MaxVideoBitrate)
	if r.kind == KindScreen {
		hi = uint64(r.cfg.MaxScreenBitrate)
	}
	lowest := hi
	for _, d := range *r.downTracks.Load() {
		if d.paused.Load() {
			continue
		}
		if e := d.estimate(now); e > 0 {
			lowest = min(lowest, d.publisherRate(e))
		}
	}

	return max(lowest, uint64(r.cfg.MinPublishBitrate))
}

// handlePacket processes one RTP packet from the publisher: statistics,
// cache, audio level, fan-out. It allocates nothing.
func (r *Receiver) handlePacket(buf []byte, now int64) {
	h := &r.hdr
	hl, err := h.Unmarshal(buf)
	if err != nil || hl > len(buf) {
		return
	}
	payload := buf[hl:]
	if h.Padding {
		if len(payload) == 0 || int(payload[len(payload)-1]) > len(payload) {
			return
		}
		payload = payload[:len(payload)-int(payload[len(payload)-1])]
	}
	r.stats.packets.Add(1)
	r.stats.bytes.Add(uint64(len(buf)))
	r.countLoss(h.SequenceNumber)

	p := &r.pkt
	*p = packet{
		seq:         h.SequenceNumber,
		ts:          h.Timestamp,
		marker:      h.Marker,
		paddingOnly: len(payload) == 0,
		payload:     payload,
		arrival:     now,
	}
	if r.keyframes {
		p.thin = vp8.ReadThinning(payload)
		if vp8.KeyframeStart(payload) {
			p.keyframe = true
			r.stats.keyframes.Add(1)
		}
	}
	if r.audioLevel != 0 {
		if ext := h.GetExtension(r.audioLevel); len(ext) > 0 {
			p.hasLevel, p.level = true, ext[0]
			if r.speaker != nil && !p.paddingOnly {
				r.speaker.observe(ext[0], now)
			}
		}
	}
	r.cache.store(h.SequenceNumber, buf)

	for _, d := range *r.downTracks.Load() {
		d.writeRTP(p, &r.out)
	}
}

// countLoss counts the packets expected from the sequence numbers and
// derives the number lost.
func (r *Receiver) countLoss(seq uint16) {
	if !r.seqInit {
		r.seqInit, r.expected, r.lastSeq = true, 1, seq

		return
	}
	switch d := int16(seq - r.lastSeq); {
	case d > maxSeqJump || d < -maxSeqJump:
		// A discontinuity (restarted sender), not loss.
		r.expected++
		r.lastSeq = seq
	case d > 0:
		r.expected += uint64(d)
		r.lastSeq = seq
	}
	if got := r.stats.packets.Load(); r.expected > got {
		r.stats.lost.Store(r.expected - got)
	}
}

// audioLevelID returns the negotiated id of the audio level extension.
func audioLevelID(exts []webrtc.RTPHeaderExtensionParameter) uint8 {
	for _, e := range exts {
		if e.URI == rtcconf.AudioLevelURI {
			return uint8(e.ID)
		}
	}

	return 0
}

// epoch is the base of monoNow; a constant, not shared state.
var epoch = time.Now()

// monoNow is a monotonic clock in nanoseconds, never 0.
func monoNow() int64 { return int64(time.Since(epoch)) + 1 }
