package sfu

import (
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"parley/backend/rtcconf"
	"parley/media/vp8"
	"parley/testing/pctest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
	os.Exit(0)
}

// harness is an SFU (Router + SFU-role engine) and Go participants
// (client-role engine), all on loopback.
type harness struct {
	t      testing.TB
	sfu    *rtcconf.Engine
	client *rtcconf.Engine
	router *Router

	mu       sync.Mutex
	pcs      []*webrtc.PeerConnection
	speaking []SpeakingEvent
	ended    []*Receiver
	stops    []func()
}

// newHarness starts an SFU. With estimates, subscribers' GCC estimates can
// cap publishers; under CPU starvation (-race on two cores) GCC sees
// queuing delay as congestion, so tests asserting exact caps go without.
func newHarness(t testing.TB, estimates bool) *harness {
	t.Helper()
	h := &harness{t: t}
	ignore := goleak.IgnoreCurrent()
	var err error
	if h.sfu, err = rtcconf.NewEngine(rtcconf.Options{Role: rtcconf.RoleSFU, LoopbackOnly: true}); err != nil {
		t.Fatal(err)
	}
	if h.client, err = rtcconf.NewEngine(rtcconf.Options{Role: rtcconf.RoleClient, LoopbackOnly: true}); err != nil {
		t.Fatal(err)
	}
	var est BitrateEstimates
	if estimates {
		est = h.sfu
	}
	h.router = NewRouter(Config{
		Estimates: est,
		OnSpeaking: func(ev SpeakingEvent) {
			h.mu.Lock()
			h.speaking = append(h.speaking, ev)
			h.mu.Unlock()
		},
		OnTrackEnded: func(r *Receiver) {
			h.mu.Lock()
			h.ended = append(h.ended, r)
			h.mu.Unlock()
		},
	})
	// Runs after the test's own cleanups: nothing may be left running.
	t.Cleanup(func() {
		h.close()
		goleak.VerifyNone(t, ignore)
	})

	return h
}

func (h *harness) pc(e *rtcconf.Engine) *webrtc.PeerConnection {
	h.t.Helper()
	pc, err := e.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.pcs = append(h.pcs, pc)
	h.mu.Unlock()

	return pc
}

func (h *harness) close() {
	h.mu.Lock()
	stops, pcs := h.stops, h.pcs
	h.stops, h.pcs = nil, nil
	h.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	h.router.Close()
	for _, pc := range pcs {
		_ = pc.GracefulClose()
	}
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publisher is a Go participant sending synthetic VP8 and Opus: a key frame
// only at the start and when asked (PLI), audio with the audio level
// extension.
type publisher struct {
	id          string
	pc, sfuPC   *webrtc.PeerConnection
	video       *webrtc.TrackLocalStaticRTP
	audio       *webrtc.TrackLocalStaticRTP
	audioSender *webrtc.RTPSender
	receivers   chan *Receiver

	plis       atomic.Int32
	keyframes  atomic.Int32
	wantKey    atomic.Bool
	remb       atomic.Uint64
	loud       atomic.Bool
	levelExtID uint8

	vseq uint16 // last video sequence number sent (read after close)

	stop chan struct{}
	wg   sync.WaitGroup
}

func (h *harness) publish(id string) (*publisher, *Receiver, *Receiver) {
	t := h.t
	t.Helper()
	p := &publisher{id: id, pc: h.pc(h.client), sfuPC: h.pc(h.sfu), receivers: make(chan *Receiver, 2), stop: make(chan struct{})}
	var err error
	if p.video, err = webrtc.NewTrackLocalStaticRTP(rtcconf.VP8Codec().RTPCodecCapability, "cam", "ignored"); err != nil {
		t.Fatal(err)
	}
	if p.audio, err = webrtc.NewTrackLocalStaticRTP(rtcconf.OpusCodec().RTPCodecCapability, "mic", "ignored"); err != nil {
		t.Fatal(err)
	}
	videoSender, err := p.pc.AddTrack(p.video)
	if err != nil {
		t.Fatal(err)
	}
	if p.audioSender, err = p.pc.AddTrack(p.audio); err != nil {
		t.Fatal(err)
	}
	// The SFU side: what the session layer's OnTrack does.
	p.sfuPC.OnTrack(func(track *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
		kind := KindVideo
		if track.Kind() == webrtc.RTPCodecTypeAudio {
			kind = KindAudio
		}
		r, err := h.router.AddPublisherTrack(id, track.ID(), kind, track, rr)
		if err != nil {
			t.Errorf("AddPublisherTrack: %v", err)

			return
		}
		p.receivers <- r
	})
	pctest.Negotiate(t, p.pc, p.sfuPC)
	for _, e := range p.audioSender.GetParameters().HeaderExtensions {
		if e.URI == rtcconf.AudioLevelURI {
			p.levelExtID = uint8(e.ID)
		}
	}
	if p.levelExtID == 0 {
		t.Fatal("audio level extension not negotiated")
	}

	p.wantKey.Store(true)
	// The RTCP readers end when the PeerConnection closes.
	go p.readRTCP(videoSender)
	go p.readRTCP(p.audioSender)
	p.wg.Add(1)
	go p.send()
	h.mu.Lock()
	h.stops = append(h.stops, p.close)
	h.mu.Unlock()

	var video, audio *Receiver
	for video == nil || audio == nil {
		select {
		case r := <-p.receivers:
			if r.Kind() == KindAudio {
				audio = r
			} else {
				video = r
			}
		case <-time.After(10 * time.Second):
			t.Fatal("publisher's tracks did not reach the SFU")
		}
	}

	return p, video, audio
}

// close stops sending.
func (p *publisher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
}

func (p *publisher) readRTCP(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication:
				p.plis.Add(1)
				p.wantKey.Store(true)
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				p.remb.Store(uint64(pkt.Bitrate))
			}
		}
	}
}

