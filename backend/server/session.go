package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"parley/backend/rtcconf"
	"parley/backend/sfu"
	"parley/backend/signal"
)

// outQueue bounds what a slow client may owe us: past it the client is
// cut off rather than slowing the room's broadcasts or growing memory.
const outQueue = 512

// session is one participant: its place in the room and its two
// PeerConnections. It outlives its connection when the connection drops:
// a version 2 client may resume it within Config.ResumeWindow.
type session struct {
	srv *Server
	log *slog.Logger

	// ctx is the participant's life: cancelled when they leave, are
	// removed, the meeting ends or the server stops.
	ctx    context.Context
	cancel context.CancelCauseFunc

	connMu sync.Mutex
	conn   *connection // nil while the participant is reconnecting

	// Set once joined.
	id          string
	name        string
	device      string // hello.device
	version     int
	room        *liveRoom
	pub         *webrtc.PeerConnection
	sub         *webrtc.PeerConnection
	resumeToken string
	// resumeCh hands a resuming connection to the session's loop.
	resumeCh chan *connection

	mu            sync.Mutex
	leaveReason   signal.LeaveReason
	resumeClosed  bool                     // the session is ending: no more resumes
	pubCandidates rtcconf.RemoteCandidates // before the publish offer
	subCandidates rtcconf.RemoteCandidates // before the subscribe answer
	// Other sessions' goroutines renegotiate sub while leave may run.
	pubGuard, subGuard rtcconf.CloseGuard

	negMu       sync.Mutex
	negotiating bool // an offer is out, waiting for the answer
	negPending  bool // tracks changed meanwhile: offer again after it
	negRestart  bool // the next offer restarts ICE
}

var (
	errSlowClient = errors.New("client does not read its messages")
	// errReplaced: the client resumed on a new connection before this
	// server noticed the old one was dead.
	errReplaced = errors.New("replaced by a resumed connection")
)

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.cfg.Log.Debug("websocket accept", "err", err)
		return
	}
	// A little above the protocol's limit, so that an oversized message
	// reaches signal.Decode and gets a proper too-large error.
	ws.SetReadLimit(2 * signal.MaxMessageSize)
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip = host
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	c := &connection{
		srv:      s,
		ws:       ws,
		log:      s.cfg.Log.With("remote", r.RemoteAddr),
		ctx:      ctx,
		cancel:   cancel,
		out:      make(chan []byte, outQueue),
		frames:   make(chan frame),
		remoteIP: ip,
		limiter:  rate.NewLimiter(rate.Limit(s.cfg.MessageRate), s.cfg.MessageBurst),
		released: make(chan struct{}),
	}
	s.metrics.sessions.Inc()
	s.wg.Add(1)
	defer s.wg.Done()
	var reader sync.WaitGroup
	defer func() {
		c.cancel(nil)
		reader.Wait()
	}()
	reader.Add(1)
	go func() {
		defer reader.Done()
		c.readFrames()
	}()

	hello, err := c.readHello()
	if err != nil {
		c.fail(err)
		return
	}
	if hello.Resume != "" {
		s.resume(c, hello)
		return
	}
	sctx, scancel := context.WithCancelCause(s.ctx)
	sess := &session{srv: s, log: c.log, ctx: sctx, cancel: scancel, conn: c, resumeCh: make(chan *connection, 1)}
	sess.run(c, hello)
}

func (sess *session) run(c *connection, hello *signal.Hello) {
	defer sess.cancel(nil)
	if err := sess.join(hello); err != nil {
		c.fail(err)
		return
	}
	defer sess.leave()
	for first := true; c != nil; first = false {
		err := sess.serve(c, first)
		if !sess.canResume(err) {
			sess.cancel(err)
			c.closeWith(err)
			close(c.released)
			return
		}
		sess.log.Info("connection lost; keeping the session for a resume", "err", err)
		_ = c.ws.CloseNow()
		close(c.released)
		c = sess.waitResume(sess.srv.resumeWindow(err))
	}
}

