// Package server is Parley's front door and session layer: HTTPS with the
// signaling WebSocket, the frontend for browser guests, metrics, and the
// glue between the protocol (signal), room state (room) and media (sfu).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"parley/backend/rtcconf"
	"parley/backend/signal"
)

// Config configures a Server. Zero durations and rates get defaults.
type Config struct {
	// Addr is the TCP address to listen on; port 0 picks a free one.
	Addr string
	// Assets is the built frontend (frontend/dist).
	Assets fs.FS
	Log    *slog.Logger

	// Certificate for HTTPS; nil serves plain HTTP (loopback tests only:
	// browsers refuse cameras on plain HTTP pages off localhost).
	Certificate *tls.Certificate
	// CASigned says Certificate chains to a certificate authority (see
	// ChainsToCA): invite links then carry no fingerprint, so that they
	// survive the certificate's renewal.
	CASigned bool
	// AdvertiseHost is the host name or IP put into invite links; empty:
	// the listen address, or this machine's first LAN address when
	// listening on all interfaces.
	AdvertiseHost string

	Rooms []RoomConfig
	// OpenRooms lets a join create a room of any valid name.
	OpenRooms bool
	// MaxRooms bounds rooms alive at once [100]; negative: no bound. A
	// hello that would open one more fails with rate-limited.
	MaxRooms int
	// RoomLimit is the participant limit of rooms whose RoomConfig has
	// none, and of open rooms [room.DefaultLimit]; over it, room-full.
	RoomLimit int
	// RoomMaxBitrate caps each video track's bitrate in rooms whose
	// RoomConfig has no cap (bits per second; 0: none).
	RoomMaxBitrate int
	// MaxTracks bounds tracks per participant [room.DefaultMaxTracks];
	// over it, publish fails with denied.
	MaxTracks int
	// MaxChatRunes bounds one chat message [signal.MaxChatRunes, also the
	// most it can be]; over it, chat fails with bad-request.
	MaxChatRunes int

	// PasswordAttempts wrong passwords from one address [5] make it wait
	// PasswordLockout [30s]; hellos meanwhile fail with rate-limited.
	PasswordAttempts int
	PasswordLockout  time.Duration
	// TokenSecret signs invite tokens (at least 16 bytes; see
	// LoadOrCreateTokenSecret); nil: a random secret, so tokens are valid
	// until the server stops.
	TokenSecret []byte
	// ResumeWindow is how long a version 2 participant whose connection
	// dropped keeps their place, waiting for a resume [30s].
	ResumeWindow time.Duration
	// VanishedWindow replaces ResumeWindow for a connection its client's
	// side closed without a goodbye (the process died) [3s].
	VanishedWindow time.Duration
	// LobbyTimeout is how long a joiner waits in a lobby before being
	// turned away [5m].
	LobbyTimeout time.Duration
	// Grace is how long an empty room lives (0: room.DefaultGrace).
	Grace time.Duration

	// RTC configures the SFU's PeerConnections (ports, interfaces).
	RTC rtcconf.Options
	// ICEServers are external STUN/TURN servers handed to clients (and
	// used by the SFU's own PeerConnections).
	ICEServers []signal.ICEServer
	// TURN runs the embedded TURN relay; nil: none.
	TURN *TURNConfig

	// SubscriberBWE runs a send-side bandwidth estimator (GCC over TWCC)
	// for every subscriber, capping what publishers send by the slowest
	// downlink even for subscribers that send no REMB.
	SubscriberBWE bool

	// BareRelay replaces the SFU with a bare pion relay: the floor the
	// benchmark measures the SFU against, not for meetings.
	BareRelay bool

	// OnEvent, when set, hears of joins, leaves and locks (for `parley
	// serve`'s output and LAN listings; see Event). It runs on session
	// goroutines: return quickly.
	OnEvent func(Event)

	HelloTimeout time.Duration // [10s]
	// A vanished process closes its socket and is gone at once; pings
	// find connections that died silently (a cut network) within
	// PingInterval + PingTimeout, and are lenient enough for a busy laptop.
	PingInterval  time.Duration // [3s]
	PingTimeout   time.Duration // [6s]
	SweepInterval time.Duration // [1s]
	MessageRate   float64       // client messages per second [50]
	MessageBurst  int           // [200]
}

