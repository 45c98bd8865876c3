package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"parley/backend/signal"
)

const writeTimeout = 5 * time.Second

// connection is one WebSocket. A session starts on one; a resumed session
// continues on another, so everything tied to the socket lives here and
// everything tied to the participant lives in session.
type connection struct {
	srv    *Server
	ws     *websocket.Conn
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelCauseFunc
	out    chan []byte
	// frames carries what readFrames reads: one goroutine reads the socket
	// for the connection's whole life (hello, lobby, meeting), so the
	// client's pings are answered and a vanished knocker is noticed.
	frames chan frame
	// remoteIP keys the password attempt limit.
	remoteIP string

	limiter     *rate.Limiter
	lastLimited time.Time

	// From the hello read on this connection.
	version int
	helloID int64
	// released is closed once a session is done with a connection it
	// resumed on, so that the connection's HTTP handler may return.
	released chan struct{}
}

// frame is one read from the socket.
type frame struct {
	typ  websocket.MessageType
	data []byte
	err  error
}

// readFrames reads the socket until it fails or the connection ends; the
// failure is the last frame.
func (c *connection) readFrames() {
	for {
		typ, data, err := c.ws.Read(c.ctx)
		select {
		case c.frames <- frame{typ, data, err}:
		case <-c.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// readHello waits for the first message, which must be hello.
func (c *connection) readHello() (*signal.Hello, error) {
	timer := time.NewTimer(c.srv.cfg.HelloTimeout)
	defer timer.Stop()
	var f frame
	select {
	case f = <-c.frames:
	case <-timer.C:
		return nil, fmt.Errorf("read hello: %w", context.DeadlineExceeded)
	case <-c.ctx.Done():
		return nil, fmt.Errorf("read hello: %w", context.Cause(c.ctx))
	}
	if f.err != nil {
		return nil, fmt.Errorf("read hello: %w", f.err)
	}
	if f.typ != websocket.MessageText {
		return nil, signal.Errorf(signal.CodeBadRequest, "messages are JSON text frames")
	}
	msg, err := signal.DecodeClient(f.data)
	if err != nil {
		return nil, err
	}
	hello, ok := msg.(*signal.Hello)
	if !ok {
		return nil, &signal.Error{ID: msg.MessageID(), Code: signal.CodeBadRequest,
			Message: "the first message must be hello, not " + msg.Type()}
	}
	if err := hello.CheckVersion(); err != nil {
		return nil, err
	}
	c.version, c.helloID = hello.Version, hello.ID
	return hello, nil
}

// queue hands an encoded message to the writer without blocking: a client
// too slow to keep up is disconnected instead of stalling the room.
func (c *connection) queue(data []byte) {
	select {
	case c.out <- data:
	case <-c.ctx.Done():
	default:
		c.cancel(errSlowClient)
	}
}

func (c *connection) queueMsg(msg signal.Message) {
	data, err := signal.Encode(msg)
	if err != nil {
		c.log.Error("encode", "type", msg.Type(), "err", err)
		return
	}
	c.queue(data)
}

// writeLoop writes queued messages until ctx ends.
func (c *connection) writeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case data := <-c.out:
			// Not under ctx: the websocket closes the connection when a
			// write's context ends mid-frame, and ctx ends whenever serve
			// returns, also when the caller still has an error to send.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
			err := c.ws.Write(wctx, websocket.MessageText, data)
			cancel()
			if err != nil {
				// Not cancelled here: a client that sent leave and closed
				// makes our writes fail before its leave is read, and must
				// not be taken for a lost connection. The reader sees the
				// close, or the pings fail on a dead link.
				c.log.Debug("write", "err", err)
				return
			}
		}
	}
}

// errPingUnanswered: the connection died silently (a cut network).
var errPingUnanswered = errors.New("ping unanswered")

// pingLoop finds connections that died without closing (a vanished
// process, a cut cable).
func (c *connection) pingLoop(ctx context.Context) {
	ticker := time.NewTicker(c.srv.cfg.PingInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			ctx, cancel := context.WithTimeout(ctx, c.srv.cfg.PingTimeout)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				c.cancel(errPingUnanswered)
				return
			}
		}
	}
}

// sendNow writes one message directly, for the last words before a close
// and for the lobby, where no writer runs yet.
func (c *connection) sendNow(msg signal.Message) {
	data, err := signal.Encode(msg)
	if err != nil {
		c.log.Error("encode", "type", msg.Type(), "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	_ = c.ws.Write(ctx, websocket.MessageText, data)
}

// fail ends a connection that never joined (or never resumed), telling
// the client why.
func (c *connection) fail(err error) {
	var se *signal.Error
	if errors.As(err, &se) {
		c.srv.metrics.errors.WithLabelValues(string(se.Code)).Inc()
		c.sendNow(se)
		_ = c.ws.Close(closeStatus(se.Code), se.Message)
		return
	}
	if websocket.CloseStatus(err) != -1 || errors.Is(err, context.Canceled) || errors.Is(err, errLeft) {
		_ = c.ws.CloseNow()
		return
	}
	c.log.Warn("session failed before joining", "err", err)
	c.srv.metrics.errors.WithLabelValues(string(signal.CodeInternal)).Inc()
	c.sendNow(&signal.Error{Code: signal.CodeInternal, Message: "the server could not set up the session"})
	_ = c.ws.Close(websocket.StatusInternalError, "internal error")
}

// closeWith closes a joined session's socket with a status that says why.
func (c *connection) closeWith(cause error) {
	var se *signal.Error
	switch {
	case errors.As(cause, &se):
		c.sendNow(se)
		_ = c.ws.Close(closeStatus(se.Code), se.Message)
	case errors.Is(cause, errLeft), errors.Is(cause, errEnded):
		_ = c.ws.Close(websocket.StatusNormalClosure, "")
	case errors.Is(cause, errShutdown):
		_ = c.ws.Close(websocket.StatusGoingAway, "server shutting down")
	default:
		_ = c.ws.CloseNow()
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