// send writes a VP8 frame of two packets every 33 ms and an Opus packet
// every 20 ms.
func (p *publisher) send() {
	defer p.wg.Done()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var aseq uint16 = 60000
	p.vseq = 30000
	var nextVideo, nextAudio time.Duration
	payload := make([]byte, 600)
	for {
		select {
		case <-p.stop:
			return
		case now := <-tick.C:
			el := now.Sub(start)
			for el >= nextVideo {
				ts := uint32(nextVideo.Seconds() * 90000)
				key := p.wantKey.Swap(false)
				if key {
					p.keyframes.Add(1)
				}
				for i := range 2 {
					pl := slices.Clone(payload)
					pl[0], pl[1] = 0x00, 0x55
					if i == 0 {
						pl[0], pl[1] = 0x10, 0x01 // S=1, inter frame
						if key {
							pl[1] = 0x00 // key frame
						}
					}
					p.vseq++
					_ = p.video.WriteRTP(&rtp.Packet{
						Header:  rtp.Header{Version: 2, SequenceNumber: p.vseq, Timestamp: ts, Marker: i == 1},
						Payload: pl,
					})
				}
				nextVideo += 33 * time.Millisecond
			}
			for el >= nextAudio {
				level := byte(127)
				if p.loud.Load() {
					level = 20
				}
				h := rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: uint32(nextAudio.Seconds() * 48000)}
				_ = h.SetExtension(p.levelExtID, []byte{level})
				aseq++
				_ = p.audio.WriteRTP(&rtp.Packet{Header: h, Payload: []byte{0xfc, 1, 2, 3, 4, 5, 6, 7}})
				nextAudio += 20 * time.Millisecond
			}
		}
	}
}

// peer is a subscriber: a client-role PeerConnection answering the SFU's
// subscriber PeerConnection.
type peer struct {
	id        string
	pc, sfuPC *webrtc.PeerConnection

	mu     sync.Mutex
	tracks map[string]*recvTrack // by track id
}

type recvTrack struct {
	streamID, id string
	kind         webrtc.RTPCodecType
	ssrc         webrtc.SSRC
	levelExtID   uint8
	firstKey     bool
	seqs         []uint16
	levels       int
}

