// Package client is a Go participant: it dials a room's server, joins,
// publishes tracks on one PeerConnection and receives everyone else's on
// another. The desktop app, `parley join` bots, the benchmark and the tests
// all use it.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"parley/backend/rtcconf"
	"parley/backend/signal"
)

// Options configure a Client.
type Options struct {
	Name     string
	Password string
	// Token is an invite token; empty: the invite link's t=, if any.
	Token string
	// Device is this app's hello.device: an id kept across meetings, so
	// that a host's removal holds (empty: none).
	Device string
	// OnWaiting is called when the room has a lobby and the server asks
	// a host to let us in: Dial then waits (bounded by its context) for
	// the host's answer. Tell the user "waiting for the host…".
	OnWaiting func()
	// RelayOnly sends all media through a TURN relay (ICE transport policy
	// "relay"): for networks where nothing else works, and for tests.
	RelayOnly bool
	// NoRelay leaves out the TURN servers the server hands out (STUN ones
	// stay): for tests proving that a path needs the relay.
	NoRelay bool
	// ExtraICEServers are used besides the ones the server hands out.
	ExtraICEServers []webrtc.ICEServer
	// ConnectTimeout bounds reaching the server and its first answer
	// (welcome, or waiting in a lobby); 0: only Dial's context. Waiting
	// in a lobby is bounded by the context alone.
	ConnectTimeout time.Duration
	// Insecure skips certificate verification altogether (--insecure).
	Insecure bool
	// Engine builds the PeerConnections; nil: a client engine from RTC.
	// Many clients in one process (the benchmark) share one.
	Engine *rtcconf.Engine
	RTC    rtcconf.Options
	Log    *slog.Logger
	// MaxReceiveBitrate caps the video we receive, all tracks together
	// (bits per second; 0: no cap): the SFU is told with REMB and lowers
	// what the publishers send. For a user's bad link. See also
	// SetMaxReceiveBitrate.
	MaxReceiveBitrate int
	// OnTrack is called for every remote track as its media arrives,
	// before its packets are read; set a sink on it there to see them.
	OnTrack func(*RemoteTrack)
}

// Client is one participant in one room.
type Client struct {
	opts       Options
	invite     Invite
	httpClient *http.Client
	engine     *rtcconf.Engine
	welcome    *signal.Welcome
	log        *slog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	events *eventQueue

	pub, sub *webrtc.PeerConnection
	// The worker and Publish negotiate while Close may run.
	pubGuard, subGuard rtcconf.CloseGuard
	nextID             atomic.Int64

	mu            sync.Mutex
	waiters       map[int64]chan signal.Message
	pubCandidates rtcconf.RemoteCandidates
	subCandidates rtcconf.RemoteCandidates
	tracks        map[trackKey]signal.Track // the room's published tracks
	remote        map[trackKey]*RemoteTrack
	gone          []TrackStats // the final figures of remote tracks that ended
	local         []*LocalTrack
	pubAnswer     chan error // the publish offer in flight, if any
	ended         signal.EndReason

	maxReceive atomic.Int64 // see Options.MaxReceiveBitrate

	pubMu   sync.Mutex // one publish negotiation at a time
	leaving atomic.Bool

	connMu sync.Mutex
	conn   *websocket.Conn // nil while reconnecting
	connUp chan struct{}   // closed when conn is set again
	// resumeToken is welcome.resumeToken: with it, a lost connection is
	// resumed rather than the end of the session.
	resumeToken string
	lastChatSeq int64 // under mu
}

type trackKey struct{ participant, track string }

