package server

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"parley/backend/sfu"
	"parley/backend/signal"
)

// relayForwarder is the floor the benchmark compares the SFU with: one
// pion TrackLocalStaticRTP per published track, fanned out by pion itself,
// with pion's default interceptors and no SFU logic (no packet cache, no
// rewriting, no congestion feedback, keyframe requests passed on as they
// come). Config.BareRelay selects it; nobody should host a meeting on it.
type relayForwarder struct {
	mu     sync.Mutex
	tracks map[trackKey]*relayTrack
	closed bool

	packets, bytes, plis atomic.Uint64
}

type trackKey struct{ participant, track string }

type relayTrack struct {
	f         *relayForwarder
	pid, tid  string
	local     *webrtc.TrackLocalStaticRTP
	remote    *webrtc.TrackRemote
	receiver  *webrtc.RTPReceiver
	writeRTCP func([]rtcp.Packet) error

	mu      sync.Mutex
	senders map[string]relaySub // by subscriber id
	fanout  atomic.Int64
}

type relaySub struct {
	pc     *webrtc.PeerConnection
	sender *webrtc.RTPSender
}

func newRelayForwarder() *relayForwarder {
	return &relayForwarder{tracks: make(map[trackKey]*relayTrack)}
}

func (t *relayTrack) ParticipantID() string { return t.pid }
func (t *relayTrack) TrackID() string       { return t.tid }

func (f *relayForwarder) AddPublisherTrack(pid, tid string, _ sfu.TrackKind,
	remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver,
) (publishedTrack, error) {
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, tid, pid)
	if err != nil {
		return nil, err
	}
	transport := receiver.Transport()
	t := &relayTrack{f: f, pid: pid, tid: tid, local: local, remote: remote, receiver: receiver,
		senders:   make(map[string]relaySub),
		writeRTCP: func(p []rtcp.Packet) error { _, err := transport.WriteRTCP(p); return err },
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, sfu.ErrClosed
	}
	f.tracks[trackKey{pid, tid}] = t
	f.mu.Unlock()
	go t.forward()
	return t, nil
}

// forward copies packets until the publisher's track ends.
func (t *relayTrack) forward() {
	for {
		pkt, _, err := t.remote.ReadRTP()
		if err != nil {
			return
		}
		// A subscriber that went away fails its write; the others go on.
		_ = t.local.WriteRTP(pkt)
		n := uint64(t.fanout.Load())
		t.f.packets.Add(n)
		t.f.bytes.Add(n * uint64(pkt.MarshalSize()))
	}
}

func (f *relayForwarder) Subscribe(pt publishedTrack, subscriberID string, pc *webrtc.PeerConnection) error {
	t := pt.(*relayTrack)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.senders[subscriberID]; ok {
		return errAlreadySubscribed
	}
	sender, err := pc.AddTrack(t.local)
	if err != nil {
		return err
	}
	t.senders[subscriberID] = relaySub{pc: pc, sender: sender}
	t.fanout.Add(1)
	go t.readRTCP(sender)
	return nil
}

// readRTCP drains a subscriber's RTCP (pion's interceptors need it read)
// and passes its keyframe requests straight to the publisher.
func (t *relayTrack) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.PictureLossIndication); ok {
				t.f.plis.Add(1)
				_ = t.writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.remote.SSRC())}})
			}
		}
	}
}

// SetForwarding is not offered: all subscribers of a track share its one
// local track, so one cannot be paused (or thinned) alone.
func (f *relayForwarder) SetForwarding(string, string, string, sfu.Forwarding) error {
	return signal.Errorf(signal.CodeBadRequest, "the benchmark's bare relay cannot pause a track")
}

func (f *relayForwarder) Published() []publishedTrack {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]publishedTrack, 0, len(f.tracks))
	for _, t := range f.tracks {
		out = append(out, t)
	}
	return out
}

func (f *relayForwarder) RemovePublisherTrack(pid, tid string) bool {
	f.mu.Lock()
	t := f.tracks[trackKey{pid, tid}]
	delete(f.tracks, trackKey{pid, tid})
	f.mu.Unlock()
	if t == nil {
		return false
	}
	t.stop()
	return true
}

func (t *relayTrack) stop() {
	_ = t.receiver.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, s := range t.senders {
		_ = s.pc.RemoveTrack(s.sender)
		delete(t.senders, id)
	}
	t.fanout.Store(0)
}

func (f *relayForwarder) RemoveParticipant(pid string) {
	f.mu.Lock()
	var own, others []*relayTrack
	for k, t := range f.tracks {
		if k.participant == pid {
			own = append(own, t)
			delete(f.tracks, k)
		} else {
			others = append(others, t)
		}
	}
	f.mu.Unlock()
	for _, t := range own {
		t.stop()
	}
	for _, t := range others {
		t.mu.Lock()
		if s, ok := t.senders[pid]; ok {
			_ = s.pc.RemoveTrack(s.sender)
			delete(t.senders, pid)
			t.fanout.Add(-1)
		}
		t.mu.Unlock()
	}
}

func (f *relayForwarder) Close() {
	f.mu.Lock()
	f.closed = true
	tracks := f.tracks
	f.tracks = make(map[trackKey]*relayTrack)
	f.mu.Unlock()
	for _, t := range tracks {
		t.stop()
	}
}

func (f *relayForwarder) Totals() forwardTotals {
	f.mu.Lock()
	n := len(f.tracks)
	f.mu.Unlock()
	return forwardTotals{tracks: n, packets: f.packets.Load(), bytes: f.bytes.Load(), plis: f.plis.Load()}
}