func (h *harness) subscriber(id string) *peer {
	s := &peer{id: id, pc: h.pc(h.client), sfuPC: h.pc(h.sfu), tracks: make(map[string]*recvTrack)}
	s.pc.OnTrack(func(track *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
		rt := &recvTrack{streamID: track.StreamID(), id: track.ID(), kind: track.Kind(), ssrc: track.SSRC()}
		rt.levelExtID = audioLevelID(rr.GetParameters().HeaderExtensions)
		s.mu.Lock()
		s.tracks[track.ID()] = rt
		s.mu.Unlock()
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			s.mu.Lock()
			if len(rt.seqs) == 0 && rt.kind == webrtc.RTPCodecTypeVideo {
				rt.firstKey = vp8.KeyframeStart(pkt.Payload)
			}
			rt.seqs = append(rt.seqs, pkt.SequenceNumber)
			if rt.levelExtID != 0 && len(pkt.GetExtension(rt.levelExtID)) == 1 {
				rt.levels++
			}
			s.mu.Unlock()
		}
	})

	return s
}

// subscribe subscribes s to receivers and renegotiates, SFU offering.
func (h *harness) subscribe(s *peer, receivers ...*Receiver) []*DownTrack {
	h.t.Helper()
	var dts []*DownTrack
	for _, r := range receivers {
		d, err := h.router.Subscribe(r, s.id, s.sfuPC)
		if err != nil {
			h.t.Fatal(err)
		}
		dts = append(dts, d)
	}

	return dts
}

func (s *peer) track(id string) (recvTrack, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.tracks[id]
	if !ok {
		return recvTrack{}, false
	}
	c := *rt
	c.seqs = slices.Clone(rt.seqs)

	return c, true
}

func (s *peer) received(id string) int {
	rt, _ := s.track(id)

	return len(rt.seqs)
}