// Dial connects to the room of an invite link and joins it.
func Dial(ctx context.Context, inviteURL string, opts Options) (*Client, error) {
	inv, err := ParseInvite(inviteURL)
	if err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	engine := opts.Engine
	if engine == nil {
		opts.RTC.Role = rtcconf.RoleClient
		if engine, err = rtcconf.NewEngine(opts.RTC); err != nil {
			return nil, fmt.Errorf("join %s: webrtc: %w", inv.Room, err)
		}
	}
	if opts.Token == "" {
		opts.Token = inv.Token
	}
	connectCtx, cancelConnect := ctx, context.CancelFunc(func() {})
	if opts.ConnectTimeout > 0 {
		connectCtx, cancelConnect = context.WithTimeout(ctx, opts.ConnectTimeout)
	}
	defer cancelConnect()
	httpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: inv.tlsConfig(opts.Insecure)}}
	conn, _, err := websocket.Dial(connectCtx, inv.WebSocketURL(), &websocket.DialOptions{HTTPClient: httpClient})
	if err != nil {
		if errors.Is(err, ErrIdentityChanged) {
			return nil, fmt.Errorf("join %s: %w", inv.Room, ErrIdentityChanged)
		}
		var unknownCA x509.UnknownAuthorityError
		var unverified *tls.CertificateVerificationError
		if errors.As(err, &unknownCA) || errors.As(err, &unverified) {
			return nil, fmt.Errorf("join %s: %w", inv.Room, ErrUntrusted)
		}
		return nil, &UnreachableError{URL: inv.WebSocketURL(), Err: err}
	}
	conn.SetReadLimit(signal.MaxServerMessageSize)
	c := &Client{
		opts:       opts,
		invite:     inv,
		httpClient: httpClient,
		conn:       conn,
		connUp:     make(chan struct{}),
		engine:     engine,
		log:        opts.Log.With("room", inv.Room),
		waiters:    make(map[int64]chan signal.Message),
		tracks:     make(map[trackKey]signal.Track),
		remote:     make(map[trackKey]*RemoteTrack),
	}
	if err := c.hello(ctx, connectCtx); err != nil {
		_ = conn.CloseNow()
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	if err := c.newPeerConnections(); err != nil {
		c.cancel(err)
		_ = conn.CloseNow()
		return nil, fmt.Errorf("join %s: %w", inv.Room, err)
	}
	c.resumeToken = c.welcome.ResumeToken
	for _, m := range c.welcome.Chat {
		c.lastChatSeq = max(c.lastChatSeq, m.Seq)
	}
	c.events = newEventQueue()
	c.wg.Add(3)
	go func() {
		defer c.wg.Done()
		c.readLoop()
	}()
	go func() {
		defer c.wg.Done()
		c.pingLoop()
	}()
	go func() {
		defer c.wg.Done()
		c.iceWatch()
	}()
	c.maxReceive.Store(int64(max(opts.MaxReceiveBitrate, 0)))
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.capReceiveLoop()
	}()
	return c, nil
}

// UnreachableError means the server could not be reached at all.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string { return fmt.Sprintf("cannot reach %s: %v", e.URL, e.Err) }
func (e *UnreachableError) Unwrap() error { return e.Err }

// hello sends hello and reads until welcome or a fatal error; the first
// answer must come within connectCtx, a lobby wait only within ctx.
func (c *Client) hello(ctx, connectCtx context.Context) error {
	err := c.writeMsg(connectCtx, &signal.Hello{ID: c.nextID.Add(1), Version: signal.ClientVersion,
		Room: c.invite.Room, Name: c.opts.Name, Password: c.opts.Password, Token: c.opts.Token, Device: c.opts.Device})
	if err != nil {
		return fmt.Errorf("join %s: send hello: %w", c.invite.Room, err)
	}
	readCtx := connectCtx
	for {
		_, data, err := c.conn.Read(readCtx)
		if err != nil {
			return fmt.Errorf("join %s: no welcome: %w", c.invite.Room, err)
		}
		msg, err := signal.DecodeServer(data)
		if err != nil {
			return fmt.Errorf("join %s: bad welcome: %w", c.invite.Room, err)
		}
		switch m := msg.(type) {
		case *signal.Welcome:
			c.welcome = m
			for _, t := range m.Tracks {
				c.tracks[trackKey{t.ParticipantID, t.ID}] = t
			}
			return nil
		case *signal.Waiting:
			c.log.Info("waiting for a host to let us in")
			readCtx = ctx
			if c.opts.OnWaiting != nil {
				c.opts.OnWaiting()
			}
		case *signal.Error:
			return fmt.Errorf("join %s: %w", c.invite.Room, m)
		case *signal.Ended:
			// The host ended the meeting, or its server stopped, while
			// we waited in its lobby.
			return fmt.Errorf("join %s: waiting to be let in: %w", c.invite.Room, &EndedError{Reason: m.Reason})
		default:
			return fmt.Errorf("join %s: server sent %s instead of welcome", c.invite.Room, msg.Type())
		}
	}
}

