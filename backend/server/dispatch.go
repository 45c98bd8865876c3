package server

import (
	"context"
	"errors"
	"time"

	"github.com/coder/websocket"

	"parley/backend/sfu"
	"parley/backend/signal"
)

var (
	errLeft     = errors.New("participant left")
	errEnded    = errors.New("session ended by the host")
	errShutdown = errors.New("server shutting down")
)

// readLoop reads and applies client messages until the connection ends; the
// returned error says how it ended.
func (sess *session) readLoop(c *connection) error {
	for {
		var f frame
		select {
		case f = <-c.frames:
		case <-sess.ctx.Done():
			return context.Cause(sess.ctx)
		case <-c.ctx.Done():
			return context.Cause(c.ctx)
		}
		typ, data, err := f.typ, f.data, f.err
		if err != nil {
			if sess.ctx.Err() != nil {
				return context.Cause(sess.ctx)
			}
			if c.ctx.Err() != nil {
				return context.Cause(c.ctx)
			}
			switch websocket.CloseStatus(err) {
			case websocket.StatusNormalClosure, websocket.StatusGoingAway:
				sess.setLeaveReason(signal.ReasonLeft)
			case websocket.StatusMessageTooBig:
				return signal.Errorf(signal.CodeTooLarge, "message over %d bytes", signal.MaxMessageSize)
			}
			return err
		}
		if typ != websocket.MessageText {
			return signal.Errorf(signal.CodeBadRequest, "messages are JSON text frames")
		}
		if !c.limiter.Allow() {
			sess.rateLimited(c)
			continue
		}
		msg, err := signal.DecodeClient(data)
		if err != nil {
			if signal.CodeOf(err) == signal.CodeTooLarge {
				return err
			}
			sess.reply(err, 0)
			continue
		}
		if err := sess.handle(msg); err != nil {
			if errors.Is(err, errLeft) || errors.Is(err, errEnded) {
				return err
			}
			sess.reply(err, msg.MessageID())
		}
	}
}

// rateLimited drops the message; the client hears about it at most once a
// second so that the error does not become a flood of its own.
func (sess *session) rateLimited(c *connection) {
	sess.srv.metrics.errors.WithLabelValues(string(signal.CodeRateLimited)).Inc()
	now := time.Now()
	if now.Sub(c.lastLimited) < time.Second {
		return
	}
	c.lastLimited = now
	c.queueMsg(signal.Errorf(signal.CodeRateLimited, "too many messages: at most %.0f a second", sess.srv.cfg.MessageRate))
}

func (sess *session) reply(err error, id int64) {
	se := signal.AsError(err, id)
	if se.Code == signal.CodeInternal {
		sess.log.Error("request failed", "err", err)
	}
	sess.srv.metrics.errors.WithLabelValues(string(se.Code)).Inc()
	sess.queueMsg(se)
}

func (sess *session) handle(msg signal.Message) error {
	switch m := msg.(type) {
	case *signal.Hello:
		return signal.Errorf(signal.CodeBadRequest, "already joined: hello is only the first message")
	case *signal.Offer:
		return sess.onPublishOffer(m)
	case *signal.Answer:
		return sess.onSubscribeAnswer(m)
	case *signal.Candidate:
		return sess.onCandidate(m)
	case *signal.Publish:
		return sess.onPublish(m)
	case *signal.Unpublish:
		return sess.onUnpublish(m)
	case *signal.Mute:
		return sess.onMute(m)
	case *signal.Chat:
		return sess.onChat(m)
	case *signal.Lock:
		return sess.onLock(m)
	case *signal.Remove:
		return sess.onRemove(m)
	case *signal.End:
		return sess.onEnd(m)
	case *signal.Admit:
		return sess.decide(m.ID, m.KnockID, true)
	case *signal.Deny:
		return sess.decide(m.ID, m.KnockID, false)
	case *signal.Restart:
		sess.restartSubscribe()
		return nil
	case *signal.Pause:
		fw := sfu.ForwardAll
		switch {
		case m.Paused:
			fw = sfu.ForwardNone
		case m.ReferenceOnly:
			fw = sfu.ForwardReference
		}
		return sess.room.media.SetForwarding(m.ParticipantID, m.TrackID, sess.id, fw)
	case *signal.Leave:
		sess.setLeaveReason(signal.ReasonLeft)
		return errLeft
	case *signal.Ping:
		return sess.onPing(m)
	default:
		return signal.Errorf(signal.CodeBadRequest, "%s is not a client message", msg.Type())
	}
}

// onPing answers a heartbeat at once. It touches no room state, so it cannot
// fail and no one else hears of it; the read loop's rate limit has already
// counted it like any other message.
func (sess *session) onPing(m *signal.Ping) error {
	if sess.version < 3 {
		// A version 2 server would reject it too: clients must not rely on
		// pongs without asking for version 3.
		return signal.Errorf(signal.CodeBadRequest, "ping is a version 3 message; this connection speaks version %d", sess.version)
	}
	sess.queueMsg(&signal.Pong{ID: m.ID})
	return nil
}

// echoLocked broadcasts an event caused by a request: the requester's copy
// (mine) carries the request's id, so it can match the outcome to its request.
func (lr *liveRoom) echoLocked(requester string, mine, theirs signal.Message) {
	lr.broadcastLocked(theirs, requester)
	if s := lr.sessions[requester]; s != nil {
		s.queueMsg(mine)
	}
}