// checkContinuous verifies that the sequence numbers a subscriber received
// form one gap-free run (in any order: retransmissions arrive late).
func checkContinuous(t *testing.T, who string, seqs []uint16) {
	t.Helper()
	if len(seqs) < 10 {
		t.Errorf("%s: only %d packets", who, len(seqs))

		return
	}
	first := seqs[0]
	seen := make(map[uint16]bool, len(seqs))
	var maxOff uint16
	for _, s := range seqs {
		off := s - first
		if off > 0x8000 {
			t.Errorf("%s: packet %d before the first one %d", who, s, first)

			continue
		}
		seen[s] = true
		maxOff = max(maxOff, off)
	}
	var missing []uint16
	for off := range maxOff {
		if !seen[first+off] {
			missing = append(missing, first+off)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s: %d packets missing from %d..%d: %v", who, len(missing), first, first+maxOff, missing)
	}
}

func TestForwarding(t *testing.T) {
	h := newHarness(t, false)
	pub, video, audio := h.publish("alice")
	if video.Codec().PayloadType != rtcconf.PayloadTypeVP8 || audio.Codec().PayloadType != rtcconf.PayloadTypeOpus {
		t.Fatalf("codecs %v %v", video.Codec(), audio.Codec())
	}

	// Three subscribers; the second one loses two video packets on the way.
	subs := []*peer{h.subscriber("bob"), h.subscriber("carol"), h.subscriber("dave")}
	var dropped []uint16
	var dropMu sync.Mutex
	var lossy *DownTrack
	for i, s := range subs {
		dts := h.subscribe(s, video, audio)
		if i == 1 {
			lossy = dts[0]
			var first int32 = -1
			lossy.dropHook = func(seq uint16) bool {
				if first < 0 {
					first = int32(seq)
				}
				if off := seq - uint16(first); off == 20 || off == 45 {
					dropMu.Lock()
					dropped = append(dropped, seq)
					dropMu.Unlock()

					return true
				}

				return false
			}
		}
		pctest.Negotiate(t, s.sfuPC, s.pc)
	}
	for _, s := range subs {
		waitFor(t, s.id+" receiving video", 10*time.Second, func() bool { return s.received("cam") >= 60 })
	}

	// Speaking: loud for 600 ms, then quiet.
	pub.loud.Store(true)
	time.Sleep(600 * time.Millisecond)
	pub.loud.Store(false)

	// A REMB of 300 kbps from bob must reach the publisher (the other
	// subscribers' estimates are higher).
	bobVideo := h.router.Subscriptions("bob")
	var bobDT *DownTrack
	for _, d := range bobVideo {
		if d.Kind() == webrtc.RTPCodecTypeVideo {
			bobDT = d
		}
	}
	if r := pub.remb.Load(); r != uint64(h.router.cfg.MaxVideoBitrate) {
		t.Errorf("publisher capped at %d bps before any REMB, want the maximum", r)
	}
	rembCtx := make(chan struct{})
	go func() {
		defer close(rembCtx)
		for range 15 {
			_ = subs[0].pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{
				Bitrate: 300_000, SSRCs: []uint32{bobDT.SSRC()},
			}})
			time.Sleep(200 * time.Millisecond)
		}
	}()
	waitFor(t, "REMB at the publisher", 5*time.Second, func() bool { return pub.remb.Load() == 300_000 })
	if e := bobDT.Stats().Estimate; e != 300_000 {
		t.Errorf("bob's estimate %d, want 300000", e)
	}
	<-rembCtx

	// A late subscriber gets video only after a key frame, which needs a PLI.
	plis := pub.plis.Load()
	keys := pub.keyframes.Load()
	late := h.subscriber("erin")
	h.subscribe(late, video, audio)
	pctest.Negotiate(t, late.sfuPC, late.pc)
	waitFor(t, "late subscriber receiving video", 10*time.Second, func() bool { return late.received("cam") >= 30 })
	if pub.plis.Load() <= plis || pub.keyframes.Load() <= keys {
		t.Errorf("late subscriber: PLIs %d→%d, key frames %d→%d", plis, pub.plis.Load(), keys, pub.keyframes.Load())
	}

	pub.close()
	time.Sleep(300 * time.Millisecond) // retransmissions and stragglers

	for _, s := range append(subs, late) {
		v, ok := s.track("cam")
		if !ok {
			t.Fatalf("%s has no video track", s.id)
		}
		a, ok := s.track("mic")
		if !ok {
			t.Fatalf("%s has no audio track", s.id)
		}
		if v.streamID != "alice" || a.streamID != "alice" {
			t.Errorf("%s: msid stream ids %q %q, want the publisher's id", s.id, v.streamID, a.streamID)
		}
		if !v.firstKey {
			t.Errorf("%s: first video packet is not a key frame", s.id)
		}
		checkContinuous(t, s.id+" video", v.seqs)
		checkContinuous(t, s.id+" audio", a.seqs)
		if a.levels != len(a.seqs) {
			t.Errorf("%s: audio level extension on %d of %d packets", s.id, a.levels, len(a.seqs))
		}
	}

	dropMu.Lock()
	if len(dropped) != 2 {
		t.Errorf("dropped %v, want 2 packets", dropped)
	}
	dropMu.Unlock()
	st := lossy.Stats()
	if st.NACKs < 2 || st.Retransmits < 2 {
		t.Errorf("lossy subscriber stats: %+v", st)
	}
	if s := video.Stats(); s.Packets == 0 || s.PLIsSent == 0 || s.REMBsSent == 0 || s.Keyframes == 0 || s.DownTracks != 4 {
		t.Errorf("receiver stats: %+v", s)
	}
	for _, d := range video.DownTracks() {
		if st := d.Stats(); st.Packets == 0 || st.Bytes == 0 {
			t.Errorf("%s: down track stats %+v", d.SubscriberID(), st)
		}
	}

	waitFor(t, "speaking events", 3*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()

		return len(h.speaking) >= 2 && !h.speaking[len(h.speaking)-1].Speaking
	})
	h.mu.Lock()
	if ev := h.speaking[0]; !ev.Speaking || ev.ParticipantID != "alice" || ev.TrackID != "mic" || ev.Level > 30 {
		t.Errorf("first speaking event %+v", ev)
	}
	h.mu.Unlock()
}

