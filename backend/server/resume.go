package server

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"parley/backend/signal"
)

// Resumption: a version 2 client whose connection drops keeps its place.
// The session stays in the room with its PeerConnections (so media that
// still flows keeps flowing), others see participant-state reconnecting,
// and a hello carrying welcome.resumeToken within Config.ResumeWindow
// hands the session a new connection and a fresh welcome.

func (s *Server) registerResumable(sess *session) string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	s.resumeMu.Lock()
	defer s.resumeMu.Unlock()
	s.resumable[tok] = sess
	return tok
}

// resume gives connection c (whose hello has a resume token) to the
// session it names, and waits until that session is done with it.
func (s *Server) resume(c *connection, hello *signal.Hello) {
	s.resumeMu.Lock()
	sess := s.resumable[hello.Resume]
	s.resumeMu.Unlock()
	gone := &signal.Error{ID: hello.ID, Code: signal.CodeNotFound,
		Message: "there is no session to resume (it ended, or waited too long): join again"}
	if sess == nil || sess.room.state.Name() != hello.Room || hello.Version < 2 {
		c.fail(gone)
		return
	}
	if !sess.offerConn(c) {
		c.fail(gone)
		return
	}
	<-c.released
}

// offerConn queues c for the session's loop, cutting the current
// connection if the server has not noticed yet that it died.
func (sess *session) offerConn(c *connection) bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.resumeClosed {
		return false
	}
	select {
	case sess.resumeCh <- c:
	default:
		return false // another resume is already pending
	}
	if cur := sess.currentConn(); cur != nil {
		cur.cancel(errReplaced)
	}
	return true
}

// closeResume ends resumption when the session ends; a connection that
// arrived meanwhile is told there is nothing to resume.
func (sess *session) closeResume() {
	sess.mu.Lock()
	sess.resumeClosed = true
	sess.mu.Unlock()
	if sess.resumeToken != "" {
		sess.srv.resumeMu.Lock()
		delete(sess.srv.resumable, sess.resumeToken)
		sess.srv.resumeMu.Unlock()
	}
	select {
	case c := <-sess.resumeCh:
		c.fail(&signal.Error{ID: c.helloID, Code: signal.CodeNotFound, Message: "the session ended"})
		close(c.released)
	default:
	}
}

// canResume reports whether a connection that ended with err leaves the
// session waiting for a resume: only an unexplained loss of a version 2
// client's connection does. A leave, a removal, the meeting's end, a
// shutdown or a protocol violation end the session.
func (sess *session) canResume(err error) bool {
	if sess.resumeToken == "" || sess.ctx.Err() != nil {
		return false
	}
	if errors.Is(err, errLeft) || errors.Is(err, errEnded) || errors.Is(err, errShutdown) {
		return false
	}
	var se *signal.Error
	if errors.As(err, &se) {
		return false
	}
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return false // the client closed on purpose
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.leaveReason == ""
}

// resumeWindow is how long a lost connection may be resumed. A connection
// that went silent (a network cut: pings unanswered), or that its client
// closed to resume it (signal.CloseResuming), gets the full ResumeWindow.
// One the client's machine closed (its process died: the kernel closed the
// socket) gets only VanishedWindow, so that the others see a vanished
// participant gone within seconds, while a client that merely lost its
// socket still has time to come straight back.
func (s *Server) resumeWindow(err error) time.Duration {
	if errors.Is(err, errPingUnanswered) || websocket.CloseStatus(err) == signal.CloseResuming {
		return s.cfg.ResumeWindow
	}
	return min(s.cfg.VanishedWindow, s.cfg.ResumeWindow)
}

// waitResume waits for a resuming connection and attaches it, or returns
// nil when the window passes or the session ends.
func (sess *session) waitResume(window time.Duration) *connection {
	lr := sess.room
	lr.mu.Lock()
	lr.sendLocked(&signal.ParticipantState{ParticipantID: sess.id, State: signal.StateReconnecting},
		func(o *session) bool { return o != sess && o.version >= 2 })
	lr.mu.Unlock()
	timer := time.NewTimer(window)
	defer timer.Stop()
	select {
	case c := <-sess.resumeCh:
		sess.attach(c)
		return c
	case <-timer.C:
		sess.log.Info("no resume within the window", "window", window)
		return nil
	case <-sess.ctx.Done():
		return nil
	}
}

// attach makes c the session's connection, starting with a welcome that
// carries the room as it is now (chat included: the client picks what it
// missed by seq), and tells the others the participant is back.
func (sess *session) attach(c *connection) {
	lr := sess.room
	lr.mu.Lock()
	defer lr.mu.Unlock()
	snap := lr.state.Snapshot()
	w := snap.Welcome(sess.id, sess.srv.iceServersFor(lr.state.Name()))
	w.ID, w.Version, w.ResumeToken, w.Resumed = c.helloID, c.version, sess.resumeToken, true
	lr.markReconnectingLocked(w)
	if lr.state.IsHost(sess.id) {
		w.Knocks = lr.knockListLocked()
	}
	c.queueMsg(w)
	sess.setConn(c)
	lr.sendLocked(&signal.ParticipantState{ParticipantID: sess.id, State: signal.StateConnected},
		func(o *session) bool { return o != sess && o.version >= 2 })
	sess.log.Info("resumed")
}

// markReconnectingLocked flags, in welcome w for a version 2 client, the
// others whose connection is down while the server keeps their place.
func (lr *liveRoom) markReconnectingLocked(w *signal.Welcome) {
	if w.Version < 2 {
		return
	}
	for i, p := range w.Participants {
		if o := lr.sessions[p.ID]; o != nil && p.ID != w.ParticipantID && o.currentConn() == nil {
			w.Participants[i].Reconnecting = true
		}
	}
}

// resendSubscribeOffer repeats a subscribe offer that may have been lost
// with the old connection; the client answers it like any other.
func (sess *session) resendSubscribeOffer() {
	if sess.sub.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return
	}
	if ld := sess.sub.LocalDescription(); ld != nil {
		sess.queueMsg(&signal.Offer{PC: signal.PCSubscribe, SDP: ld.SDP})
	}
}

// restartSubscribe makes the next subscribe offer restart ICE: the client
// asks when its subscribe PeerConnection lost connectivity.
func (sess *session) restartSubscribe() {
	sess.negMu.Lock()
	sess.negRestart = true
	busy := sess.negotiating
	sess.negMu.Unlock()
	if busy {
		// An offer is out: it must be answered first; the restart rides on
		// the next one.
		sess.negMu.Lock()
		sess.negPending = true
		sess.negMu.Unlock()
		return
	}
	sess.negotiate()
}
