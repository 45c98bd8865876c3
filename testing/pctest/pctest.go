// Package pctest connects pion PeerConnections to each other in tests the
// way Parley's signaling does: one offer and one answer, each carrying
// every ICE candidate (no trickle).
package pctest

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// Offer makes pc's offer, sets it as its local description and returns it
// once every ICE candidate is in it.
func Offer(t testing.TB, pc *webrtc.PeerConnection) webrtc.SessionDescription {
	t.Helper()
	return gathered(t, pc, func() (webrtc.SessionDescription, error) { return pc.CreateOffer(nil) })
}

// Negotiate runs one offer/answer exchange from offerer to answerer; a
// renegotiation is another call.
func Negotiate(t testing.TB, offerer, answerer *webrtc.PeerConnection) {
	t.Helper()
	if err := answerer.SetRemoteDescription(Offer(t, offerer)); err != nil {
		t.Fatal(err)
	}
	answer := gathered(t, answerer, func() (webrtc.SessionDescription, error) { return answerer.CreateAnswer(nil) })
	if err := offerer.SetRemoteDescription(answer); err != nil {
		t.Fatal(err)
	}
}

// gathered sets the description that create makes as pc's local one and
// returns it with every ICE candidate in it.
func gathered(t testing.TB, pc *webrtc.PeerConnection, create func() (webrtc.SessionDescription, error)) webrtc.SessionDescription {
	t.Helper()
	desc, err := create()
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ICE gathering did not complete in 5 s")
	}
	return *pc.LocalDescription()
}
