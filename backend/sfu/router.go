// Package sfu is Parley's media plane: it forwards published RTP tracks to
// subscribers. It knows nothing of signaling or JSON; the session layer
// (backend/server) creates the PeerConnections, drives offers and answers,
// and calls the Router.
//
// Layering (after LiveKit's pkg/sfu and Galène's rtpconn/packetcache):
//
//	Router       one per room: which tracks are published, who subscribes
//	Receiver     one per published track: reads RTP, caches it, fans out,
//	             detects speaking, sends PLI and REMB to the publisher
//	DownTrack    one per subscription: a webrtc.TrackLocal on the
//	             subscriber's PeerConnection; rewrites sequence numbers and
//	             timestamps, answers NACKs from the cache, relays PLI/FIR,
//	             collects receiver reports and bandwidth estimates
//	packetCache  fixed ring of recent packets of one track
//
// Forwarding allocates nothing and holds no lock while writing to the
// network: the Receiver's DownTrack list is a copy-on-write snapshot.
//
// The subscriber PeerConnection is offered by the server (it owns the
// tracks): after Subscribe or Unsubscribe the session layer renegotiates it
// (OnNegotiationNeeded fires). DownTracks start sending once pion binds them
// (SetRemoteDescription of the subscriber's answer); video starts at the
// next key frame, which they request from the publisher.
package sfu

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Errors returned by the Router.
var (
	ErrClosed            = errors.New("sfu: closed")
	ErrTrackExists       = errors.New("sfu: track already published")
	ErrAlreadySubscribed = errors.New("sfu: already subscribed to this track")
	ErrOtherPC           = errors.New("sfu: subscriber already uses another PeerConnection")
)

// BitrateEstimates gives the congestion controller's estimate for a
// subscriber PeerConnection in bits per second. *rtcconf.Engine implements
// it.
type BitrateEstimates interface {
	TargetBitrate(pc *webrtc.PeerConnection) (bps int, ok bool)
}

// Config configures a Router. Zero fields get the defaults in brackets.
type Config struct {
	// Estimates, when set, caps each subscriber's video tracks by its
	// downlink estimate (TWCC/GCC); with REMB from subscribers, that is
	// what the publisher is told to send.
	Estimates BitrateEstimates

	// PLIInterval is the least time between two key frame requests to a
	// publisher [500ms].
	PLIInterval time.Duration
	// REMBInterval is how often a publisher gets its bitrate cap [1s].
	REMBInterval time.Duration
	// Bitrate caps sent to publishers are clamped to
	// [MinPublishBitrate, MaxVideoBitrate or MaxScreenBitrate]
	// [150 kbps, 2.5 Mbps, 4 Mbps].
	MinPublishBitrate, MaxVideoBitrate, MaxScreenBitrate int

	// Packets cached per track, for NACKs [audio 64, video 1024, screen 2048].
	AudioCacheSize, VideoCacheSize, ScreenCacheSize int

	// Speaking: level (RFC 6464, -dBov) at or below which a packet is loud
	// [50]; loud for SpeakingOnset starts speaking [200ms], no loud packet
	// for SpeakingHangover stops it [500ms].
	SpeakingLevel                   uint8
	SpeakingOnset, SpeakingHangover time.Duration

	// OnSpeaking is called when a published audio track starts or stops
	// speaking, and with level changes while it speaks. It runs on the
	// track's timer goroutine: return quickly.
	OnSpeaking func(SpeakingEvent)
	// OnTrackEnded is called when a published track ended by itself (the
	// publisher's PeerConnection closed or dropped the track), after its
	// Receiver closed. Not called for RemovePublisherTrack or Close.
	OnTrackEnded func(*Receiver)
}

// CapBitrate lowers the bitrate caps sent to publishers to bps (bits per
// second; 0: no change), the room's cap set by its host.
func (c *Config) CapBitrate(bps int) {
	if bps <= 0 {
		return
	}
	c.setDefaults()
	c.MaxVideoBitrate = min(c.MaxVideoBitrate, bps)
	c.MaxScreenBitrate = min(c.MaxScreenBitrate, bps)
	c.MinPublishBitrate = min(c.MinPublishBitrate, bps)
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur(&c.PLIInterval, 500*time.Millisecond)
	defDur(&c.REMBInterval, time.Second)
	def(&c.MinPublishBitrate, 150_000)
	def(&c.MaxVideoBitrate, 2_500_000)
	def(&c.MaxScreenBitrate, 4_000_000)
	def(&c.AudioCacheSize, 64)
	def(&c.VideoCacheSize, 1024)
	def(&c.ScreenCacheSize, 2048)
	if c.SpeakingLevel == 0 {
		c.SpeakingLevel = 50
	}
	defDur(&c.SpeakingOnset, 200*time.Millisecond)
	defDur(&c.SpeakingHangover, 500*time.Millisecond)
}

