package rtcconf

import (
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"
)

// CloseGuard keeps a PeerConnection's negotiation and its Close apart.
// pion's Close marks the ICE gatherer closed only when it has an ICE
// agent; before the first CreateOffer or CreateAnswer it has none, and a
// negotiation racing with Close creates one (with its goroutine) that
// nothing closes.
type CloseGuard struct {
	mu     sync.Mutex
	closed bool
}

// Do runs f, which negotiates on the guarded PeerConnection, unless Close
// has run (then it reports webrtc.ErrConnectionClosed).
func (g *CloseGuard) Do(f func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return webrtc.ErrConnectionClosed
	}
	return f()
}

// Offer makes pc's offer (opts: an ICE restart, or nil), sets it and
// returns it.
func (g *CloseGuard) Offer(pc *webrtc.PeerConnection, opts *webrtc.OfferOptions) (string, error) {
	var sdp string
	err := g.Do(func() error {
		offer, err := pc.CreateOffer(opts)
		if err == nil {
			err = pc.SetLocalDescription(offer)
		}
		sdp = offer.SDP
		return err
	})
	return sdp, err
}

// Accept applies the remote answer to pc's offer and gives pc the
// candidates that came ahead of the answer.
func (g *CloseGuard) Accept(pc *webrtc.PeerConnection, answer string, early *RemoteCandidates) error {
	return g.Do(func() error {
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			return err
		}
		early.Flush(pc)
		return nil
	})
}

// Answer applies a remote offer to pc, gives it the candidates that came
// ahead of the offer, and sets and returns the answer.
func (g *CloseGuard) Answer(pc *webrtc.PeerConnection, offer string, early *RemoteCandidates) (string, error) {
	var sdp string
	err := g.Do(func() error {
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
			return fmt.Errorf("offer: %w", err)
		}
		early.Flush(pc)
		answer, err := pc.CreateAnswer(nil)
		if err == nil {
			err = pc.SetLocalDescription(answer)
		}
		if err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		sdp = answer.SDP
		return nil
	})
	return sdp, err
}

// Close closes pc once no Do runs, and keeps any from running after.
func (g *CloseGuard) Close(pc *webrtc.PeerConnection) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	return pc.Close()
}