func (c *Config) setDefaults() {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setDur(&c.HelloTimeout, 10*time.Second)
	setDur(&c.PingInterval, 3*time.Second)
	setDur(&c.PingTimeout, 6*time.Second)
	setDur(&c.SweepInterval, time.Second)
	if c.MessageRate <= 0 {
		c.MessageRate = 50
	}
	if c.MessageBurst <= 0 {
		c.MessageBurst = 200
	}
	if c.MaxRooms == 0 {
		c.MaxRooms = 100
	}
	if c.PasswordAttempts <= 0 {
		c.PasswordAttempts = 5
	}
	setDur(&c.PasswordLockout, 30*time.Second)
	setDur(&c.LobbyTimeout, 5*time.Minute)
	setDur(&c.ResumeWindow, 30*time.Second)
	setDur(&c.VanishedWindow, 3*time.Second)
	c.RTC.Role = rtcconf.RoleSFU
	// Send-side estimation per subscriber costs a third of the SFU's CPU
	// per forwarded packet (testing/bench/RESULTS.md) and misreads a busy
	// host as congestion; publishers still adapt to their own uplink
	// (TWCC feedback) and to the REMB their subscribers send.
	c.RTC.DisableBandwidthEstimation = !c.SubscriberBWE
	if c.BareRelay {
		c.RTC.Role = rtcconf.RolePlainRelay
	}
}

// Event is a change in a room that those outside it may show (a LAN
// listing, serve's output), reported to Config.OnEvent:
//
//   - "join" and "leave": ParticipantID and Name are who came or went;
//   - "lock": host ParticipantID (Name) locked or unlocked the room;
//   - "close": an empty room was forgotten after its grace period, so a
//     lock it had is gone and the next join starts a fresh meeting.
//
// Events run on the goroutines that made the change, after it, and may
// reach OnEvent out of order: to show a room's state, read RoomState
// when an event comes rather than keeping the last event's fields.
type Event struct {
	Type          string // "join", "leave", "lock" or "close"
	Room          string
	ParticipantID string
	Name          string
	Reason        signal.LeaveReason // for leaves
	Participants  int                // in the room after the event
	Locked        bool               // after the event
}

// RoomState is what a room's listing shows that changes during a
// meeting.
type RoomState struct {
	Participants int
	// Locked: joiners are refused (the host locked the meeting).
	Locked bool
}

// RoomState is room's state now. A room that is not live, or whose
// meeting the host ended, is empty and unlocked: the next join starts a
// fresh meeting.
func (s *Server) RoomState(room string) RoomState {
	s.mu.Lock()
	lr := s.live[room]
	s.mu.Unlock()
	if lr == nil || lr.state.Ended() {
		return RoomState{}
	}
	return RoomState{Participants: lr.state.Len(), Locked: lr.state.Locked()}
}

func (s *Server) emit(ev Event) {
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(ev)
	}
}

// Server hosts rooms. Create with New, start with Listen, stop with Shutdown.
type Server struct {
	cfg     Config
	engine  *rtcconf.Engine
	http    *http.Server
	ln      net.Listener
	metrics *metrics
	tokens  *tokens
	turn    *turnRelay // nil without Config.TURN
	// attempts counts wrong passwords per remote address.
	attempts *attempts

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // sessions and the sweeper

	// Lock order: mu before any liveRoom's mu; resumeMu is taken alone
	// (a join registers its resume token with its room locked).
	mu      sync.Mutex
	live    map[string]*liveRoom
	closing bool

	resumeMu sync.Mutex
	// resumable maps resume tokens to their sessions.
	resumable map[string]*session
}

// New checks the configuration and builds the server; it does not listen.
func New(cfg Config) (*Server, error) {
	if cfg.Assets == nil {
		return nil, errors.New("server: no frontend assets")
	}
	if _, err := fs.Stat(cfg.Assets, "index.html"); err != nil {
		return nil, fmt.Errorf("server: frontend assets have no index.html (run make build): %w", err)
	}
	for _, rc := range cfg.Rooms {
		if err := signal.ValidateRoomName(rc.Name); err != nil {
			return nil, fmt.Errorf("server: room %q: %w", rc.Name, err)
		}
	}
	cfg.setDefaults()
	toks, err := newTokens(cfg.TokenSecret)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	engine, err := rtcconf.NewEngine(cfg.RTC)
	if err != nil {
		return nil, fmt.Errorf("server: webrtc: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:    cfg,
		engine: engine,
		ctx:    ctx,
		cancel: cancel,
		live:   make(map[string]*liveRoom),
		tokens: toks,

		resumable: make(map[string]*session),

		attempts: newAttempts(cfg.PasswordAttempts, cfg.PasswordLockout),
	}
	s.metrics = newMetrics(s)
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug),
	}
	if cfg.Certificate != nil {
		s.http.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{*cfg.Certificate},
			MinVersion:   tls.VersionTLS12,
		}
	}
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /ws", s.handleWS)
	// A guest's invite link points at /r/ROOM: the page is the same app,
	// which reads the room from its own URL.
	mux.HandleFunc("GET /r/{room}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, s.cfg.Assets, "index.html")
	})
	mux.Handle("GET /", http.FileServerFS(s.cfg.Assets))
	return mux
}

