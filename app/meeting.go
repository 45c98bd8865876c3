package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/pion/rtp"

	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/media/render"
	"parley/media/vp8"
)

// meeting is one call: the client, the server when we host, what we
// publish, and the remote video going to the render socket.
type meeting struct {
	a       *App
	cl      *client.Client
	srv     *server.Server // nil unless we host
	listing *lanListing    // with srv
	invite  string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	pub    *publication

	mu     sync.Mutex
	names  map[string]string // participant id → display name
	videos map[trackKey]*remoteVideo
	closed bool
}

type trackKey struct{ participant, track string }

// remoteVideo is one received video or screen track on its way to a tile.
type remoteVideo struct {
	key  trackKey
	kind signal.Kind
	out  *render.Track
	rt   *client.RemoteTrack

	mu            sync.Mutex
	width, height int
	asm           vp8.Stats
	paused        bool        // at the server: its tile is off the stage
	half          bool        // at the server: reference frames only (a small tile)
	pauseTimer    *time.Timer // pending pause (pauseDelay)
	closed        bool
	pauseMu       sync.Mutex // held while deciding and sending a pause or resume
}

// pauseDelay is how long a tile stays off the stage before its video is
// paused at the server: a tile that only steps aside while the active
// speaker changes keeps it, sparing the publisher a keyframe on its return.
const pauseDelay = time.Second

// setWanted follows the tile on and off the stage (render.Track's
// SetOnWanted): off it for pauseDelay, the server stops sending the video;
// back on, it resumes (from a keyframe). A tile drawn small (half) draws
// only the frames others refer to, so the server sends only those.
func (v *remoteVideo) setWanted(wanted, half bool, log func(err error)) {
	v.pauseMu.Lock()
	defer v.pauseMu.Unlock()
	v.mu.Lock()
	if v.pauseTimer != nil {
		v.pauseTimer.Stop()
		v.pauseTimer = nil
	}
	send := !v.closed && wanted && (v.paused || v.half != half)
	if send {
		v.paused, v.half = false, half
	} else if !v.closed && !wanted && !v.paused {
		var timer *time.Timer
		timer = time.AfterFunc(pauseDelay, func() { v.pauseNow(timer, log) })
		v.pauseTimer = timer
	}
	v.mu.Unlock()
	if send {
		f := client.ForwardAll
		if half {
			f = client.ForwardReference
		}
		log(v.rt.SetForwarding(f))
	}
}

// pauseNow is timer's pause, unless it was stopped or replaced meanwhile.
func (v *remoteVideo) pauseNow(timer *time.Timer, log func(err error)) {
	// pauseMu orders the messages as the decisions: a resume decided
	// after this pause is also sent after it.
	v.pauseMu.Lock()
	defer v.pauseMu.Unlock()
	v.mu.Lock()
	due := !v.closed && v.pauseTimer == timer
	if due {
		v.pauseTimer, v.paused = nil, true
	}
	v.mu.Unlock()
	if due {
		log(v.rt.SetForwarding(client.ForwardNone))
	}
}

// close stops rendering the track and any pending pause.
func (v *remoteVideo) close() {
	v.mu.Lock()
	v.closed = true
	if v.pauseTimer != nil {
		v.pauseTimer.Stop()
		v.pauseTimer = nil
	}
	v.mu.Unlock()
	v.out.Close()
}

// joinParams are what Host and Join share.
type joinParams struct {
	invite, name, password string
	token                  string // an invite token, if any
	// dialURL is what the client dials when it differs from the invite
	// (the host joins its own room over loopback).
	dialURL string
	srv     *server.Server
	listing *lanListing // with srv: the room's LAN listing
}

// ErrInMeeting is returned by Host and Join while a meeting runs.
var ErrInMeeting = errors.New("already in a meeting: leave it first")

// ErrNotInMeeting is returned by calls that need a meeting.
var ErrNotInMeeting = errors.New("not in a meeting")

// ErrReceiveOnly: a window started with --source none publishes nothing,
// so its camera and microphone cannot be turned on.
var ErrReceiveOnly = errors.New("this window only receives (it was started with --source none)")