func TestRemoveAndEnd(t *testing.T) {
	h := newHarness(t, true)
	pub, video, audio := h.publish("alice")
	bob := h.subscriber("bob")
	h.subscribe(bob, video, audio)
	pctest.Negotiate(t, bob.sfuPC, bob.pc)
	waitFor(t, "bob receiving", 10*time.Second, func() bool { return bob.received("cam") >= 30 && bob.received("mic") >= 30 })

	// Errors of Subscribe.
	if _, err := h.router.Subscribe(video, "bob", bob.sfuPC); err != ErrAlreadySubscribed {
		t.Errorf("second subscription: %v", err)
	}
	if _, err := h.router.Subscribe(video, "bob", h.pc(h.sfu)); err != ErrOtherPC {
		t.Errorf("subscription on another PC: %v", err)
	}

	// The congestion controller of bob's PeerConnection is wired in.
	if bps, ok := h.sfu.TargetBitrate(bob.sfuPC); !ok || bps <= 0 {
		t.Errorf("no estimate for bob's PeerConnection: %d %v", bps, ok)
	}
	h.router.mu.Lock()
	bobSub := h.router.subscribers["bob"]
	h.router.mu.Unlock()
	bobSub.sendRate(monoNow())
	time.Sleep(600 * time.Millisecond)
	if rate := bobSub.sendRate(monoNow()); rate < 50_000 {
		t.Errorf("bob's measured send rate %d bps", rate)
	}

	// The session layer removes the camera.
	if !h.router.RemovePublisherTrack("alice", "cam") {
		t.Fatal("RemovePublisherTrack: no such track")
	}
	select {
	case <-video.Done():
	default:
		t.Fatal("Receiver not done after RemovePublisherTrack")
	}
	if h.router.Receiver("alice", "cam") != nil || h.router.RemovePublisherTrack("alice", "cam") {
		t.Error("removed track still known")
	}
	if subs := h.router.Subscriptions("bob"); len(subs) != 1 || subs[0].Receiver() != audio {
		t.Errorf("bob's subscriptions after removal: %v", subs)
	}
	sending := 0
	for _, s := range bob.sfuPC.GetSenders() {
		if s.Track() != nil {
			sending++
		}
	}
	if sending != 1 {
		t.Errorf("%d senders with a track on bob's PeerConnection, want 1", sending)
	}
	pctest.Negotiate(t, bob.sfuPC, bob.pc) // the session layer renegotiates

	time.Sleep(100 * time.Millisecond)
	v1, a1 := bob.received("cam"), bob.received("mic")
	time.Sleep(300 * time.Millisecond)
	if v2, a2 := bob.received("cam"), bob.received("mic"); v2 != v1 || a2 <= a1 {
		t.Errorf("after removal: video %d→%d (want no change), audio %d→%d (want more)", v1, v2, a1, a2)
	}

	// The publisher goes away: its audio track ends by itself.
	pub.close()
	if err := pub.pc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-audio.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("audio Receiver still running after the publisher closed")
	}
	waitFor(t, "OnTrackEnded", 5*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()

		return len(h.ended) == 1 && h.ended[0] == audio
	})
	if len(h.router.Receivers()) != 0 || len(h.router.Subscriptions("bob")) != 0 {
		t.Errorf("left after the publisher ended: %v %v", h.router.Receivers(), h.router.Subscriptions("bob"))
	}
}

type fixedEstimate int

func (f fixedEstimate) TargetBitrate(*webrtc.PeerConnection) (int, bool) { return int(f), f > 0 }

