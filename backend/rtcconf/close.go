package rtcconf

import (
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

// Close closes pc once no Do runs, and keeps any from running after.
func (g *CloseGuard) Close(pc *webrtc.PeerConnection) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	return pc.Close()
}