func (c *Client) newPeerConnections() error {
	var ice []webrtc.ICEServer
	for _, s := range c.welcome.ICEServers {
		if c.opts.NoRelay && slices.ContainsFunc(s.URLs, func(u string) bool { return strings.HasPrefix(u, "turn") }) {
			continue
		}
		ice = append(ice, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	ice = append(ice, c.opts.ExtraICEServers...)
	cfg := webrtc.Configuration{ICEServers: ice}
	if c.opts.RelayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pub, err := c.engine.NewPeerConnection(cfg)
	if err != nil {
		return fmt.Errorf("publish peer connection: %w", err)
	}
	sub, err := c.engine.NewPeerConnection(cfg)
	if err != nil {
		_ = pub.Close()
		return fmt.Errorf("subscribe peer connection: %w", err)
	}
	c.pub, c.sub = pub, sub
	pub.OnICECandidate(func(cand *webrtc.ICECandidate) { c.sendCandidate(signal.PCPublish, cand) })
	sub.OnICECandidate(func(cand *webrtc.ICECandidate) { c.sendCandidate(signal.PCSubscribe, cand) })
	sub.OnTrack(c.onTrack)
	return nil
}

// ID is this participant's id in the room.
func (c *Client) ID() string { return c.welcome.ParticipantID }

// Welcome is what the server told us on joining.
func (c *Client) Welcome() *signal.Welcome { return c.welcome }

// Events delivers room events in the order the server sent them: the
// signal messages (participant-joined, chat, …) and RemoteTrack arrivals.
// It is closed when the client is closed.
func (c *Client) Events() <-chan Event { return c.events.out }

// Done is closed when the session is over: left, ended, or the
// connection was lost. Err then says which.
func (c *Client) Done() <-chan struct{} { return c.ctx.Done() }

// Err is why the session ended, nil while it runs.
func (c *Client) Err() error { return context.Cause(c.ctx) }

// EndedError is the server ending the session (host ended the meeting,
// removed us, or shut down).
type EndedError struct{ Reason signal.EndReason }

func (e *EndedError) Error() string { return "the meeting ended: " + string(e.Reason) }

// ErrLeft is the session's end after Leave.
var ErrLeft = errors.New("left the meeting")

// writeMsg writes msg on the current connection; while reconnecting it
// waits for the resumed one (bounded by ctx and the session).
func (c *Client) writeMsg(ctx context.Context, msg signal.Message) error {
	data, err := signal.Encode(msg)
	if err != nil {
		return err
	}
	conn, err := c.waitConn(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, data)
}

func (c *Client) currentConn() *websocket.Conn {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	return c.conn
}

// setConn installs conn (nil: reconnecting) and wakes writers waiting
// for a connection.
func (c *Client) setConn(conn *websocket.Conn) {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	c.conn = conn
	if conn != nil {
		close(c.connUp)
	} else {
		c.connUp = make(chan struct{})
	}
}

func (c *Client) waitConn(ctx context.Context) (*websocket.Conn, error) {
	for {
		c.connMu.Lock()
		conn, up := c.conn, c.connUp
		c.connMu.Unlock()
		if conn != nil {
			return conn, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.ctx.Done():
			return nil, context.Cause(c.ctx)
		}
	}
}

// send writes a message for the session; errors end the session.
func (c *Client) send(msg signal.Message) error {
	if err := c.writeMsg(c.ctx, msg); err != nil {
		if c.ctx.Err() != nil {
			return context.Cause(c.ctx)
		}
		return fmt.Errorf("send %s: %w", msg.Type(), err)
	}
	return nil
}

// request sends msg with a fresh id and waits for the reply that echoes it
// (the event the request caused, or an error).
func (c *Client) request(ctx context.Context, build func(id int64) signal.Message) (signal.Message, error) {
	id := c.nextID.Add(1)
	ch := make(chan signal.Message, 1)
	c.mu.Lock()
	c.waiters[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, id)
		c.mu.Unlock()
	}()
	msg := build(id)
	if err := c.send(msg); err != nil {
		return nil, err
	}
	select {
	case reply := <-ch:
		if e, ok := reply.(*signal.Error); ok {
			return nil, e
		}
		return reply, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", msg.Type(), ctx.Err())
	case <-c.ctx.Done():
		return nil, context.Cause(c.ctx)
	}
}

// SendChat posts a chat message to the room.
func (c *Client) SendChat(text string) error {
	return c.send(&signal.Chat{ID: c.nextID.Add(1), Text: text})
}

// SetMuted changes one of our tracks' muted state for the room. Muting a
// track also stops its media (a LocalTrack's Muted reports it to the source).
func (c *Client) SetMuted(trackID string, muted bool) error {
	c.mu.Lock()
	for _, lt := range c.local {
		if lt.id == trackID {
			lt.muted.Store(muted)
		}
	}
	c.mu.Unlock()
	return c.send(&signal.Mute{ID: c.nextID.Add(1), TrackID: trackID, Muted: muted})
}

// Leave tells the room we leave and closes everything.
func (c *Client) Leave() error {
	c.leaving.Store(true)
	if c.currentConn() == nil {
		// Reconnecting: no goodbye can be sent, and waiting for the
		// resume would hold the user back. The server reports us gone
		// when its resume window passes.
		c.closeWith(ErrLeft, 0)
		return nil
	}
	err := c.send(&signal.Leave{})
	c.closeWith(ErrLeft, websocket.StatusNormalClosure)
	if errors.Is(err, ErrLeft) {
		err = nil
	}
	return err
}

// Close drops the connection without a goodbye (others see us "gone" once
// the server notices) and releases everything.
func (c *Client) Close() error {
	c.closeWith(errors.New("closed"), 0)
	return nil
}

func (c *Client) closeWith(cause error, status websocket.StatusCode) {
	c.cancel(cause)
	switch conn := c.currentConn(); {
	case conn == nil:
	case status == 0:
		_ = conn.CloseNow()
	default:
		_ = conn.Close(status, "")
	}
	_ = c.pubGuard.Close(c.pub)
	_ = c.subGuard.Close(c.sub)
	c.wg.Wait()
	c.events.close()
}

// EndMeeting ends the meeting for everyone (hosts only).
func (c *Client) EndMeeting() error {
	return c.send(&signal.End{ID: c.nextID.Add(1)})
}

// SetLocked locks or unlocks the room to new joiners (hosts only); it
// returns once the server applied it.
func (c *Client) SetLocked(ctx context.Context, locked bool) error {
	_, err := c.request(ctx, func(id int64) signal.Message { return &signal.Lock{ID: id, Locked: locked} })
	return err
}

// Admit lets a participant knocking in the lobby in (hosts only); the
// knock id comes from a knock event or Welcome().Knocks.
func (c *Client) Admit(ctx context.Context, knockID string) error {
	_, err := c.request(ctx, func(id int64) signal.Message { return &signal.Admit{ID: id, KnockID: knockID} })
	return err
}

// Deny turns a participant knocking in the lobby away (hosts only).
func (c *Client) Deny(ctx context.Context, knockID string) error {
	_, err := c.request(ctx, func(id int64) signal.Message { return &signal.Deny{ID: id, KnockID: knockID} })
	return err
}

// MuteParticipant mutes another participant's track (hosts only). They
// are told (a mute event with By set) and may unmute themselves.
func (c *Client) MuteParticipant(ctx context.Context, participantID, trackID string) error {
	_, err := c.request(ctx, func(id int64) signal.Message {
		return &signal.Mute{ID: id, ParticipantID: participantID, TrackID: trackID, Muted: true}
	})
	return err
}

// Forwarding is how much of another participant's track the server
// sends us.
type Forwarding int

const (
	// ForwardAll: everything (a track starts so, also when published again).
	ForwardAll Forwarding = iota
	// ForwardReference: only the video frames that later frames refer to,
	// for a tile drawn small (half a Parley desktop camera's frames; all of
	// a sender that marks none).
	ForwardReference
	// ForwardNone: nothing, for video we do not show; the track stays
	// subscribed, and resumes from a keyframe.
	ForwardNone
)

// SetForwarding sets how much of another participant's track the server
// sends us, without unsubscribing. The server does not answer; a track
// that has ended meanwhile is no error.
func (c *Client) SetForwarding(participantID, trackID string, f Forwarding) error {
	return c.send(&signal.Pause{ID: c.nextID.Add(1), ParticipantID: participantID, TrackID: trackID,
		Paused: f == ForwardNone, ReferenceOnly: f == ForwardReference})
}

// Remove takes a participant out of the meeting (hosts only).
func (c *Client) Remove(ctx context.Context, participantID string) error {
	_, err := c.request(ctx, func(id int64) signal.Message {
		return &signal.Remove{ID: id, ParticipantID: participantID}
	})
	return err
}

// TargetBitrate is the congestion controller's estimate of our uplink to
// the server (bits per second, all our tracks together; GCC over TWCC
// feedback); ok is false when estimation is off. It follows what we
// send: a source that sends little (a still screen) lowers it.
func (c *Client) TargetBitrate() (bps int, ok bool) {
	return c.engine.TargetBitrate(c.pub)
}

// Candidate describes our local candidate in a PeerConnection's
// nominated ICE pair.
type Candidate struct {
	// Type is "host", "srflx", "prflx" or "relay".
	Type string `json:"type"`
	// RelayProtocol is how a relay candidate reaches its TURN server
	// ("udp", "tcp" or "tls"); empty for other types.
	RelayProtocol string `json:"relayProtocol,omitempty"`
	// Family is the candidate address's, "IPv4" or "IPv6": pion pairs
	// candidates of both, and a path that moved from one to the other
	// looks the same by type alone.
	Family string `json:"family,omitempty"`
}

// SelectedCandidates reports, per PeerConnection, our local candidate in
// the nominated ICE pair; a PeerConnection without one is left out.
func (c *Client) SelectedCandidates() map[signal.PC]Candidate {
	out := make(map[signal.PC]Candidate)
	for pc, peer := range map[signal.PC]*webrtc.PeerConnection{signal.PCPublish: c.pub, signal.PCSubscribe: c.sub} {
		stats := peer.GetStats()
		for _, st := range stats {
			pair, ok := st.(webrtc.ICECandidatePairStats)
			if !ok || !pair.Nominated || pair.State != webrtc.StatsICECandidatePairStateSucceeded {
				continue
			}
			if local, ok := stats[pair.LocalCandidateID].(webrtc.ICECandidateStats); ok {
				out[pc] = Candidate{Type: local.CandidateType.String(), RelayProtocol: local.RelayProtocol, Family: addressFamily(local.IP)}
			}
		}
	}
	return out
}

// addressFamily names the family of ip ("" if it is no address).
func addressFamily(ip string) string {
	addr, err := netip.ParseAddr(ip)
	switch {
	case err != nil:
		return ""
	case addr.Unmap().Is4():
		return "IPv4"
	default:
		return "IPv6"
	}
}
