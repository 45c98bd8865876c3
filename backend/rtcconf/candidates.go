package rtcconf

import (
	"sync"

	"github.com/pion/webrtc/v4"

	"parley/backend/signal"
)

// RemoteCandidates keeps the remote ICE candidates that reach one
// PeerConnection before its remote description does: pion refuses them until
// then, and trickle ICE does not promise the order.
type RemoteCandidates struct {
	mu      sync.Mutex
	pending []webrtc.ICECandidateInit
}

// Add gives c to pc, or keeps it for Flush while pc has no remote
// description. An end-of-candidates marker (nil or empty) needs no action
// in pion and is dropped.
func (r *RemoteCandidates) Add(pc *webrtc.PeerConnection, c *signal.ICECandidate) error {
	if c == nil || c.Candidate == "" {
		return nil
	}
	init := webrtc.ICECandidateInit{
		Candidate:        c.Candidate,
		SDPMid:           c.SDPMid,
		SDPMLineIndex:    c.SDPMLineIndex,
		UsernameFragment: c.UsernameFragment,
	}
	r.mu.Lock()
	if pc.RemoteDescription() == nil {
		r.pending = append(r.pending, init)
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	return pc.AddICECandidate(init)
}

// Flush gives pc the candidates kept so far; call it right after
// SetRemoteDescription succeeds. A candidate pion refuses is dropped, as
// browsers drop one that does not parse.
func (r *RemoteCandidates) Flush(pc *webrtc.PeerConnection) {
	r.mu.Lock()
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, c := range pending {
		_ = pc.AddICECandidate(c)
	}
}