func (sess *session) onPublish(m *signal.Publish) error {
	lr := sess.room
	lr.mu.Lock()
	defer lr.mu.Unlock()
	t, err := lr.state.AddTrack(sess.id, m.Track)
	if err != nil {
		return err
	}
	lr.echoLocked(sess.id, &signal.TrackPublished{ID: m.ID, Track: t}, &signal.TrackPublished{Track: t})
	return nil
}

func (sess *session) onUnpublish(m *signal.Unpublish) error {
	lr := sess.room
	lr.mu.Lock()
	t, err := lr.state.RemoveTrack(sess.id, m.TrackID)
	if err != nil {
		lr.mu.Unlock()
		return err
	}
	lr.echoLocked(sess.id,
		&signal.TrackUnpublished{ID: m.ID, TrackID: t.ID, ParticipantID: sess.id},
		&signal.TrackUnpublished{TrackID: t.ID, ParticipantID: sess.id})
	lr.mu.Unlock()
	if lr.media.RemovePublisherTrack(sess.id, t.ID) {
		for _, other := range lr.others(sess.id) {
			other.negotiate()
		}
	}
	return nil
}

func (sess *session) onMute(m *signal.Mute) error {
	lr := sess.room
	lr.mu.Lock()
	defer lr.mu.Unlock()
	// Version 1 clients' participantId is ignored, as that version says.
	if sess.version >= 2 && m.ParticipantID != "" && m.ParticipantID != sess.id {
		return sess.muteOtherLocked(m)
	}
	t, changed, err := lr.state.SetMuted(sess.id, m.TrackID, m.Muted)
	if err != nil || !changed {
		return err
	}
	lr.echoLocked(sess.id,
		&signal.Mute{ID: m.ID, TrackID: t.ID, ParticipantID: sess.id, Muted: t.Muted},
		&signal.Mute{TrackID: t.ID, ParticipantID: sess.id, Muted: t.Muted})
	return nil
}

// muteOtherLocked is a host muting someone else's track: everyone,
// including the participant concerned, hears of it with By set, so their
// app can tell them (and they may unmute themselves).
func (sess *session) muteOtherLocked(m *signal.Mute) error {
	lr := sess.room
	t, changed, err := lr.state.MuteOther(sess.id, m.ParticipantID, m.TrackID, m.Muted)
	if err != nil || !changed {
		return err
	}
	lr.echoLocked(sess.id,
		&signal.Mute{ID: m.ID, TrackID: t.ID, ParticipantID: t.ParticipantID, Muted: true, By: sess.id},
		&signal.Mute{TrackID: t.ID, ParticipantID: t.ParticipantID, Muted: true, By: sess.id})
	return nil
}

func (sess *session) onChat(m *signal.Chat) error {
	lr := sess.room
	lr.mu.Lock()
	defer lr.mu.Unlock()
	c, err := lr.state.AddChat(sess.id, m.Text, time.Now())
	if err != nil {
		return err
	}
	mine := signal.NewChat(c)
	mine.ID = m.ID
	lr.echoLocked(sess.id, mine, signal.NewChat(c))
	return nil
}

func (sess *session) onLock(m *signal.Lock) error {
	lr := sess.room
	lr.mu.Lock()
	info, err := lr.state.SetLocked(sess.id, m.Locked)
	if err != nil {
		lr.mu.Unlock()
		return err
	}
	mine := signal.NewRoomUpdate(info)
	mine.ID = m.ID
	lr.echoLocked(sess.id, mine, signal.NewRoomUpdate(info))
	count := lr.state.Len()
	lr.mu.Unlock()
	// Outside lr.mu, as joins and leaves are: OnEvent may take its time.
	sess.srv.emit(Event{Type: "lock", Room: info.Name, ParticipantID: sess.id, Name: sess.name,
		Participants: count, Locked: info.Locked})
	return nil
}

func (sess *session) onRemove(m *signal.Remove) error {
	lr := sess.room
	lr.mu.Lock()
	target := lr.sessions[m.ParticipantID]
	if _, err := lr.state.Remove(sess.id, m.ParticipantID, time.Now()); err != nil {
		lr.mu.Unlock()
		return err
	}
	if target != nil && target.device != "" && len(lr.removed) < maxRemovedDevices {
		lr.removed[target.device] = true
	}
	// The room forgot the participant already; its own session's leave
	// then finds nothing to announce, so announce here.
	lr.echoLocked(sess.id,
		&signal.ParticipantLeft{ID: m.ID, ParticipantID: m.ParticipantID, Reason: signal.ReasonRemoved},
		&signal.ParticipantLeft{ParticipantID: m.ParticipantID, Reason: signal.ReasonRemoved})
	lr.mu.Unlock()
	if target != nil {
		target.setLeaveReason(signal.ReasonRemoved)
		target.end(signal.EndRemoved)
	}
	return nil
}

func (sess *session) onEnd(m *signal.End) error {
	lr := sess.room
	if _, err := lr.state.End(sess.id); err != nil {
		return err
	}
	for _, s := range lr.others("") {
		s.setLeaveReason(signal.ReasonLeft)
		s.end(signal.EndHostEnded)
	}
	// No host is left to let anyone in.
	for _, s := range lr.knockers() {
		s.end(signal.EndHostEnded)
	}
	return errEnded
}

// end tells the participant its session is over and closes it.
func (sess *session) end(reason signal.EndReason) {
	sess.sendNow(&signal.Ended{Reason: reason})
	sess.cancel(errEnded)
}