// startHosting runs the room server in this process.
func (a *App) startHosting(opts HostOptions, listing *lanListing) (*server.Server, string, error) {
	room := opts.Room
	if room == "" {
		room = "meeting"
	}
	var cert *tls.Certificate
	if a.opts.Certificate != nil {
		c, err := a.opts.Certificate()
		if err != nil {
			return nil, "", fmt.Errorf("host: certificate: %w", err)
		}
		cert = &c
	}
	cfg := server.Config{
		Addr:          cmp.Or(a.opts.HostAddr, ":0"),
		Assets:        a.opts.Assets,
		Log:           a.opts.Log,
		Certificate:   cert,
		AdvertiseHost: a.opts.AdvertiseHost,
		Rooms: []server.RoomConfig{{Name: room, Password: opts.Password, Lobby: opts.Lobby, MaxBitrate: a.opts.RoomMaxBitrate,
			ExplicitHosts: true}},
		// Loopback candidates let this app's own participant connect
		// without any network.
		RTC:     serverRTC(a.opts.RTC),
		TURN:    a.opts.TURN,
		OnEvent: func(server.Event) { listing.refresh() },
	}
	// The invite link names the port. A host who leaves and hosts again,
	// in this run or a later one, keeps the link already sent out as long
	// as that port is free.
	if remembered, ok := a.rememberedHostAddr(cfg.Addr); ok {
		first := cfg
		first.Addr = remembered
		srv, err := listenServer(first)
		if err == nil {
			return srv, room, nil
		}
		a.opts.Log.Warn("the port of the last meeting is taken: this invite link is new", "addr", remembered, "err", err)
	}
	srv, err := listenServer(cfg)
	if err != nil {
		return nil, "", err
	}
	a.rememberHostPort(srv.Port())
	return srv, room, nil
}

// listenServer starts a room server on cfg.Addr.
func listenServer(cfg server.Config) (*server.Server, error) {
	srv, err := server.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if err := srv.Listen(); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		return nil, fmt.Errorf("host: %w", err)
	}
	return srv, nil
}

// loopbackInvite rewrites a hosted room's invite link to reach the server
// over loopback: the host is a participant like any other, but it never
// needs the network to reach itself.
func loopbackInvite(invite string, srv *server.Server, listen string) (string, error) {
	u, err := url.Parse(invite)
	if err != nil {
		return "", fmt.Errorf("invite link %q: %w", invite, err)
	}
	host := "127.0.0.1"
	if h, _, err := net.SplitHostPort(listen); err == nil {
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
			host = ip.String() // bound to one address only: loopback is not served
		}
	}
	u.Host = net.JoinHostPort(host, strconv.Itoa(srv.Port()))
	return u.String(), nil
}

// join dials the room and starts the meeting's goroutines.
func (a *App) join(p joinParams) (*meeting, error) {
	ctx, cancel := context.WithCancel(context.Background())
	m := &meeting{
		a:       a,
		srv:     p.srv,
		listing: p.listing,
		invite:  p.invite,
		ctx:     ctx,
		cancel:  cancel,
		names:   make(map[string]string),
		videos:  make(map[trackKey]*remoteVideo),
	}
	dial := p.dialURL
	if dial == "" {
		dial = p.invite
	}
	// Reaching the server is bounded; waiting in its waiting room only by
	// the server's own limit, or by Leave.
	a.mu.Lock()
	a.joining = cancel
	a.mu.Unlock()
	cl, err := client.Dial(ctx, dial, client.Options{
		ConnectTimeout: 15 * time.Second,
		OnWaiting:      func() { a.emit(waitingEvent{Type: "waiting"}) },
		Name:           p.name,
		Password:       p.password,
		Token:          p.token,
		Device:         a.device,
		Insecure:       a.opts.Insecure,
		Log:            a.opts.Log,
		RTC:            clientRTC(a.opts.RTC),
		OnTrack:        m.onTrack,
		// Video in and video out each keep to the user's cap.
		MaxReceiveBitrate: a.maxBitrate(),
	})
	a.mu.Lock()
	a.joining = nil
	a.mu.Unlock()
	if err != nil {
		cancel()
		return nil, err
	}
	m.cl = cl
	for _, pt := range cl.Welcome().Participants {
		m.names[pt.ID] = pt.Name
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.pump()
	}()
	return m, nil
}

// onTrack runs when a remote track's media starts (pion's goroutine,
// before any packet is read).
func (m *meeting) onTrack(rt *client.RemoteTrack) {
	switch rt.Kind {
	case signal.KindVideo, signal.KindScreen:
		m.addVideo(rt)
	case signal.KindAudio:
		m.a.onRemoteAudio(m, rt)
	}
}

