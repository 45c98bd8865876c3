package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/discovery"
)

// Launch is what the command line asked the window to do at start.
type Launch struct {
	// Action is "" (show the lobby), "host" or "join".
	Action string `json:"action"`
	URL    string `json:"url,omitempty"`
	Room   string `json:"room,omitempty"`
	Name   string `json:"name,omitempty"`
	// DefaultName is the name to offer when none is given or remembered:
	// the system user's.
	DefaultName string `json:"defaultName,omitempty"`
	Password    string `json:"password,omitempty"`
	// Lobby: with "host", joiners knock until the host admits them.
	Lobby bool `json:"lobby,omitempty"`
	// Stats opens the meeting with the stats overlay on.
	Stats bool `json:"stats,omitempty"`
}

// HostOptions configure a meeting hosted by this app.
type HostOptions struct {
	Room     string `json:"room"`
	Name     string `json:"name"`
	Password string `json:"password"`
	// Lobby makes joiners knock until the host admits them; the host
	// itself joins with a host token.
	Lobby bool `json:"lobby"`
}

// JoinResult is what the webview needs once in a meeting.
type JoinResult struct {
	SelfID string `json:"selfId"`
	// Invite is the link others join with.
	Invite string `json:"invite"`
	// Welcome is the server's welcome message (protocol JSON).
	Welcome json.RawMessage `json:"welcome"`
	// RenderURL is the render socket (also from RenderURL).
	RenderURL string `json:"renderUrl"`
	// Sharing: the screen share asked for at start (Options.ShareScreen)
	// is on, and the window must say so.
	Sharing bool `json:"sharing"`
}

// Events sent to the webview on EventName. Every one has a "type".
type (
	// serverEvent carries a room event exactly as the server sent it.
	serverEvent struct {
		Type    string          `json:"type"` // "server"
		Message json.RawMessage `json:"message"`
	}
	// mediaEvent says a track's video is on the render socket under
	// RenderID (0: it went away).
	mediaEvent struct {
		Type          string      `json:"type"` // "media"
		ParticipantID string      `json:"participantId"`
		TrackID       string      `json:"trackId"`
		Kind          signal.Kind `json:"kind"`
		RenderID      uint32      `json:"renderId"`
	}
	// connectionEvent reports the meeting connection's state.
	connectionEvent struct {
		Type  string `json:"type"`  // "connection"
		State string `json:"state"` // "connected" or "closed"
		// Code and Message explain a closed meeting that we did not leave
		// ("connection-lost", "ended", a protocol error code).
		Code    string `json:"code,omitempty"`
		Message string `json:"message,omitempty"`
	}
	// waitingEvent: the room has a waiting room and a host is asked to
	// let us in; Join returns when they decide (or Leave gives up).
	waitingEvent struct {
		Type string `json:"type"` // "waiting"
	}
)

// LaunchIntent tells the webview what the command line asked for.
func (a *App) LaunchIntent() Launch { return a.opts.Launch }

// RenderURL is the render socket's address, secret included.
func (a *App) RenderURL() string { return a.render.URL() }