// Router is the media plane of one room.
type Router struct {
	cfg Config

	mu          sync.Mutex
	closed      bool
	receivers   map[trackKey]*Receiver
	subscribers map[string]*subscriber
}

type trackKey struct{ participant, track string }

// subscriber is one subscriber PeerConnection and its DownTracks.
type subscriber struct {
	id         string
	router     *Router
	pc         *webrtc.PeerConnection
	downTracks map[*Receiver]*DownTrack // guarded by router.mu
	audio      atomic.Int32
	video      atomic.Int32
	sentBytes  atomic.Uint64 // RTP bytes forwarded to this subscriber

	rateMu    sync.Mutex
	rateAt    int64
	rateBytes uint64
	rate      uint64 // bits per second over the last interval
}

// NewRouter returns an empty Router.
func NewRouter(cfg Config) *Router {
	cfg.setDefaults()

	return &Router{
		cfg:         cfg,
		receivers:   make(map[trackKey]*Receiver),
		subscribers: make(map[string]*subscriber),
	}
}

// AddPublisherTrack starts forwarding a track the publisher's
// PeerConnection received; call it from that PeerConnection's OnTrack
// handler with the handler's arguments (and return from the handler: the
// Receiver reads the track in its own goroutine). trackID is the id the
// room knows the track by (it becomes the msid track id at subscribers).
func (rt *Router) AddPublisherTrack(participantID, trackID string, kind TrackKind,
	track *webrtc.TrackRemote, rtpReceiver *webrtc.RTPReceiver,
) (*Receiver, error) {
	if !kind.valid() {
		return nil, fmt.Errorf("sfu: unknown track kind %q", kind)
	}
	if track == nil || rtpReceiver == nil {
		return nil, errors.New("sfu: nil track or receiver")
	}
	if track.Kind() != kind.codecType() {
		return nil, fmt.Errorf("%w: %s is %s", errKindMismatch, kind, track.Kind())
	}
	r := newReceiver(rt, participantID, trackID, kind, track.Codec(), uint32(track.SSRC()),
		audioLevelID(rtpReceiver.GetParameters().HeaderExtensions))
	r.track, r.rtpReceiver = track, rtpReceiver
	transport := rtpReceiver.Transport()
	r.writeRTCP = func(pkts []rtcp.Packet) error {
		_, err := transport.WriteRTCP(pkts)

		return err
	}

	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, ErrClosed
	}
	key := trackKey{participantID, trackID}
	if _, ok := rt.receivers[key]; ok {
		return nil, fmt.Errorf("%w: %s/%s", ErrTrackExists, participantID, trackID)
	}
	rt.receivers[key] = r
	r.start()

	return r, nil
}

// Receiver returns the published track, or nil.
func (rt *Router) Receiver(participantID, trackID string) *Receiver {
	rt.mu.Lock()
	defer rt.mu.Unlock()

	return rt.receivers[trackKey{participantID, trackID}]
}

// Receivers returns all published tracks.
func (rt *Router) Receivers() []*Receiver {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]*Receiver, 0, len(rt.receivers))
	for _, r := range rt.receivers {
		out = append(out, r)
	}

	return out
}

// RemovePublisherTrack stops forwarding a track and removes it from every
// subscriber PeerConnection (renegotiate those). It reports whether the
// track existed.
func (rt *Router) RemovePublisherTrack(participantID, trackID string) bool {
	r := rt.Receiver(participantID, trackID)
	if r == nil {
		return false
	}
	r.Close()

	return true
}

// Subscribe sends the track r to subscriberID over pc, the subscriber's
// (server-offered) PeerConnection, by adding a DownTrack with AddTrack. The
// session layer then renegotiates pc: media flows once the subscriber's
// answer is applied. A subscriber uses one PeerConnection for all its
// subscriptions.
func (rt *Router) Subscribe(r *Receiver, subscriberID string, pc *webrtc.PeerConnection) (*DownTrack, error) {
	if r == nil || pc == nil {
		return nil, errors.New("sfu: nil receiver or PeerConnection")
	}
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()

		return nil, ErrClosed
	}
	sub := rt.subscribers[subscriberID]
	if sub == nil {
		sub = &subscriber{id: subscriberID, router: rt, pc: pc, downTracks: make(map[*Receiver]*DownTrack)}
		rt.subscribers[subscriberID] = sub
	} else if sub.pc != pc {
		rt.mu.Unlock()

		return nil, ErrOtherPC
	}
	if _, ok := sub.downTracks[r]; ok {
		rt.mu.Unlock()

		return nil, ErrAlreadySubscribed
	}
	d := newDownTrack(r, sub, subscriberID)
	sub.downTracks[r] = d
	if d.kind == webrtc.RTPCodecTypeAudio {
		sub.audio.Add(1)
	} else {
		sub.video.Add(1)
	}
	rt.mu.Unlock()

	sender, err := pc.AddTrack(d)
	if err != nil {
		d.close(false)

		return nil, err
	}
	d.life.Lock()
	if d.closed.Load() { // removed meanwhile
		d.life.Unlock()
		_ = pc.RemoveTrack(sender)

		return nil, ErrClosed
	}
	d.sender, d.pc, d.loopRunning = sender, pc, true
	go d.rtcpLoop(sender)
	d.life.Unlock()

	if err := r.addDownTrack(d); err != nil {
		d.close(true)

		return nil, err
	}

	return d, nil
}