func (m *meeting) addVideo(rt *client.RemoteTrack) {
	key := trackKey{rt.ParticipantID, rt.TrackID}
	ask := func() { _ = rt.RequestKeyframe() }
	v := &remoteVideo{key: key, kind: rt.Kind, rt: rt}
	v.out = m.a.render.AddTrack(render.TrackInfo{Participant: rt.ParticipantID, Track: rt.TrackID}, ask)
	v.out.SetOnWanted(func(wanted, half bool) {
		v.setWanted(wanted, half, func(err error) {
			if err != nil {
				m.a.opts.Log.Debug("pause or resume a track", "participant", key.participant, "track", key.track, "err", err)
			}
		})
	})
	asm := vp8.NewAssembler(ask)
	rt.SetSink(func(p *rtp.Packet) {
		now := time.Now()
		for _, f := range asm.Push(p, now) {
			if f.Keyframe {
				v.mu.Lock()
				v.width, v.height = f.Width, f.Height
				v.mu.Unlock()
			}
			v.out.WriteFrame(f)
		}
		v.mu.Lock()
		v.asm = asm.Stats()
		v.mu.Unlock()
	})
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		v.close()
		return
	}
	old := m.videos[key]
	m.videos[key] = v
	m.mu.Unlock()
	if old != nil {
		old.close()
	}
	m.a.tiles.add(v.out.ID, tileInfo{m: m, participantID: key.participant, trackID: key.track, kind: rt.Kind})
	m.a.emit(mediaEvent{Type: "media", ParticipantID: key.participant, TrackID: key.track, Kind: rt.Kind, RenderID: v.out.ID})
}

// removeVideo stops rendering one track (unpublished, or its owner left).
func (m *meeting) removeVideos(match func(trackKey) bool) {
	m.mu.Lock()
	var gone []*remoteVideo
	for k, v := range m.videos {
		if match(k) {
			gone = append(gone, v)
			delete(m.videos, k)
		}
	}
	m.mu.Unlock()
	for _, v := range gone {
		v.close()
		m.a.tiles.remove(v.out.ID)
		m.a.emit(mediaEvent{Type: "media", ParticipantID: v.key.participant, TrackID: v.key.track, Kind: v.kind})
	}
}

// pump forwards room events to the webview until the session ends.
func (m *meeting) pump() {
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.cl.Done():
			m.a.meetingOver(m, m.cl.Err())
			return
		case ev, ok := <-m.cl.Events():
			if !ok {
				m.a.meetingOver(m, m.cl.Err())
				return
			}
			if ev.Message != nil {
				m.handle(ev.Message)
			}
			if ev.State != "" {
				// The client is resuming a dropped connection (or has):
				// the window shows "reconnecting…", not a new meeting.
				m.a.emit(connectionEvent{Type: "connection", State: string(ev.State)})
			}
		}
	}
}

func (m *meeting) handle(msg signal.Message) {
	switch v := msg.(type) {
	case *signal.ParticipantJoined:
		m.mu.Lock()
		m.names[v.Participant.ID] = v.Participant.Name
		m.mu.Unlock()
	case *signal.ParticipantUpdated:
		m.mu.Lock()
		m.names[v.Participant.ID] = v.Participant.Name
		m.mu.Unlock()
	case *signal.TrackUnpublished:
		m.removeVideos(func(k trackKey) bool { return k == trackKey{v.ParticipantID, v.TrackID} })
		m.a.audio.removeTrack(v.ParticipantID, v.TrackID)
	case *signal.ParticipantLeft:
		m.removeVideos(func(k trackKey) bool { return k.participant == v.ParticipantID })
		m.a.audio.removeParticipant(v.ParticipantID)
	}
	data, err := signal.Encode(msg)
	if err != nil {
		m.a.opts.Log.Warn("encode room event", "type", msg.Type(), "err", err)
		return
	}
	m.a.emit(serverEvent{Type: "server", Message: data})
}

// name is a participant's display name (its id if unknown).
func (m *meeting) name(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.names[id]; ok {
		return n
	}
	return id
}

// close ends the meeting's media and connection. leave says goodbye to the
// room; a lost connection has no one to say it to.
func (m *meeting) close(leave bool) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	m.mu.Unlock()
	if m.pub != nil {
		m.pub.stop()
	}
	m.a.audio.stop()
	if leave {
		_ = m.cl.Leave()
	} else {
		_ = m.cl.Close()
	}
	m.cancel()
	m.wg.Wait()
	m.removeVideos(func(trackKey) bool { return true })
	// Our own camera and screen tiles end with the meeting too: nothing
	// of it may show up in the report of a later one.
	m.a.tiles.forget(m)
	m.a.audio.removeParticipant("")
	m.listing.close()
	if m.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := m.srv.Shutdown(ctx); err != nil {
			m.a.opts.Log.Warn("stop hosting", "err", err)
		}
		cancel()
	}
}