func TestPublishBitrate(t *testing.T) {
	r, dts, _ := pureReceiver(t, KindVideo, 3)
	var sent []rtcp.Packet
	r.writeRTCP = func(p []rtcp.Packet) error { sent = append(sent, p...); return nil }
	now := monoNow() + int64(time.Hour)
	cfg := r.cfg

	if got := r.publishBitrate(now); got != uint64(cfg.MaxVideoBitrate) {
		t.Errorf("no limit: %d, want max %d", got, cfg.MaxVideoBitrate)
	}
	dts[0].handleRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{
		Bitrate: 600_000, SSRCs: []uint32{dts[0].SSRC(), 999},
	}}, now)
	if got := r.publishBitrate(now); got != 300_000 {
		t.Errorf("REMB for two SSRCs: %d, want 300000", got)
	}
	if got := r.publishBitrate(now + 6*int64(time.Second)); got != uint64(cfg.MaxVideoBitrate) {
		t.Errorf("stale REMB still counts: %d", got)
	}

	// A congested subscriber: GCC says 1 Mbps while it is sent 2 Mbps.
	r.cfg = &Config{}
	*r.cfg = *cfg
	r.cfg.Estimates = fixedEstimate(1_000_000)
	sub := &subscriber{router: &Router{cfg: *r.cfg}, rateAt: now - int64(time.Second)}
	sub.video.Store(2)
	sub.sentBytes.Store(250_000)
	dts[1].sub = sub
	if got := r.publishBitrate(now); got != 300_000 {
		t.Errorf("REMB 300k and share 500k: %d", got)
	}
	dts[0].rembAt.Store(0)
	if got := r.publishBitrate(now); got != 500_000 {
		t.Errorf("congested subscriber's share: %d, want 500000", got)
	}
	// Not congested (estimate above 80% of the rate sent): no cap.
	sub2 := &subscriber{router: &Router{cfg: Config{Estimates: fixedEstimate(1_900_000)}}, rateAt: now - int64(time.Second)}
	sub2.video.Store(1)
	sub2.sentBytes.Store(250_000)
	dts[1].sub = sub2
	if got := r.publishBitrate(now); got != uint64(cfg.MaxVideoBitrate) {
		t.Errorf("uncongested subscriber caps the publisher: %d", got)
	}
	// Clamped to the minimum.
	dts[2].handleRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 20_000, SSRCs: []uint32{dts[2].SSRC()}}}, now)
	r.tick(now)
	if len(sent) != 1 {
		t.Fatalf("sent %v", sent)
	}
	remb, ok := sent[0].(*rtcp.ReceiverEstimatedMaximumBitrate)
	if !ok || remb.Bitrate != float32(cfg.MinPublishBitrate) || len(remb.SSRCs) != 1 || remb.SSRCs[0] != 1234 {
		t.Errorf("REMB sent: %+v", sent[0])
	}
	if s := r.Stats(); s.REMBsSent != 1 || s.REMB != uint64(cfg.MinPublishBitrate) {
		t.Errorf("stats %+v", s)
	}
	// The slow subscriber hides the tile: the others get the full rate.
	dts[2].SetForwarding(ForwardNone)
	if got := r.publishBitrate(now); got != uint64(cfg.MaxVideoBitrate) {
		t.Errorf("a paused subscriber caps the publisher: %d", got)
	}
}

// A subscriber taking reference frames only, sent 40 % of the publisher's
// bytes, caps the publisher at its estimate divided by that share: what it
// is sent then fits its link.
func TestPublishBitrateOfAThinnedSubscriber(t *testing.T) {
	r, dts, _ := pureReceiver(t, KindVideo, 1)
	d := dts[0]
	now := monoNow() + int64(time.Hour)
	d.handleRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 300_000, SSRCs: []uint32{d.SSRC()}}}, now)
	d.SetForwarding(ForwardReference)
	if got := r.publishBitrate(now); got != 300_000 {
		t.Errorf("before any byte was measured: %d, want the estimate, 300000", got)
	}
	d.stats.bytes.Add(40_000)
	d.stats.leftOut.Add(60_000)
	if got := r.publishBitrate(now); got != 750_000 {
		t.Errorf("sent 40 %% of the bytes: %d, want 750000", got)
	}
	d.stats.bytes.Add(1_000) // too few to measure again
	if got := r.publishBitrate(now); got != 750_000 {
		t.Errorf("after a few more bytes: %d, want 750000 still", got)
	}
	d.SetForwarding(ForwardAll)
	if got := r.publishBitrate(now); got != 300_000 {
		t.Errorf("taking everything again: %d, want 300000", got)
	}
}