// serve runs the meeting on connection c until it ends, and returns why.
func (sess *session) serve(c *connection, first bool) error {
	// The loops stop with serve, but the socket stays open: the caller
	// may still send its last words and close it properly.
	loopCtx, stopLoops := context.WithCancel(c.ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.writeLoop(loopCtx) }()
	go func() { defer wg.Done(); c.pingLoop(loopCtx) }()
	if first {
		sess.subscribeToExisting()
	} else {
		sess.resendSubscribeOffer()
	}
	err := sess.readLoop(c)
	// Detached under the room's lock, so that every broadcast either
	// reached this connection or will be in the resumed welcome's state.
	lr := sess.room
	lr.mu.Lock()
	sess.setConn(nil)
	lr.mu.Unlock()
	stopLoops()
	wg.Wait()
	return err
}

func (sess *session) currentConn() *connection {
	sess.connMu.Lock()
	defer sess.connMu.Unlock()
	return sess.conn
}

func (sess *session) setConn(c *connection) {
	sess.connMu.Lock()
	defer sess.connMu.Unlock()
	sess.conn = c
}

// queue sends to the current connection; while the participant is
// reconnecting, messages are dropped: the resumed welcome carries the
// state they would have changed.
func (sess *session) queue(data []byte) {
	if c := sess.currentConn(); c != nil {
		c.queue(data)
	}
}

func (sess *session) queueMsg(msg signal.Message) {
	if c := sess.currentConn(); c != nil {
		c.queueMsg(msg)
	}
}

func (sess *session) sendNow(msg signal.Message) {
	if c := sess.currentConn(); c != nil {
		c.sendNow(msg)
	}
}

// join enters the room, sets up both PeerConnections and sends welcome.
func (sess *session) join(hello *signal.Hello) error {
	s := sess.srv
	sess.version = hello.Version
	lr, err := s.roomFor(hello.Room)
	if err != nil {
		return withID(err, hello.ID)
	}
	opts, release, err := sess.access(lr, hello)
	if err != nil {
		return withID(err, hello.ID)
	}
	// A device a host removed knocks, whatever let it in before (even a
	// guest invite token); the host sees that it was removed.
	removed := lr.wasRemoved(hello.Device)
	if !opts.Host && (removed || lr.state.Lobby() && !opts.Admitted) {
		if err := sess.knock(lr, hello, removed); err != nil {
			release()
			return withID(err, hello.ID)
		}
		opts.Admitted = true
	}
	lr.mu.Lock()
	p, snap, err := lr.state.Join(hello.Name, hello.Password, opts, time.Now())
	if err != nil {
		lr.mu.Unlock()
		release()
		return withID(err, hello.ID)
	}
	sess.id, sess.name, sess.room, sess.device = p.ID, p.Name, lr, hello.Device
	sess.log = sess.log.With("room", hello.Room, "participant", p.ID)
	if err := sess.newPeerConnections(); err != nil {
		_, _ = lr.state.Leave(p.ID, time.Now())
		lr.mu.Unlock()
		return fmt.Errorf("join %s: %w", hello.Room, err)
	}
	welcome := snap.Welcome(p.ID, s.iceServersFor(lr.state.Name()))
	welcome.ID = hello.ID
	welcome.Version = sess.version
	lr.markReconnectingLocked(welcome)
	if sess.version >= 2 {
		if p.Role == signal.RoleHost {
			welcome.Knocks = lr.knockListLocked()
		}
		sess.resumeToken = s.registerResumable(sess)
		welcome.ResumeToken = sess.resumeToken
	}
	// The welcome goes first in this session's queue, and the join event
	// to the others under the same lock, so nobody sees events out of order.
	sess.queueMsg(welcome)
	lr.broadcastLocked(&signal.ParticipantJoined{Participant: p.Participant}, p.ID)
	lr.sessions[p.ID] = sess
	count, locked := lr.state.Len(), lr.state.Locked()
	lr.mu.Unlock()
	s.metrics.joins.Inc()
	s.emit(Event{Type: "join", Room: hello.Room, ParticipantID: p.ID, Name: p.Name, Participants: count, Locked: locked})
	sess.log.Info("joined", "name", p.Name, "role", p.Role)
	return nil
}

func withID(err error, id int64) error {
	var se *signal.Error
	if errors.As(err, &se) && se.ID == 0 {
		cp := *se
		cp.ID = id
		return &cp
	}
	return err
}