// Host starts a meeting server in this app and joins its room.
func (a *App) Host(opts HostOptions) (*JoinResult, error) {
	if err := a.reserve(); err != nil {
		return nil, err
	}
	listing := &lanListing{}
	srv, room, err := a.startHosting(opts, listing)
	if err != nil {
		a.release(nil)
		return nil, err
	}
	invite := srv.InviteURL(room)
	dial, err := loopbackInvite(invite, srv, a.opts.HostAddr)
	// The window's own connection is the room's only automatic host: the
	// room has explicit hosts, so a guest is never promoted over it.
	var token string
	if err == nil {
		token, err = srv.MintToken(room, server.TokenOptions{Host: true})
	}
	if err == nil {
		var res *JoinResult
		res, err = a.enter(joinParams{invite: invite, dialURL: dial, name: opts.Name, password: opts.Password, token: token, srv: srv, listing: listing})
		if err == nil {
			listing.start(a, srv, discovery.Room{Name: room, Host: opts.Name, Password: opts.Password != "", Lobby: opts.Lobby})
			a.opts.Log.Info("hosting", "room", room, "invite", invite)
			if a.opts.OnHosting != nil {
				a.opts.OnHosting(invite)
			}
			return res, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	return nil, err
}

// Join joins the meeting of an invite link.
func (a *App) Join(url, name, password string) (*JoinResult, error) {
	if err := a.reserve(); err != nil {
		return nil, err
	}
	return a.enter(joinParams{invite: url, name: name, password: password})
}

// reserve claims the single meeting slot so that two Host/Join calls
// cannot both start one.
func (a *App) reserve() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.meeting != nil {
		return ErrInMeeting
	}
	a.meeting = reserved
	return nil
}

// reserved holds the meeting slot while joining.
var reserved = &meeting{}

func (a *App) release(m *meeting) {
	a.mu.Lock()
	a.meeting = m
	a.mu.Unlock()
}

// enter joins, publishes and reports the welcome (the slot is reserved).
func (a *App) enter(p joinParams) (*JoinResult, error) {
	m, err := a.join(p)
	if err != nil {
		a.release(nil)
		return nil, err
	}
	if err := a.publish(m); err != nil {
		m.close(true)
		a.release(nil)
		return nil, fmt.Errorf("publish: %w", err)
	}
	welcome, err := signal.Encode(m.cl.Welcome())
	if err != nil {
		m.close(true)
		a.release(nil)
		return nil, err
	}
	a.release(m)
	a.emit(connectionEvent{Type: "connection", State: "connected"})
	sharing := false
	if id := a.opts.ShareScreen; id != "" {
		if id == "first" {
			id = ""
		}
		if err := a.ShareScreen(id); err != nil {
			a.opts.Log.Warn("cannot share the screen", "err", err)
			a.toast(err.Error())
		} else {
			sharing = true
		}
	}
	return &JoinResult{SelfID: m.cl.ID(), Invite: m.invite, Welcome: welcome, RenderURL: a.render.URL(), Sharing: sharing}, nil
}

// current returns the running meeting.
func (a *App) current() (*meeting, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.meeting == nil || a.meeting == reserved {
		return nil, ErrNotInMeeting
	}
	return a.meeting, nil
}

// Leave leaves the meeting (and stops hosting it), or gives up joining
// one (waiting to be let in). Safe to call twice.
func (a *App) Leave() error {
	a.mu.Lock()
	if a.joining != nil {
		a.joining()
	}
	a.mu.Unlock()
	m, err := a.current()
	if err != nil {
		return nil
	}
	a.endMeeting(m, true)
	return nil
}

func (a *App) endMeeting(m *meeting, leave bool) {
	m.close(leave)
	a.mu.Lock()
	if a.meeting == m {
		a.meeting = nil
	}
	a.mu.Unlock()
	a.emit(connectionEvent{Type: "connection", State: "closed"})
}

// meetingOver handles a session that ended without Leave: the host ended
// it, we were removed, or the connection dropped.
func (a *App) meetingOver(m *meeting, cause error) {
	ev := connectionEvent{Type: "connection", State: "closed", Code: "connection-lost", Message: "The connection to the meeting was lost."}
	var ended *client.EndedError
	var se *signal.Error
	switch {
	case errors.Is(cause, client.ErrLeft):
		ev.Code, ev.Message = "", ""
	case errors.As(cause, &ended):
		ev.Code, ev.Message = "ended", string(ended.Reason)
	case errors.As(cause, &se):
		ev.Code, ev.Message = string(se.Code), se.Message
	}
	// close waits for the pump, which is the caller: run it apart.
	go func() {
		m.close(false)
		a.mu.Lock()
		if a.meeting == m {
			a.meeting = nil
		}
		a.mu.Unlock()
		a.emit(ev)
	}()
}

// SendChat posts a chat message to the room.
func (a *App) SendChat(text string) error {
	m, err := a.current()
	if err != nil {
		return err
	}
	return m.cl.SendChat(text)
}

// MeetingAnswers says whether the server of invite link answers now: a
// window left on "the meeting server stopped" rejoins when it does.
func (a *App) MeetingAnswers(link string) bool {
	inv, err := client.ParseInvite(link)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return inv.Answers(ctx, a.opts.Insecure)
}

// SetMuted mutes or unmutes our "audio" (microphone) or "video" (camera).
// Before a meeting it sets how the next one starts.
func (a *App) SetMuted(kind string, muted bool) error {
	if kind != "audio" && kind != "video" {
		return fmt.Errorf("mute: kind is audio or video, not %q", kind)
	}
	a.mu.Lock()
	a.muted[kind] = muted
	a.mu.Unlock()
	m, err := a.current()
	if err != nil {
		return nil
	}
	if !muted && a.opts.Source == SourceNone {
		a.mu.Lock()
		a.muted[kind] = true
		a.mu.Unlock()
		return ErrReceiveOnly
	}
	if !muted && a.opts.Source == SourceDevices {
		// Turning the camera or microphone on starts one if none runs (it
		// was unplugged, or there was none when the meeting started).
		ensure, what := a.ensureCamera, "camera"
		if kind == "audio" {
			ensure, what = a.ensureMic, "microphone"
		}
		if err := ensure(m); err != nil {
			a.mu.Lock()
			a.muted[kind] = true
			a.mu.Unlock()
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return m.pub.setMuted(kind, muted)
}

// SetLocked locks the room (hosts only).
func (a *App) SetLocked(locked bool) error {
	return a.moderate(func(ctx context.Context, cl *client.Client) error { return cl.SetLocked(ctx, locked) })
}

// RemoveParticipant removes someone from the meeting (hosts only).
func (a *App) RemoveParticipant(participantID string) error {
	return a.moderate(func(ctx context.Context, cl *client.Client) error { return cl.Remove(ctx, participantID) })
}

// Admit lets in someone knocking in the lobby (hosts only).
func (a *App) Admit(knockID string) error {
	return a.moderate(func(ctx context.Context, cl *client.Client) error { return cl.Admit(ctx, knockID) })
}

// Deny turns away someone knocking in the lobby (hosts only).
func (a *App) Deny(knockID string) error {
	return a.moderate(func(ctx context.Context, cl *client.Client) error { return cl.Deny(ctx, knockID) })
}

// MuteParticipant mutes another participant's track (hosts only); they
// are told and may unmute themselves.
func (a *App) MuteParticipant(participantID, trackID string) error {
	return a.moderate(func(ctx context.Context, cl *client.Client) error {
		return cl.MuteParticipant(ctx, participantID, trackID)
	})
}

// moderate runs a host request on the current meeting and waits for the
// server's answer, which carries the refusal if we are not a host.
func (a *App) moderate(request func(context.Context, *client.Client) error) error {
	m, err := a.current()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return request(ctx, m.cl)
}

// EndMeeting ends the meeting for everyone (hosts only).
func (a *App) EndMeeting() error {
	m, err := a.current()
	if err != nil {
		return err
	}
	return m.cl.EndMeeting()
}

// TrackStats is one received track as the stats overlay shows it.
type TrackStats struct {
	client.TrackStats
	Name   string `json:"name"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	// Dropped counts video frames that could not be completed; Skipped,
	// frames held back until a keyframe.
	Dropped uint64 `json:"droppedFrames,omitempty"`
	Skipped uint64 `json:"skippedFrames,omitempty"`
	// RTTMs is the round-trip time to the server (every track shares
	// it); absent until measured.
	RTTMs *float64 `json:"rttMs,omitempty"`
}

// Stats returns every received track's counters.
func (a *App) Stats() ([]TrackStats, error) {
	m, err := a.current()
	if err != nil {
		return nil, err
	}
	out := []TrackStats{}
	var rtt *float64
	if d, ok := m.cl.RoundTripTime(); ok {
		ms := float64(d) / float64(time.Millisecond)
		rtt = &ms
	}
	for _, st := range m.cl.Stats() {
		ts := TrackStats{TrackStats: st, Name: m.name(st.ParticipantID), RTTMs: rtt}
		m.mu.Lock()
		v := m.videos[trackKey{st.ParticipantID, st.TrackID}]
		m.mu.Unlock()
		if v != nil {
			v.mu.Lock()
			ts.Width, ts.Height = v.width, v.height
			ts.Dropped, ts.Skipped = v.asm.Dropped, v.asm.Skipped
			v.mu.Unlock()
		}
		out = append(out, ts)
	}
	return out, nil
}
