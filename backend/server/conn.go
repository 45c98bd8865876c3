package server

import (
	"context"
	"errors"
	"time"

	"github.com/coder/websocket"

	"parley/backend/signal"
)

const writeTimeout = 5 * time.Second

// queue hands an encoded message to the writer without blocking: a client
// too slow to keep up is disconnected instead of stalling the room.
func (sess *session) queue(data []byte) {
	select {
	case sess.out <- data:
	case <-sess.ctx.Done():
	default:
		sess.cancel(errSlowClient)
	}
}

func (sess *session) queueMsg(msg signal.Message) {
	data, err := signal.Encode(msg)
	if err != nil {
		sess.log.Error("encode", "type", msg.Type(), "err", err)
		return
	}
	sess.queue(data)
}

func (sess *session) writeLoop() {
	for {
		select {
		case <-sess.ctx.Done():
			return
		case data := <-sess.out:
			ctx, cancel := context.WithTimeout(sess.ctx, writeTimeout)
			err := sess.conn.Write(ctx, websocket.MessageText, data)
			cancel()
			if err != nil {
				sess.cancel(err)
				return
			}
		}
	}
}

// pingLoop finds connections that died without closing (a vanished
// process, a cut cable): such a participant is reported gone.
func (sess *session) pingLoop() {
	ticker := time.NewTicker(sess.srv.cfg.PingInterval)
	defer ticker.Stop()
	for {
		select {
		case <-sess.ctx.Done():
			return
		case <-ticker.C:
			ctx, cancel := context.WithTimeout(sess.ctx, sess.srv.cfg.PingTimeout)
			err := sess.conn.Ping(ctx)
			cancel()
			if err != nil {
				sess.cancel(errors.New("ping unanswered"))
				return
			}
		}
	}
}

// sendNow writes one message directly, for the last words before a close.
func (sess *session) sendNow(msg signal.Message) {
	data, err := signal.Encode(msg)
	if err != nil {
		sess.log.Error("encode", "type", msg.Type(), "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	_ = sess.conn.Write(ctx, websocket.MessageText, data)
}

// fail ends a session that never joined, telling the client why.
func (sess *session) fail(err error) {
	var se *signal.Error
	if errors.As(err, &se) {
		sess.srv.metrics.errors.WithLabelValues(string(se.Code)).Inc()
		sess.sendNow(se)
		_ = sess.conn.Close(closeStatus(se.Code), se.Message)
		return
	}
	if websocket.CloseStatus(err) != -1 || errors.Is(err, context.Canceled) {
		_ = sess.conn.CloseNow()
		return
	}
	sess.log.Warn("session failed before joining", "err", err)
	sess.srv.metrics.errors.WithLabelValues(string(signal.CodeInternal)).Inc()
	sess.sendNow(&signal.Error{Code: signal.CodeInternal, Message: "the server could not set up the session"})
	_ = sess.conn.Close(websocket.StatusInternalError, "internal error")
}

// closeConn closes a joined session's socket with a status that says why.
func (sess *session) closeConn(cause error) {
	var se *signal.Error
	switch {
	case errors.As(cause, &se):
		sess.sendNow(se)
		_ = sess.conn.Close(closeStatus(se.Code), se.Message)
	case errors.Is(cause, errLeft), errors.Is(cause, errEnded):
		_ = sess.conn.Close(websocket.StatusNormalClosure, "")
	case errors.Is(cause, errShutdown):
		_ = sess.conn.Close(websocket.StatusGoingAway, "server shutting down")
	default:
		_ = sess.conn.CloseNow()
	}
}

func closeStatus(code signal.Code) websocket.StatusCode {
	switch code {
	case signal.CodeTooLarge:
		return websocket.StatusMessageTooBig
	case signal.CodeInternal:
		return websocket.StatusInternalError
	default:
		return websocket.StatusPolicyViolation
	}
}
