package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"parley/backend/signal"
)

// ErrConnectionLost ends a session whose signaling connection dropped.
var ErrConnectionLost = errors.New("connection to the host lost")

// readLoop keeps reading (which also answers the server's pings) while a
// separate worker applies the messages: a slow SDP operation under load
// must not make the server think we are gone. When the connection drops
// and the server gave us a resume token, it resumes the session on a new
// connection.
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
		if !c.readConn(c.currentConn(), work) {
			return
		}
		if !c.reconnect(work) {
			c.cancel(ErrConnectionLost)
			return
		}
	}
}

// readConn reads conn until it fails; it reports true if the connection
// was lost in a way worth resuming.
func (c *Client) readConn(conn *websocket.Conn, work *fifo[signal.Message]) bool {
	for {
		_, data, err := conn.Read(c.ctx)
		if err != nil {
			switch {
			case c.ctx.Err() != nil:
			case c.leaving.Load():
				c.cancel(ErrLeft)
			case c.resumeToken != "":
				c.log.Warn("signaling connection lost; resuming", "err", err)
				_ = conn.CloseNow()
				return true
			default:
				c.log.Warn("signaling connection lost", "err", err)
				c.cancel(ErrConnectionLost)
			}
			return false
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
			_ = conn.Close(websocket.StatusNormalClosure, "")
			return false
		}
		work.push(msg)
	}
}

// ResumeWindow is how long the server keeps a dropped session (its
// Config.ResumeWindow default); the client tries to resume that long.
const ResumeWindow = 30 * time.Second

// reconnect dials the server again and resumes the session, retrying
// with backoff for ResumeWindow. The resumed welcome goes through the
// worker like any message, so that it is ordered with what follows.
func (c *Client) reconnect(work *fifo[signal.Message]) bool {
	c.setConn(nil)
	c.events.push(Event{State: signal.StateReconnecting})
	start := time.Now()
	deadline := start.Add(ResumeWindow)
	backoff := 100 * time.Millisecond
	for attempt := 1; time.Now().Before(deadline); attempt++ {
		ctx, cancel := context.WithTimeout(c.ctx, min(5*time.Second, time.Until(deadline)))
		conn, w, err := c.dialResume(ctx)
		cancel()
		if err == nil {
			c.log.Info("resumed the session", "after", time.Since(start).Round(time.Millisecond), "attempts", attempt)
			c.setConn(conn)
			work.push(w)
			c.resendPublishOffer()
			return true
		}
		if c.ctx.Err() != nil {
			return false
		}
		if signal.CodeOf(err) == signal.CodeNotFound {
			c.log.Warn("the server no longer has our session", "err", err)
			return false
		}
		c.log.Debug("resume attempt failed", "attempt", attempt, "err", err)
		select {
		case <-time.After(backoff):
		case <-c.ctx.Done():
			return false
		}
		backoff = min(2*backoff, time.Second)
	}
	return false
}

func (c *Client) dialResume(ctx context.Context) (*websocket.Conn, *signal.Welcome, error) {
	conn, _, err := websocket.Dial(ctx, c.invite.WebSocketURL(), &websocket.DialOptions{HTTPClient: c.httpClient})
	if err != nil {
		return nil, nil, fmt.Errorf("resume: dial: %w", err)
	}
	conn.SetReadLimit(signal.MaxServerMessageSize)
	fail := func(err error) (*websocket.Conn, *signal.Welcome, error) {
		_ = conn.CloseNow()
		return nil, nil, err
	}
	data, err := signal.Encode(&signal.Hello{ID: c.nextID.Add(1), Version: signal.ClientVersion,
		Room: c.invite.Room, Name: c.opts.Name, Resume: c.resumeToken})
	if err != nil {
		return fail(err)
	}
	if err := conn.Write(ctx, websocket.MessageText, data); err != nil {
		return fail(fmt.Errorf("resume: send hello: %w", err))
	}
	_, data, err = conn.Read(ctx)
	if err != nil {
		return fail(fmt.Errorf("resume: no welcome: %w", err))
	}
	msg, err := signal.DecodeServer(data)
	if err != nil {
		return fail(fmt.Errorf("resume: %w", err))
	}
	switch m := msg.(type) {
	case *signal.Welcome:
		if !m.Resumed || m.ParticipantID != c.ID() {
			return fail(errors.New("resume: the server started a new session instead"))
		}
		return conn, m, nil
	case *signal.Error:
		return fail(fmt.Errorf("resume: %w", m))
	default:
		return fail(fmt.Errorf("resume: server sent %s instead of welcome", msg.Type()))
	}
}

// resendPublishOffer repeats a publish offer whose answer may have been
// lost with the old connection.
func (c *Client) resendPublishOffer() {
	if c.pub.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return
	}
	if ld := c.pub.LocalDescription(); ld != nil {
		if err := c.send(&signal.Offer{ID: c.nextID.Add(1), PC: signal.PCPublish, SDP: ld.SDP}); err != nil {
			c.log.Debug("resend publish offer", "err", err)
		}
	}
}

// pingLoop finds a signaling connection that died silently (a cut
// network): the server's pings only tell the server. A dead one is closed,
// which makes readLoop resume.
func (c *Client) pingLoop() {
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-ticker.C:
			conn := c.currentConn()
			if conn == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(c.ctx, 3*time.Second)
			err := conn.Ping(ctx)
			cancel()
			if err != nil && c.ctx.Err() == nil {
				c.log.Warn("server does not answer pings", "err", err)
				closeToResume(conn)
			}
		}
	}
}