// Unsubscribe removes the DownTrack from its subscriber PeerConnection
// (renegotiate it afterwards).
func (rt *Router) Unsubscribe(d *DownTrack) { d.close(true) }

// DownTrack is subscriberID's subscription to a publisher's track; nil if
// there is none.
func (rt *Router) DownTrack(participantID, trackID, subscriberID string) *DownTrack {
	r := rt.Receiver(participantID, trackID)
	if r == nil {
		return nil
	}
	for _, d := range r.DownTracks() {
		if d.SubscriberID() == subscriberID {
			return d
		}
	}
	return nil
}

// Subscriptions returns the DownTracks of a subscriber.
func (rt *Router) Subscriptions(subscriberID string) []*DownTrack {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	sub := rt.subscribers[subscriberID]
	if sub == nil {
		return nil
	}
	out := make([]*DownTrack, 0, len(sub.downTracks))
	for _, d := range sub.downTracks {
		out = append(out, d)
	}

	return out
}

// RemoveSubscriber removes all DownTracks of a subscriber, e.g. before it
// reconnects with a new PeerConnection.
func (rt *Router) RemoveSubscriber(subscriberID string) {
	for _, d := range rt.Subscriptions(subscriberID) {
		d.close(true)
	}
}

// RemoveParticipant removes everything a participant publishes and all its
// subscriptions.
func (rt *Router) RemoveParticipant(participantID string) {
	for _, r := range rt.Receivers() {
		if r.participantID == participantID {
			r.Close()
		}
	}
	rt.RemoveSubscriber(participantID)
}

// Close stops every Receiver and DownTrack. PeerConnections are left to the
// session layer.
func (rt *Router) Close() {
	rt.mu.Lock()
	rt.closed = true
	rt.mu.Unlock()
	for _, r := range rt.Receivers() {
		r.Close()
	}
	rt.mu.Lock()
	var rest []*DownTrack
	for _, sub := range rt.subscribers {
		for _, d := range sub.downTracks {
			rest = append(rest, d)
		}
	}
	rt.mu.Unlock()
	for _, d := range rest {
		d.close(true)
	}
}

func (rt *Router) forgetReceiver(r *Receiver) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	key := trackKey{r.participantID, r.trackID}
	if rt.receivers[key] == r {
		delete(rt.receivers, key)
	}
}

func (rt *Router) forgetDownTrack(d *DownTrack) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	sub := d.sub
	if sub.downTracks[d.receiver] != d {
		return
	}
	delete(sub.downTracks, d.receiver)
	if d.kind == webrtc.RTPCodecTypeAudio {
		sub.audio.Add(-1)
	} else {
		sub.video.Add(-1)
	}
	if len(sub.downTracks) == 0 && rt.subscribers[sub.id] == sub {
		delete(rt.subscribers, sub.id)
	}
}

// congestedRatio: the congestion controller's estimate below this fraction
// of what the subscriber is being sent means its downlink is congested.
const congestedRatio = 0.8

// videoShare is, when the subscriber's downlink is congested, its estimate
// divided among its video tracks after a reserve for each audio track.
//
// GCC without probing estimates little more than what a link currently
// carries, so its estimate is not a capacity: used as a cap it would hold
// publishers at their current bitrate. Only an estimate clearly below the
// rate the subscriber is sent (GCC backs off to 85% of the received rate on
// overuse, further on loss) caps the publishers.
func (s *subscriber) videoShare(now int64) (uint64, bool) {
	est := s.router.cfg.Estimates
	if est == nil {
		return 0, false
	}
	total, ok := est.TargetBitrate(s.pc)
	if !ok || total <= 0 {
		return 0, false
	}
	rate := s.sendRate(now)
	if rate == 0 || float64(total) >= congestedRatio*float64(rate) {
		return 0, false
	}
	v := int64(s.video.Load())
	if v <= 0 {
		return 0, false
	}
	share := (int64(total) - int64(s.audio.Load())*audioReserve) / v

	return uint64(max(share, audioReserve)), true
}

// sendRate is the bitrate forwarded to the subscriber, measured over at
// least half a second.
func (s *subscriber) sendRate(now int64) uint64 {
	s.rateMu.Lock()
	defer s.rateMu.Unlock()
	if el := now - s.rateAt; s.rateAt == 0 || el >= int64(500*time.Millisecond) {
		b := s.sentBytes.Load()
		if s.rateAt != 0 {
			s.rate = (b - s.rateBytes) * 8 * uint64(time.Second) / uint64(el)
		}
		s.rateAt, s.rateBytes = now, b
	}

	return s.rate
}
