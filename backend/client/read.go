package client

import (
	"context"
	"errors"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"parley/backend/signal"
)

// ErrConnectionLost ends a session whose signaling connection dropped.
var ErrConnectionLost = errors.New("connection to the host lost")

// readLoop keeps reading (which also answers the server's pings) while a
// separate worker applies the messages: a slow SDP operation under load
// must not make the server think we are gone.
func (c *Client) readLoop() {
	work := newFIFO[signal.Message]()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for msg := range work.out {
			c.handle(msg)
		}
	}()
	defer work.close()
	for {
		_, data, err := c.conn.Read(c.ctx)
		if err != nil {
			switch {
			case c.ctx.Err() != nil:
			case c.leaving.Load():
				c.cancel(ErrLeft)
			default:
				c.log.Warn("signaling connection lost", "err", err)
				c.cancel(ErrConnectionLost)
			}
			return
		}
		msg, err := signal.DecodeServer(data)
		if err != nil {
			c.log.Warn("ignoring a message the server should not send", "err", err)
			continue
		}
		if m, ok := msg.(*signal.Ended); ok {
			// Decided here, not by the worker, so that the close that
			// follows is not taken for a lost connection.
			c.mu.Lock()
			c.ended = m.Reason
			c.mu.Unlock()
			c.events.push(Event{Message: m})
			c.cancel(&EndedError{Reason: m.Reason})
			_ = c.conn.Close(websocket.StatusNormalClosure, "")
			return
		}
		work.push(msg)
	}
}

func (c *Client) handle(msg signal.Message) {
	switch m := msg.(type) {
	case *signal.Answer:
		c.onPublishAnswer(m)
		return
	case *signal.Offer:
		c.onSubscribeOffer(m)
		return
	case *signal.Candidate:
		c.onCandidate(m)
		return
	case *signal.TrackPublished:
		c.mu.Lock()
		c.tracks[trackKey{m.Track.ParticipantID, m.Track.ID}] = m.Track
		c.mu.Unlock()
	case *signal.TrackUnpublished:
		c.mu.Lock()
		delete(c.tracks, trackKey{m.ParticipantID, m.TrackID})
		c.mu.Unlock()
	case *signal.Mute:
		c.mu.Lock()
		k := trackKey{m.ParticipantID, m.TrackID}
		if t, ok := c.tracks[k]; ok {
			t.Muted = m.Muted
			c.tracks[k] = t
		}
		c.mu.Unlock()
	case *signal.ParticipantLeft:
		c.mu.Lock()
		for k := range c.tracks {
			if k.participant == m.ParticipantID {
				delete(c.tracks, k)
			}
		}
		c.mu.Unlock()
	}
	if id := msg.MessageID(); id != 0 {
		c.mu.Lock()
		w := c.waiters[id]
		c.mu.Unlock()
		if w != nil {
			w <- msg
		}
	}
	c.events.push(Event{Message: msg})
}

func (c *Client) onPublishAnswer(m *signal.Answer) {
	err := c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
	c.mu.Lock()
	pending := c.pendingPub
	c.pendingPub = nil
	done := c.pubAnswer
	c.pubAnswer = nil
	c.mu.Unlock()
	for _, cand := range pending {
		_ = c.pub.AddICECandidate(cand)
	}
	if done != nil {
		done <- err
	} else if err != nil {
		c.log.Warn("publish answer", "err", err)
	}
}

func (c *Client) onSubscribeOffer(m *signal.Offer) {
	err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP})
	if err != nil {
		c.log.Error("subscribe offer", "err", err)
		c.cancel(err)
		return
	}
	c.mu.Lock()
	pending := c.pendingSub
	c.pendingSub = nil
	c.mu.Unlock()
	for _, cand := range pending {
		_ = c.sub.AddICECandidate(cand)
	}
	answer, err := c.sub.CreateAnswer(nil)
	if err == nil {
		err = c.sub.SetLocalDescription(answer)
	}
	if err != nil {
		c.log.Error("subscribe answer", "err", err)
		c.cancel(err)
		return
	}
	if err := c.send(&signal.Answer{ID: m.ID, PC: signal.PCSubscribe, SDP: answer.SDP}); err != nil {
		c.log.Warn("send subscribe answer", "err", err)
	}
}

func (c *Client) onCandidate(m *signal.Candidate) {
	if m.Candidate == nil || m.Candidate.Candidate == "" {
		return
	}
	init := webrtc.ICECandidateInit{
		Candidate:        m.Candidate.Candidate,
		SDPMid:           m.Candidate.SDPMid,
		SDPMLineIndex:    m.Candidate.SDPMLineIndex,
		UsernameFragment: m.Candidate.UsernameFragment,
	}
	pc := c.pub
	if m.PC == signal.PCSubscribe {
		pc = c.sub
	}
	c.mu.Lock()
	if pc.RemoteDescription() == nil {
		if m.PC == signal.PCSubscribe {
			c.pendingSub = append(c.pendingSub, init)
		} else {
			c.pendingPub = append(c.pendingPub, init)
		}
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if err := pc.AddICECandidate(init); err != nil {
		c.log.Debug("add candidate", "pc", m.PC, "err", err)
	}
}

func (c *Client) sendCandidate(pc signal.PC, cand *webrtc.ICECandidate) {
	if c.ctx.Err() != nil {
		return
	}
	msg := &signal.Candidate{PC: pc}
	if cand != nil {
		init := cand.ToJSON()
		msg.Candidate = &signal.ICECandidate{
			Candidate:        init.Candidate,
			SDPMid:           init.SDPMid,
			SDPMLineIndex:    init.SDPMLineIndex,
			UsernameFragment: init.UsernameFragment,
		}
	}
	if err := c.send(msg); err != nil && !errors.Is(err, context.Canceled) {
		c.log.Debug("send candidate", "err", err)
	}
}