// closeToResume closes a connection that stopped answering, telling the
// server (if it still hears us: a busy machine rather than a cut network)
// that the session will be resumed; otherwise it would take the bare close
// for a process that died and keep the session only a few seconds. The
// close handshake gets a second at most.
func closeToResume(conn *websocket.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = conn.Close(signal.CloseResuming, "resuming")
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		_ = conn.CloseNow()
		<-done
	}
}

// iceWatch restarts ICE on a PeerConnection that lost connectivity: the
// publish one by re-offering with new credentials, the subscribe one by
// asking the server to. It retries every few seconds while the network is
// still away, and only while signaling is up (the offers need it). A
// restart that has not connected after that long is retried too: its
// checks ran while the network was away, and pion would leave it checking
// until its failed timeout (25 s) after the network came back.
func (c *Client) iceWatch() {
	const retry = 3 * time.Second
	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	pub := iceRestarts{retry: retry, restart: func() {
		c.log.Info("publish connection lost; restarting ICE")
		c.restartPublish()
	}}
	sub := iceRestarts{retry: retry, restart: func() {
		c.log.Info("subscribe connection lost; asking for an ICE restart")
		if err := c.send(&signal.Restart{ID: c.nextID.Add(1), PC: signal.PCSubscribe}); err != nil {
			c.log.Debug("ask for ICE restart", "err", err)
		}
	}}
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-ticker.C:
		}
		if c.currentConn() == nil {
			continue
		}
		now := time.Now()
		pub.check(c.pub.ICEConnectionState(), now)
		sub.check(c.sub.ICEConnectionState(), now)
	}
}

// iceRestarts decides when one PeerConnection's ICE is restarted.
type iceRestarts struct {
	retry   time.Duration
	restart func()
	last    time.Time // of the last restart
	pending bool      // restarted, not connected since
}

func (r *iceRestarts) check(s webrtc.ICEConnectionState, now time.Time) {
	var lost bool
	switch s {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		r.pending = false
	case webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateFailed:
		lost = true
	case webrtc.ICEConnectionStateNew, webrtc.ICEConnectionStateChecking:
		lost = r.pending
	}
	if lost && now.Sub(r.last) > r.retry {
		r.last, r.pending = now, true
		r.restart()
	}
}

func (c *Client) restartPublish() {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if err := c.negotiatePublishWith(ctx, &webrtc.OfferOptions{ICERestart: true}); err != nil && c.ctx.Err() == nil {
		c.log.Warn("ICE restart of the publish connection", "err", err)
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
		c.forgetRemoteLocked()
		c.mu.Unlock()
	case *signal.Mute:
		c.mu.Lock()
		k := trackKey{m.ParticipantID, m.TrackID}
		if t, ok := c.tracks[k]; ok {
			t.Muted = m.Muted
			c.tracks[k] = t
		}
		if m.ParticipantID == c.ID() && m.By != "" && m.By != c.ID() {
			// A host muted us: stop sending, as a mute of our own would.
			for _, lt := range c.local {
				if lt.id == m.TrackID {
					lt.muted.Store(m.Muted)
				}
			}
		}
		c.mu.Unlock()
	case *signal.Chat:
		c.mu.Lock()
		c.lastChatSeq = max(c.lastChatSeq, m.Seq)
		c.mu.Unlock()
	case *signal.Welcome:
		c.onResumed(m)
		return
	case *signal.ParticipantLeft:
		c.mu.Lock()
		for k := range c.tracks {
			if k.participant == m.ParticipantID {
				delete(c.tracks, k)
			}
		}
		c.forgetRemoteLocked()
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
	err := c.pubGuard.Accept(c.pub, m.SDP, &c.pubCandidates)
	c.mu.Lock()
	done := c.pubAnswer
	c.pubAnswer = nil
	c.mu.Unlock()
	if done != nil {
		done <- err
	} else if err != nil {
		c.log.Warn("publish answer", "err", err)
	}
}

func (c *Client) onSubscribeOffer(m *signal.Offer) {
	answer, err := c.subGuard.Answer(c.sub, m.SDP, &c.subCandidates)
	if err != nil {
		err = fmt.Errorf("subscribe %w", err)
		if c.ctx.Err() == nil {
			c.log.Error("negotiate", "err", err)
		}
		c.cancel(err)
		return
	}
	if err := c.send(&signal.Answer{ID: m.ID, PC: signal.PCSubscribe, SDP: answer}); err != nil {
		c.log.Warn("send subscribe answer", "err", err)
	}
}

func (c *Client) onCandidate(m *signal.Candidate) {
	pc, candidates, guard := c.pub, &c.pubCandidates, &c.pubGuard
	if m.PC == signal.PCSubscribe {
		pc, candidates, guard = c.sub, &c.subCandidates, &c.subGuard
	}
	if err := guard.Do(func() error { return candidates.Add(pc, m.Candidate) }); err != nil {
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

// onResumed takes the room's state from a resumed welcome and passes on
// the chat messages sent while we were away, then the welcome itself and
// a connected event.
func (c *Client) onResumed(w *signal.Welcome) {
	c.mu.Lock()
	clear(c.tracks)
	for _, t := range w.Tracks {
		c.tracks[trackKey{t.ParticipantID, t.ID}] = t
	}
	c.forgetRemoteLocked()
	last := c.lastChatSeq
	c.mu.Unlock()
	for _, m := range w.Chat {
		if m.Seq > last {
			c.handle(signal.NewChat(m))
		}
	}
	c.events.push(Event{Message: w})
	c.events.push(Event{State: signal.StateConnected})
}