func (sess *session) newPeerConnections() error {
	cfg := webrtc.Configuration{ICEServers: sess.srv.pionICEServers()}
	pub, err := sess.srv.engine.NewPeerConnection(cfg)
	if err != nil {
		return fmt.Errorf("publish peer connection: %w", err)
	}
	sub, err := sess.srv.engine.NewPeerConnection(cfg)
	if err != nil {
		_ = pub.Close()
		return fmt.Errorf("subscribe peer connection: %w", err)
	}
	sess.pub, sess.sub = pub, sub
	pub.OnICECandidate(func(c *webrtc.ICECandidate) { sess.sendCandidate(signal.PCPublish, c) })
	sub.OnICECandidate(func(c *webrtc.ICECandidate) { sess.sendCandidate(signal.PCSubscribe, c) })
	pub.OnTrack(sess.onTrack)
	return nil
}

func (sess *session) sendCandidate(pc signal.PC, c *webrtc.ICECandidate) {
	msg := &signal.Candidate{PC: pc}
	if c != nil {
		init := c.ToJSON()
		msg.Candidate = &signal.ICECandidate{
			Candidate:        init.Candidate,
			SDPMid:           init.SDPMid,
			SDPMLineIndex:    init.SDPMLineIndex,
			UsernameFragment: init.UsernameFragment,
		}
	}
	sess.queueMsg(msg)
}

// onTrack starts forwarding a track the participant sends.
func (sess *session) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	lr := sess.room
	trackID := track.ID()
	kind := sfu.KindVideo
	if track.Kind() == webrtc.RTPCodecTypeAudio {
		kind = sfu.KindAudio
	}
	lr.mu.Lock()
	announced := false
	for _, t := range lr.state.Snapshot().Tracks {
		if t.ParticipantID == sess.id && t.ID == trackID {
			kind, announced = sfu.TrackKind(t.Kind), true
			break
		}
	}
	if !announced {
		// A client that skips publish still gets its media through, as
		// the kind its codec says.
		t, err := lr.state.AddTrack(sess.id, signal.Track{ID: trackID, Kind: signal.Kind(kind)})
		if err != nil {
			lr.mu.Unlock()
			sess.log.Warn("unannounced track refused", "track", trackID, "err", err)
			sess.queueMsg(signal.AsError(err, 0))
			return
		}
		lr.broadcastLocked(&signal.TrackPublished{Track: t}, "")
	}
	lr.mu.Unlock()

	pt, err := lr.media.AddPublisherTrack(sess.id, trackID, kind, track, receiver)
	if err != nil {
		sess.log.Warn("forward track", "track", trackID, "err", err)
		return
	}
	sess.log.Info("track arrived", "track", trackID, "kind", kind, "codec", track.Codec().MimeType)
	for _, other := range lr.others(sess.id) {
		if other.subscribe(pt) {
			other.negotiate()
		}
	}
}

// subscribe forwards a published track to this session; the caller
// renegotiates if it reports true.
func (sess *session) subscribe(pt publishedTrack) bool {
	err := sess.room.media.Subscribe(pt, sess.id, sess.sub)
	switch {
	case err == nil, errors.Is(err, errAlreadySubscribed), sess.ctx.Err() != nil:
	case errors.Is(err, sfu.ErrClosed):
		// The publisher left while its track was being handed round.
		sess.log.Debug("subscribe to a track that ended", "track", pt.TrackID(), "from", pt.ParticipantID())
	default:
		sess.log.Warn("subscribe", "track", pt.TrackID(), "from", pt.ParticipantID(), "err", err)
	}
	return err == nil
}

func (sess *session) subscribeToExisting() {
	added := false
	for _, pt := range sess.room.media.Published() {
		if pt.ParticipantID() != sess.id && sess.subscribe(pt) {
			added = true
		}
	}
	if added {
		sess.negotiate()
	}
}

// negotiate sends a subscribe offer, or, if one is already out, makes sure
// another follows its answer. Offers never overlap, so there is no glare.
func (sess *session) negotiate() {
	if len(sess.sub.GetTransceivers()) == 0 {
		return // nothing was ever subscribed: there is nothing to offer
	}
	sess.negMu.Lock()
	if sess.negotiating {
		sess.negPending = true
		sess.negMu.Unlock()
		return
	}
	sess.negotiating = true
	sess.negMu.Unlock()
	sess.sendOffer()
}