func TestKeyframeRequestsRateLimited(t *testing.T) {
	r, dts, _ := pureReceiver(t, KindVideo, 2)
	r.cfg.PLIInterval = 100 * time.Millisecond
	var plis atomic.Int32
	r.writeRTCP = func(p []rtcp.Packet) error {
		if pli, ok := p[0].(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == 1234 {
			plis.Add(1)
		}

		return nil
	}
	buf := make([]byte, maxPacketSize)
	// Delta frames before any key frame: every packet wants a key frame.
	for i := range 20 {
		r.handlePacket(vp8Packet(buf, uint16(i), 0, false, true, 100), monoNow())
	}
	dts[0].handleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: dts[0].SSRC()}}, monoNow())
	if n := plis.Load(); n != 1 {
		t.Errorf("%d PLIs sent at once, want 1", n)
	}
	if st := dts[0].Stats(); st.Dropped != 20 || st.Packets != 0 || st.PLIs != 1 {
		t.Errorf("stats before key frame: %+v", st)
	}
	time.Sleep(120 * time.Millisecond)
	dts[1].handleRTCP([]rtcp.Packet{&rtcp.FullIntraRequest{FIR: []rtcp.FIREntry{{SSRC: dts[1].SSRC()}}}}, monoNow())
	if n := plis.Load(); n != 2 {
		t.Errorf("%d PLIs after the interval, want 2", n)
	}
	// A NACK for a packet never sent is a miss, not a crash.
	dts[0].handleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: dts[0].SSRC(), Nacks: []rtcp.NackPair{{PacketID: 5}}}}, monoNow())
	if st := dts[0].Stats(); st.NACKs != 1 || st.RetransmitMisses != 1 {
		t.Errorf("stats after NACK: %+v", st)
	}
}

// TestStalePacketsNotResent: a subscriber whose link was away (its ICE
// restarting) NACKs, once it is back, the packets forwarded into the void
// meanwhile. Those seconds old are not resent (the frames they belong to
// are long given up, and resending them all flooded the link that had
// just come back); recent ones are, and so are those within three round
// trips on a slow link.
func TestStalePacketsNotResent(t *testing.T) {
	r, dts, ws := pureReceiver(t, KindVideo, 1)
	d, w := dts[0], ws[0]
	buf := make([]byte, maxPacketSize)
	t0 := monoNow()
	ms := int64(time.Millisecond)
	forward := func(seq uint16, key bool, at int64) uint16 {
		t.Helper()
		before := w.packets.Load()
		r.handlePacket(vp8Packet(buf, seq, uint32(at/ms)*90, key, true, 1200), at)
		if w.packets.Load() != before+1 {
			t.Fatalf("packet %d not forwarded", seq)
		}
		return uint16(w.lastSeq.Load())
	}
	now := t0 + 8000*ms
	// resent reports whether a NACK for seq, now, was answered.
	resent := func(seq uint16) bool {
		t.Helper()
		before := d.Stats()
		d.handleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: d.SSRC(), Nacks: []rtcp.NackPair{{PacketID: seq}}}}, now)
		after := d.Stats()
		if after.Retransmits+after.RetransmitMisses != before.Retransmits+before.RetransmitMisses+1 {
			t.Fatalf("a NACK neither resent nor missed: %+v then %+v", before, after)
		}
		return after.Retransmits > before.Retransmits
	}
	old := forward(100, true, t0)            // before the outage
	slow := forward(101, false, now-1200*ms) // 1.2 s before the NACK
	recent := forward(102, false, now-100*ms)

	if resent(old) {
		t.Errorf("a packet forwarded 8 s ago was resent")
	}
	if !resent(recent) {
		t.Errorf("a packet forwarded 100 ms ago was not resent")
	}
	if resent(slow) {
		t.Errorf("a packet forwarded 1.2 s ago was resent (round trip unknown)")
	}
	// With a 500 ms round trip, 1.3 s is within three of them (100 ms
	// later, so that rtxMinInterval cannot be what decides).
	d.stats.rttNs.Store(uint64(500 * time.Millisecond))
	now += 100 * ms
	if !resent(slow) {
		t.Errorf("a packet forwarded 1.3 s ago was not resent (round trip 500 ms)")
	}
}
