package server

import (
	"errors"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"parley/backend/sfu"
)

// forwarder is a room's media plane: Parley's SFU, or the bare pion relay
// that the benchmark measures it against. The session layer is the same
// for both, so the comparison isolates forwarding.
type forwarder interface {
	AddPublisherTrack(participantID, trackID string, kind sfu.TrackKind,
		track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) (publishedTrack, error)
	// Subscribe adds the track to the subscriber's PeerConnection (which
	// the caller then renegotiates). errAlreadySubscribed if it is there.
	Subscribe(t publishedTrack, subscriberID string, pc *webrtc.PeerConnection) error
	Published() []publishedTrack
	// SetForwarding sets how much of a track one subscriber gets; a track
	// the subscriber does not have (any more) is no error.
	SetForwarding(participantID, trackID, subscriberID string, f sfu.Forwarding) error
	RemovePublisherTrack(participantID, trackID string) bool
	RemoveParticipant(participantID string)
	Close()
	Totals() forwardTotals
}

type publishedTrack interface {
	ParticipantID() string
	TrackID() string
}

// forwardTotals are counters since the room opened (rooms and
// participants only in the server's sum).
type forwardTotals struct {
	rooms, participants, tracks int
	packets, bytes, nacks, plis uint64
}

var errAlreadySubscribed = errors.New("already subscribed")

// sfuForwarder adapts sfu.Router, keeping the counters of tracks the
// router has forgotten so that the totals never go backwards.
type sfuForwarder struct {
	router  *sfu.Router
	retired struct{ packets, bytes, nacks, plis atomic.Uint64 }
}

func newSFUForwarder(cfg sfu.Config) *sfuForwarder {
	return &sfuForwarder{router: sfu.NewRouter(cfg)}
}

func (f *sfuForwarder) AddPublisherTrack(pid, tid string, kind sfu.TrackKind,
	track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver,
) (publishedTrack, error) {
	return f.router.AddPublisherTrack(pid, tid, kind, track, receiver)
}

func (f *sfuForwarder) Subscribe(t publishedTrack, subscriberID string, pc *webrtc.PeerConnection) error {
	_, err := f.router.Subscribe(t.(*sfu.Receiver), subscriberID, pc)
	if errors.Is(err, sfu.ErrAlreadySubscribed) {
		return errAlreadySubscribed
	}
	return err
}

func (f *sfuForwarder) Published() []publishedTrack {
	rcvs := f.router.Receivers()
	out := make([]publishedTrack, len(rcvs))
	for i, r := range rcvs {
		out[i] = r
	}
	return out
}

func (f *sfuForwarder) SetForwarding(pid, tid, subscriberID string, fw sfu.Forwarding) error {
	// A pause may cross the track's end (unpublished, its owner left) on
	// the wire: then there is nothing left to pause.
	if d := f.router.DownTrack(pid, tid, subscriberID); d != nil {
		d.SetForwarding(fw)
	}
	return nil
}

func (f *sfuForwarder) RemovePublisherTrack(pid, tid string) bool {
	if rcv := f.router.Receiver(pid, tid); rcv != nil {
		f.retire(receiverTotals(rcv))
	}
	return f.router.RemovePublisherTrack(pid, tid)
}

func (f *sfuForwarder) RemoveParticipant(pid string) {
	var t forwardTotals
	for _, rcv := range f.router.Receivers() {
		if rcv.ParticipantID() == pid {
			t.add(receiverTotals(rcv))
		}
	}
	for _, d := range f.router.Subscriptions(pid) {
		t.add(downTrackTotals(d))
	}
	f.retire(t)
	f.router.RemoveParticipant(pid)
}

func (f *sfuForwarder) Close() {
	f.retire(f.live())
	f.router.Close()
}

func (f *sfuForwarder) Totals() forwardTotals {
	t := f.live()
	t.packets += f.retired.packets.Load()
	t.bytes += f.retired.bytes.Load()
	t.nacks += f.retired.nacks.Load()
	t.plis += f.retired.plis.Load()
	return t
}

func (f *sfuForwarder) live() forwardTotals {
	var t forwardTotals
	for _, rcv := range f.router.Receivers() {
		t.tracks++
		t.add(receiverTotals(rcv))
	}
	return t
}

func (f *sfuForwarder) retire(t forwardTotals) {
	f.retired.packets.Add(t.packets)
	f.retired.bytes.Add(t.bytes)
	f.retired.nacks.Add(t.nacks)
	f.retired.plis.Add(t.plis)
}

func (t *forwardTotals) add(o forwardTotals) {
	t.packets += o.packets
	t.bytes += o.bytes
	t.nacks += o.nacks
	t.plis += o.plis
}

func receiverTotals(rcv *sfu.Receiver) forwardTotals {
	t := forwardTotals{plis: rcv.Stats().PLIsSent}
	for _, d := range rcv.DownTracks() {
		t.add(downTrackTotals(d))
	}
	return t
}

func downTrackTotals(d *sfu.DownTrack) forwardTotals {
	st := d.Stats()
	return forwardTotals{packets: st.Packets, bytes: st.Bytes, nacks: st.NACKs}
}