func (sess *session) sendOffer() {
	if sess.ctx.Err() != nil {
		return
	}
	sess.negMu.Lock()
	restart := sess.negRestart
	sess.negRestart = false
	sess.negMu.Unlock()
	offer, err := sess.subGuard.Offer(sess.sub, &webrtc.OfferOptions{ICERestart: restart})
	if err != nil {
		if sess.ctx.Err() == nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
			sess.log.Error("subscribe offer", "err", err)
		}
		sess.cancel(fmt.Errorf("subscribe offer: %w", err))
		return
	}
	sess.queueMsg(&signal.Offer{PC: signal.PCSubscribe, SDP: offer})
}

func (sess *session) onSubscribeAnswer(m *signal.Answer) error {
	if err := sess.subGuard.Accept(sess.sub, m.SDP, &sess.subCandidates); err != nil {
		return &signal.Error{ID: m.ID, Code: signal.CodeBadRequest, Message: "subscribe answer: " + err.Error()}
	}
	sess.negMu.Lock()
	again := sess.negPending
	sess.negPending = false
	sess.negotiating = again
	sess.negMu.Unlock()
	if again {
		sess.sendOffer()
	}
	return nil
}

func (sess *session) onPublishOffer(m *signal.Offer) error {
	answer, err := sess.pubGuard.Answer(sess.pub, m.SDP, &sess.pubCandidates)
	if err != nil {
		return &signal.Error{ID: m.ID, Code: signal.CodeBadRequest, Message: "publish " + err.Error()}
	}
	sess.queueMsg(&signal.Answer{ID: m.ID, PC: signal.PCPublish, SDP: answer})
	return nil
}

func (sess *session) onCandidate(m *signal.Candidate) error {
	pc, candidates, guard := sess.pub, &sess.pubCandidates, &sess.pubGuard
	if m.PC == signal.PCSubscribe {
		pc, candidates, guard = sess.sub, &sess.subCandidates, &sess.subGuard
	}
	if err := guard.Do(func() error { return candidates.Add(pc, m.Candidate) }); err != nil {
		return &signal.Error{ID: m.ID, Code: signal.CodeBadRequest, Message: "candidate: " + err.Error()}
	}
	return nil
}

// trackEnded is the SFU telling us a published track stopped by itself.
func (sess *session) trackEnded(trackID string) {
	lr := sess.room
	lr.mu.Lock()
	t, err := lr.state.RemoveTrack(sess.id, trackID)
	if err == nil {
		lr.broadcastLocked(&signal.TrackUnpublished{TrackID: t.ID, ParticipantID: sess.id}, "")
	}
	lr.mu.Unlock()
	for _, other := range lr.others(sess.id) {
		other.negotiate()
	}
}

// leave takes the participant out of the room and tears down its media.
func (sess *session) leave() {
	lr := sess.room
	s := sess.srv
	sess.closeResume()
	sess.mu.Lock()
	reason := sess.leaveReason
	sess.mu.Unlock()
	if reason == "" {
		reason = signal.ReasonGone
	}
	lr.mu.Lock()
	delete(lr.sessions, sess.id)
	dep, err := lr.state.Leave(sess.id, time.Now())
	count, locked := lr.state.Len(), lr.state.Locked() && !lr.state.Ended()
	if err == nil {
		lr.broadcastLocked(&signal.ParticipantLeft{ParticipantID: sess.id, Reason: reason}, "")
		for _, p := range dep.Promoted {
			lr.broadcastLocked(&signal.ParticipantUpdated{Participant: p.Participant}, "")
		}
	}
	lr.mu.Unlock()

	lr.media.RemoveParticipant(sess.id)
	for _, other := range lr.others(sess.id) {
		other.negotiate()
	}
	if err := sess.pubGuard.Close(sess.pub); err != nil {
		sess.log.Debug("close publish pc", "err", err)
	}
	if err := sess.subGuard.Close(sess.sub); err != nil {
		sess.log.Debug("close subscribe pc", "err", err)
	}
	s.metrics.leaves.WithLabelValues(string(reason)).Inc()
	s.emit(Event{Type: "leave", Room: lr.state.Name(), ParticipantID: sess.id, Name: sess.name, Reason: reason, Participants: count, Locked: locked})
	sess.log.Info("left", "reason", reason)
}

func (sess *session) setLeaveReason(r signal.LeaveReason) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.leaveReason == "" {
		sess.leaveReason = r
	}
}