// Listen binds the address and serves in the background until Shutdown.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	if s.cfg.TURN != nil {
		relay, err := s.startTURN(*s.cfg.TURN)
		if err != nil {
			_ = ln.Close()
			return err
		}
		s.turn = relay
	}
	if s.http.TLSConfig != nil {
		ln = tls.NewListener(ln, s.http.TLSConfig)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.sweep(s.ctx)
	}()
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Fingerprint is the SHA-256 fingerprint of the server's certificate, ""
// without TLS.
func (s *Server) Fingerprint() string {
	if s.cfg.Certificate == nil || len(s.cfg.Certificate.Certificate) == 0 {
		return ""
	}
	return Fingerprint(s.cfg.Certificate.Certificate[0])
}

// Port is the TCP port the server listens on.
func (s *Server) Port() int {
	return s.ln.Addr().(*net.TCPAddr).Port
}

// URL is the base URL the server can be reached at.
func (s *Server) URL() string {
	scheme := "http"
	if s.cfg.Certificate != nil {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(s.advertiseHost(), strconv.Itoa(s.Port())) + "/"
}

// RoomPath is room's path on the server, as links carry it: the name is
// percent-escaped ("/r/Caf%C3%A9-sync"). A LAN listing advertises this
// form (discovery.Room.Path), so that its link is the invite link.
func RoomPath(room string) string {
	return "/r/" + url.PathEscape(room)
}

// InviteURL is the link that joins room: it carries the fingerprint of a
// self-signed certificate in its fragment, which never reaches any server.
func (s *Server) InviteURL(room string) string {
	u := strings.TrimSuffix(s.URL(), "/") + RoomPath(room)
	if fp := s.Fingerprint(); fp != "" && !s.cfg.CASigned {
		u += "#fp=" + fp
	}
	return u
}

func (s *Server) advertiseHost() string {
	if s.cfg.AdvertiseHost != "" {
		return s.cfg.AdvertiseHost
	}
	addr := s.ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsUnspecified() {
		return addr.IP.String()
	}
	if ip := firstLANAddress(); ip != nil {
		return ip.String()
	}
	return "127.0.0.1"
}

// firstLANAddress picks an address others on the network can reach: the
// first IPv4 address of an interface that is up and not loopback.
func firstLANAddress() net.IP {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLinkLocalUnicast() {
				return ipn.IP
			}
		}
	}
	return nil
}

// iceServersFor is what a participant of room gets in welcome: the
// external servers, then the embedded relay with fresh credentials.
func (s *Server) iceServersFor(room string) []signal.ICEServer {
	out := append([]signal.ICEServer{}, s.cfg.ICEServers...)
	if s.turn != nil {
		out = append(out, s.turn.iceServer(room))
	}
	return out
}

// TURNPorts are the embedded relay's UDP and TCP ports (0: not running).
func (s *Server) TURNPorts() (udp, tcp int) {
	if s.turn == nil {
		return 0, 0
	}
	return s.turn.udp, s.turn.tcp
}

func (s *Server) pionICEServers() []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(s.cfg.ICEServers))
	for _, is := range s.cfg.ICEServers {
		out = append(out, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	return out
}

// Shutdown tells every participant the meeting ended, closes all rooms and
// stops the HTTP server, waiting for sessions until ctx expires.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	var sessions []*session
	for _, lr := range s.live {
		// Those in the lobby too: told, not dropped, they can come back
		// when the server does.
		sessions = append(sessions, lr.others("")...)
		sessions = append(sessions, lr.knockers()...)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.setLeaveReason(signal.ReasonLeft)
		sess.sendNow(&signal.Ended{Reason: signal.EndShutdown})
		sess.cancel(errShutdown)
	}
	err := s.http.Shutdown(ctx)
	s.cancel()
	if s.turn != nil {
		err = errors.Join(err, s.turn.close())
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	s.mu.Lock()
	for name, lr := range s.live {
		s.metrics.retire(lr.media)
		delete(s.live, name)
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
