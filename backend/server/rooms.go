package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"parley/backend/room"
	"parley/backend/sfu"
	"parley/backend/signal"
)

// RoomConfig describes a room the server hosts.
type RoomConfig struct {
	Name     string
	Password string
	// Limit is the most participants at once (0: Config.RoomLimit).
	Limit int
	// Lobby makes joiners without an invite token wait for a host to
	// admit them.
	Lobby bool
	// MaxBitrate caps what each video or screen track in the room sends,
	// in bits per second (0: Config.RoomMaxBitrate). Publishers are told
	// (welcome's room.maxBitrate) and held to it by the SFU's REMB.
	MaxBitrate int
	// RequireToken refuses hellos without a valid invite token
	// (bad-token), whatever the password.
	RequireToken bool
	// ExplicitHosts: only holders of a host token are hosts, and nobody
	// is promoted when they leave. For a room that belongs to a known
	// host (the operator of a host link, the window hosting its own
	// meeting): otherwise the guest there longest takes over its lobby,
	// its lock and its removals when the host steps out.
	ExplicitHosts bool
}

// liveRoom is a room with people in it (or within its grace period): its
// state, its media plane, and the sessions to broadcast to.
type liveRoom struct {
	cfg   RoomConfig
	state *room.Room
	media forwarder

	// mu orders broadcasts: events that change the room are applied and
	// queued to every session under it, so all participants see them in
	// the same order.
	mu       sync.Mutex
	sessions map[string]*session
	knocks   map[string]*knock // the lobby, by knock id
	// removed holds the devices (hello.device) a host removed: they come
	// back only through the lobby, for as long as the room lives.
	removed map[string]bool
}

// maxRemovedDevices bounds what a room remembers of its removals.
const maxRemovedDevices = 1000

// wasRemoved says whether a host removed device from this room.
func (lr *liveRoom) wasRemoved(device string) bool {
	if device == "" {
		return false
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.removed[device]
}

func (lr *liveRoom) add(s *session) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.sessions[s.id] = s
}

// broadcast queues msg to every session but except ("" for all). Call with
// lr.mu held, so that the event's order matches the state change's.
func (lr *liveRoom) broadcastLocked(msg signal.Message, except string) {
	lr.sendLocked(msg, func(s *session) bool { return s.id != except })
}

// sendLocked queues msg to the sessions to() accepts, with lr.mu held.
func (lr *liveRoom) sendLocked(msg signal.Message, to func(*session) bool) {
	data, err := signal.Encode(msg)
	if err != nil {
		// Our own message failed validation: a bug, but not the
		// participants' problem.
		for _, s := range lr.sessions {
			s.log.Error("encode broadcast", "type", msg.Type(), "err", err)
			break
		}
		return
	}
	for _, s := range lr.sessions {
		if to(s) {
			s.queue(data)
		}
	}
}

// hostsV2 selects the hosts that speak version 2, the audience of lobby
// messages.
func (lr *liveRoom) hostsV2(s *session) bool {
	return s.version >= 2 && lr.state.IsHost(s.id)
}

func (lr *liveRoom) others(id string) []*session {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	out := make([]*session, 0, len(lr.sessions))
	for sid, s := range lr.sessions {
		if sid != id {
			out = append(out, s)
		}
	}
	return out
}

func (lr *liveRoom) session(id string) *session {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.sessions[id]
}

// roomFor returns the live room called name, creating it if the server
// hosts a room of that name (or hosts any name, with OpenRooms).
func (s *Server) roomFor(name string) (*liveRoom, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, signal.Errorf(signal.CodeNotFound, "the server is shutting down")
	}
	if lr := s.live[name]; lr != nil {
		if !lr.state.Ended() {
			return lr, nil
		}
		// The host ended it; a new meeting of the same name starts fresh.
		delete(s.live, name)
		s.metrics.retire(lr.media)
	}
	rc, ok := s.roomConfig(name)
	if !ok {
		return nil, signal.Errorf(signal.CodeNotFound, "there is no room %q on this host", name)
	}
	if s.cfg.MaxRooms >= 0 && len(s.live) >= s.cfg.MaxRooms {
		return nil, signal.Errorf(signal.CodeRateLimited, "this host already runs %d rooms", len(s.live))
	}
	if rc.Limit == 0 {
		rc.Limit = s.cfg.RoomLimit
	}
	if rc.MaxBitrate == 0 {
		rc.MaxBitrate = s.cfg.RoomMaxBitrate
	}
	state, err := room.New(room.Config{
		Name:          rc.Name,
		Password:      rc.Password,
		Limit:         rc.Limit,
		Grace:         s.cfg.Grace,
		Lobby:         rc.Lobby,
		ExplicitHosts: rc.ExplicitHosts,
		MaxBitrate:    rc.MaxBitrate,
		MaxTracks:     s.cfg.MaxTracks,
		MaxChatRunes:  s.cfg.MaxChatRunes,
	}, time.Now())
	if err != nil {
		return nil, fmt.Errorf("create room %q: %w", name, err)
	}
	lr := &liveRoom{cfg: rc, state: state, sessions: make(map[string]*session), knocks: make(map[string]*knock),
		removed: make(map[string]bool)}
	if s.cfg.BareRelay {
		lr.media = newRelayForwarder()
	} else {
		cfg := sfu.Config{
			Estimates:  s.engine,
			OnSpeaking: func(ev sfu.SpeakingEvent) { s.onSpeaking(lr, ev) },
			OnTrackEnded: func(r *sfu.Receiver) {
				if sess := lr.session(r.ParticipantID()); sess != nil {
					sess.trackEnded(r.TrackID())
				}
			},
		}
		cfg.CapBitrate(rc.MaxBitrate)
		lr.media = newSFUForwarder(cfg)
	}
	s.live[name] = lr
	s.metrics.roomsCreated.Inc()
	return lr, nil
}

func (s *Server) roomConfig(name string) (RoomConfig, bool) {
	for _, rc := range s.cfg.Rooms {
		if rc.Name == name {
			return rc, true
		}
	}
	if s.cfg.OpenRooms && signal.ValidateRoomName(name) == nil {
		return RoomConfig{Name: name}, true
	}
	return RoomConfig{}, false
}

func (s *Server) onSpeaking(lr *liveRoom, ev sfu.SpeakingEvent) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.broadcastLocked(&signal.Speaking{
		ParticipantID: ev.ParticipantID,
		Speaking:      ev.Speaking,
		Level:         signal.MaxLevel - int(ev.Level),
	}, "")
}

// sweep closes rooms whose grace period ran out, freeing their media plane.
func (s *Server) sweep(ctx context.Context) {
	ticker := time.NewTicker(s.cfg.SweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			s.tokens.prune(now)
			s.attempts.prune(now)
			var closed []string
			s.mu.Lock()
			for name, lr := range s.live {
				// A room with someone in its lobby waits for a host to come.
				lr.mu.Lock()
				knocking := len(lr.knocks) > 0
				lr.mu.Unlock()
				if !knocking && lr.state.CloseIfIdle(now) {
					delete(s.live, name)
					s.metrics.retire(lr.media)
					s.cfg.Log.Info("room closed after its grace period", "room", name)
					closed = append(closed, name)
				}
			}
			s.mu.Unlock()
			for _, name := range closed {
				s.emit(Event{Type: "close", Room: name})
			}
		}
	}
}
