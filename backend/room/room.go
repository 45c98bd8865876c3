// Package room holds the state of one meeting room: who is in it, what they
// publish, the chat history, settings and roles. It is pure state: no I/O,
// no goroutines, no timers. Time is passed in by the caller, so rules such
// as the empty-room grace period are testable without waiting.
//
// A Room is safe for concurrent use; each method is atomic. Methods return
// everything the caller needs to tell other participants (the changed track,
// the departure with its tracks and any promotion), so the caller never has
// to read state back in a second, racy call.
//
// Errors carry a backend/signal code (see signal.CodeOf) and a message fit
// for the client (see signal.AsError), wrapped with context for logs.
package room

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"parley/backend/signal"
)

// Defaults for zero Config fields.
const (
	DefaultLimit       = 100
	DefaultMaxTracks   = 4
	DefaultChatHistory = 200
	DefaultGrace       = 10 * time.Second
)

// Config is a room's initial settings. Zero fields take the defaults above.
type Config struct {
	// Name must pass signal.ValidateRoomName.
	Name string
	// Password, if not empty, is required to join.
	Password string
	// Limit is the maximum number of participants, and the ceiling for
	// SetLimit. Zero means DefaultLimit.
	Limit int
	// MaxTracks bounds tracks per participant. Zero means DefaultMaxTracks;
	// negative means none (receive-only participants).
	MaxTracks int
	// ChatHistory is how many recent chat messages are kept for late
	// joiners. Zero means DefaultChatHistory; negative means none.
	ChatHistory int
	// Grace is how long an empty room lives before ShouldClose reports true.
	// Zero means DefaultGrace; negative means close as soon as it is empty.
	Grace time.Duration
	// Locked starts the room locked.
	Locked bool
	// Lobby makes joiners wait for a host's admission (the session layer
	// runs the lobby; the room only reports the setting). Joins with
	// JoinOptions.Admitted or Host skip it.
	Lobby bool
	// MaxBitrate caps each video track's bitrate (bits per second; 0:
	// none). The media plane enforces it; the room reports it.
	MaxBitrate int
	// MaxChatRunes bounds one chat message, at most (and by default)
	// signal.MaxChatRunes.
	MaxChatRunes int
	// ExplicitHosts turns off automatic host assignment: only participants
	// joining with JoinOptions{Host: true} are hosts, and nobody is promoted
	// when they leave. Use it when the room belongs to a known person (the
	// desktop app hosting its own meeting), so that a guest who happens to
	// connect first does not become host.
	ExplicitHosts bool
	// NewID returns a fresh participant id (it must pass signal.ValidateID).
	// Nil means 12 random hex digits from crypto/rand. Tests inject a
	// deterministic generator.
	NewID func() string
}

// Participant is a member of the room.
type Participant struct {
	signal.Participant
	JoinedAt time.Time
}

// JoinOptions are decided by the caller, not the joining client.
type JoinOptions struct {
	// Host makes the participant a host. The caller vouches for them (for
	// example the hosting app's own loopback client), so the password and
	// the lock are not checked; the participant limit still is.
	Host bool
	// Admitted skips the password and the lock as well: a host let this
	// joiner in from the lobby, or they hold a valid invite token.
	Admitted bool
}

// Snapshot is the room's state as a new participant needs it for welcome.
// Its slices are never nil and are owned by the caller.
type Snapshot struct {
	Room signal.RoomInfo
	// Participants in join order.
	Participants []signal.Participant
	// Tracks grouped by participant in join order, then publish order.
	Tracks []signal.Track
	// Chat history, oldest first.
	Chat []signal.ChatMessage
}

// Welcome builds the welcome message for participant self.
func (s Snapshot) Welcome(self string, iceServers []signal.ICEServer) *signal.Welcome {
	if iceServers == nil {
		iceServers = []signal.ICEServer{}
	}
	return &signal.Welcome{
		Version:       signal.Version,
		ParticipantID: self,
		Room:          s.Room,
		Participants:  s.Participants,
		Tracks:        s.Tracks,
		ICEServers:    iceServers,
		Chat:          s.Chat,
	}
}

// Departure describes a participant who left or was removed.
type Departure struct {
	Participant Participant
	// Tracks were unpublished with the participant. Clients infer this from
	// participant-left; the SFU needs the list to tear down forwarding.
	Tracks []signal.Track
	// Promoted lists participants who became host because the last host
	// left; announce each with participant-updated.
	Promoted []Participant
}

// Room is one meeting room. Create it with New.
type Room struct {
	// Immutable after New.
	name        string
	password    [sha256.Size]byte
	hasPassword bool
	maxLimit    int
	maxTracks   int
	historyLen  int
	grace       time.Duration
	explicit    bool
	lobby       bool
	maxBitrate  int
	maxChat     int
	newID       func() string

	mu         sync.Mutex
	limit      int
	locked     bool
	ended      bool
	members    []*member // join order
	byID       map[string]*member
	chat       []signal.ChatMessage
	seq        int64
	emptySince time.Time // meaningful while members is empty
}

type member struct {
	p      Participant
	tracks []signal.Track // publish order
}

// New returns an empty room. now starts the grace period: a room nobody
// joins closes like one everybody left.
func New(cfg Config, now time.Time) (*Room, error) {
	if err := signal.ValidateRoomName(cfg.Name); err != nil {
		return nil, fmt.Errorf("new room: %w", err)
	}
	if cfg.Limit < 0 {
		return nil, fmt.Errorf("new room %s: negative limit %d", cfg.Name, cfg.Limit)
	}
	if len(cfg.Password) > signal.MaxPasswordBytes {
		return nil, fmt.Errorf("new room %s: password longer than %d bytes", cfg.Name, signal.MaxPasswordBytes)
	}
	r := &Room{
		name:        cfg.Name,
		hasPassword: cfg.Password != "",
		maxLimit:    orDefault(cfg.Limit, DefaultLimit),
		maxTracks:   max(orDefault(cfg.MaxTracks, DefaultMaxTracks), 0),
		historyLen:  max(orDefault(cfg.ChatHistory, DefaultChatHistory), 0),
		grace:       max(orDefault(cfg.Grace, DefaultGrace), 0),
		explicit:    cfg.ExplicitHosts,
		lobby:       cfg.Lobby,
		maxBitrate:  max(cfg.MaxBitrate, 0),
		maxChat:     min(orDefault(cfg.MaxChatRunes, signal.MaxChatRunes), signal.MaxChatRunes),
		newID:       cfg.NewID,
		locked:      cfg.Locked,
		byID:        make(map[string]*member),
		emptySince:  now,
	}
	// Hashing first makes the comparison constant-time in the length too.
	r.password = sha256.Sum256([]byte(cfg.Password))
	r.limit = r.maxLimit
	if r.newID == nil {
		r.newID = randomID
	}
	return r, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// randomID returns 48 random bits in hex: short enough to read in logs,
// long enough that collisions within a room are practically impossible
// (and New retries them anyway).
func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// errorf returns a signal error wrapped with the room and operation.
func (r *Room) errorf(op string, code signal.Code, format string, args ...any) error {
	return fmt.Errorf("room %s: %s: %w", r.name, op, signal.Errorf(code, format, args...))
}

// Name returns the room's name.
func (r *Room) Name() string { return r.name }

// Info returns the room's public settings.
func (r *Room) Info() signal.RoomInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info()
}

func (r *Room) info() signal.RoomInfo {
	return signal.RoomInfo{Name: r.name, Locked: r.locked, Limit: r.limit, Lobby: r.lobby, MaxBitrate: r.maxBitrate}
}

// HasPassword reports whether joining needs a password.
func (r *Room) HasPassword() bool { return r.hasPassword }

// Lobby reports whether joiners wait for a host's admission.
func (r *Room) Lobby() bool { return r.lobby }

// Locked reports whether the room refuses new participants.
func (r *Room) Locked() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.locked
}

// IsHost reports whether participant id is in the room and a host.
func (r *Room) IsHost(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.byID[id]
	return ok && m.p.Role == signal.RoleHost
}

// Join admits a participant and returns them with the room's state
// including them, taken atomically so that the caller's welcome and later
// broadcasts neither miss nor repeat anything. The name is passed through
// signal.SanitizeName first.
//
// Checks, in this order (the password comes before anything that reveals
// the room's state): ended room → not-found; invalid name → bad-request;
// wrong password → bad-password; locked → denied; full → room-full.
//
// The participant becomes host if opts.Host is set or, unless
// Config.ExplicitHosts, if nobody in the room is host.
func (r *Room) Join(name, password string, opts JoinOptions, now time.Time) (Participant, Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return Participant{}, Snapshot{}, r.errorf("join", signal.CodeNotFound, "room %q has ended", r.name)
	}
	name = signal.SanitizeName(name)
	if err := signal.ValidateName(name); err != nil {
		return Participant{}, Snapshot{}, fmt.Errorf("room %s: join: %w", r.name, err)
	}
	if !opts.Host && !opts.Admitted {
		if r.hasPassword && !r.checkPassword(password) {
			return Participant{}, Snapshot{}, r.errorf("join", signal.CodeBadPassword, "wrong password for room %q", r.name)
		}
		if r.locked {
			return Participant{}, Snapshot{}, r.errorf("join", signal.CodeDenied, "room %q is locked", r.name)
		}
	}
	if len(r.members) >= r.limit {
		return Participant{}, Snapshot{}, r.errorf("join", signal.CodeRoomFull, "room %q is full (%d participants)", r.name, r.limit)
	}
	id, err := r.freshID()
	if err != nil {
		return Participant{}, Snapshot{}, err
	}
	role := signal.RoleGuest
	if opts.Host || (!r.explicit && !r.hasHost()) {
		role = signal.RoleHost
	}
	m := &member{p: Participant{
		Participant: signal.Participant{ID: id, Name: name, Role: role},
		JoinedAt:    now,
	}}
	r.members = append(r.members, m)
	r.byID[id] = m
	r.emptySince = time.Time{}
	return m.p, r.snapshot(), nil
}

// CheckPassword reports whether password opens the room (always true
// for a room without one). The session layer checks it before a joiner
// may knock, so that a lobby does not become a way around the password.
func (r *Room) CheckPassword(password string) bool {
	return !r.hasPassword || r.checkPassword(password)
}

func (r *Room) checkPassword(password string) bool {
	sum := sha256.Sum256([]byte(password))
	return subtle.ConstantTimeCompare(sum[:], r.password[:]) == 1
}

func (r *Room) freshID() (string, error) {
	// A handful of tries: only a broken generator collides repeatedly.
	for range 8 {
		id := r.newID()
		if err := signal.ValidateID("participant id", id); err != nil {
			return "", r.errorf("join", signal.CodeInternal, "id generator returned invalid id %q", id)
		}
		if _, taken := r.byID[id]; !taken {
			return id, nil
		}
	}
	return "", r.errorf("join", signal.CodeInternal, "id generator keeps returning taken ids")
}

func (r *Room) hasHost() bool {
	for _, m := range r.members {
		if m.p.Role == signal.RoleHost {
			return true
		}
	}
	return false
}

// Leave removes a participant and their tracks. If they were the last host
// (and hosts are not explicit), the participant who has been in the room
// longest becomes host and is listed in Departure.Promoted.
func (r *Room) Leave(id string, now time.Time) (Departure, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.byID[id]
	if !ok {
		return Departure{}, r.errorf("leave", signal.CodeNotFound, "no participant %q", id)
	}
	return r.remove(m, now), nil
}

// Remove is Leave on behalf of host by. It fails with denied if by is not a
// host. A host may remove any participant, including another host.
func (r *Room) Remove(by, id string, now time.Time) (Departure, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.requireHost("remove", by); err != nil {
		return Departure{}, err
	}
	m, ok := r.byID[id]
	if !ok {
		return Departure{}, r.errorf("remove", signal.CodeNotFound, "no participant %q", id)
	}
	return r.remove(m, now), nil
}

func (r *Room) remove(m *member, now time.Time) Departure {
	i := slices.Index(r.members, m)
	r.members = slices.Delete(r.members, i, i+1)
	delete(r.byID, m.p.ID)
	d := Departure{Participant: m.p, Tracks: m.tracks}
	if d.Tracks == nil {
		d.Tracks = []signal.Track{}
	}
	if len(r.members) == 0 {
		r.emptySince = now
	} else if !r.explicit && m.p.Role == signal.RoleHost && !r.hasHost() {
		next := r.members[0] // members is in join order
		next.p.Role = signal.RoleHost
		d.Promoted = append(d.Promoted, next.p)
	}
	return d
}

func (r *Room) requireHost(op, by string) error {
	m, ok := r.byID[by]
	if !ok {
		return r.errorf(op, signal.CodeNotFound, "no participant %q", by)
	}
	if m.p.Role != signal.RoleHost {
		return r.errorf(op, signal.CodeDenied, "only a host may %s", op)
	}
	return nil
}

// AddTrack records a track published by participant pid and returns it with
// ParticipantID set. Track ids are unique per participant. Fails with
// not-found for an unknown participant, bad-request for an invalid or
// duplicate track, and denied past Config.MaxTracks.
func (r *Room) AddTrack(pid string, t signal.Track) (signal.Track, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.byID[pid]
	if !ok {
		return signal.Track{}, r.errorf("publish", signal.CodeNotFound, "no participant %q", pid)
	}
	t.ParticipantID = pid
	if err := t.Validate(); err != nil {
		return signal.Track{}, fmt.Errorf("room %s: publish: %w", r.name, err)
	}
	if m.track(t.ID) >= 0 {
		return signal.Track{}, r.errorf("publish", signal.CodeBadRequest, "track %q is already published", t.ID)
	}
	if len(m.tracks) >= r.maxTracks {
		return signal.Track{}, r.errorf("publish", signal.CodeDenied, "track limit (%d) reached", r.maxTracks)
	}
	m.tracks = append(m.tracks, t)
	return t, nil
}

func (m *member) track(id string) int {
	return slices.IndexFunc(m.tracks, func(t signal.Track) bool { return t.ID == id })
}

// RemoveTrack withdraws one of participant pid's tracks and returns it.
func (r *Room) RemoveTrack(pid, trackID string) (signal.Track, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, i, err := r.findTrack("unpublish", pid, trackID)
	if err != nil {
		return signal.Track{}, err
	}
	t := m.tracks[i]
	m.tracks = slices.Delete(m.tracks, i, i+1)
	return t, nil
}

// SetMuted sets the muted state of one of participant pid's tracks. It
// returns the track and whether the state changed, so that the caller can
// skip broadcasting no-ops.
func (r *Room) SetMuted(pid, trackID string, muted bool) (signal.Track, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, i, err := r.findTrack("mute", pid, trackID)
	if err != nil {
		return signal.Track{}, false, err
	}
	changed := m.tracks[i].Muted != muted
	m.tracks[i].Muted = muted
	return m.tracks[i], changed, nil
}

// MuteOther mutes one of participant pid's tracks on behalf of host by
// (moderator mute). Hosts may only mute: unmuting is the participant's own
// decision. Fails with denied if by is not a host or muted is false.
func (r *Room) MuteOther(by, pid, trackID string, muted bool) (signal.Track, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.requireHost("mute others", by); err != nil {
		return signal.Track{}, false, err
	}
	if !muted {
		return signal.Track{}, false, r.errorf("mute", signal.CodeDenied, "only the participant may unmute their own track")
	}
	m, i, err := r.findTrack("mute", pid, trackID)
	if err != nil {
		return signal.Track{}, false, err
	}
	changed := !m.tracks[i].Muted
	m.tracks[i].Muted = true
	return m.tracks[i], changed, nil
}

func (r *Room) findTrack(op, pid, trackID string) (*member, int, error) {
	m, ok := r.byID[pid]
	if !ok {
		return nil, 0, r.errorf(op, signal.CodeNotFound, "no participant %q", pid)
	}
	i := m.track(trackID)
	if i < 0 {
		return nil, 0, r.errorf(op, signal.CodeNotFound, "no track %q", trackID)
	}
	return m, i, nil
}

// AddChat records a chat message from participant pid. Seq starts at 1 and
// increases by one per message for the room's lifetime; only the last
// Config.ChatHistory messages are kept.
func (r *Room) AddChat(pid, text string, now time.Time) (signal.ChatMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.byID[pid]
	if !ok {
		return signal.ChatMessage{}, r.errorf("chat", signal.CodeNotFound, "no participant %q", pid)
	}
	if err := signal.ValidateChatText(text); err != nil {
		return signal.ChatMessage{}, fmt.Errorf("room %s: chat: %w", r.name, err)
	}
	if n := utf8.RuneCountInString(text); n > r.maxChat {
		return signal.ChatMessage{}, r.errorf("chat", signal.CodeBadRequest, "chat text is %d characters, this room's limit is %d", n, r.maxChat)
	}
	r.seq++
	c := signal.ChatMessage{
		Seq:  r.seq,
		From: pid,
		Name: m.p.Name,
		Text: text,
		// Clamped so that a zero or pre-1970 clock still yields a valid ts.
		TS: max(now.UnixMilli(), 1),
	}
	if r.historyLen > 0 {
		r.chat = append(r.chat, c)
		if len(r.chat) > r.historyLen {
			// Reslicing keeps appends amortised O(1); the old prefix is
			// freed when append next reallocates.
			r.chat = r.chat[len(r.chat)-r.historyLen:]
		}
	}
	return c, nil
}

// SetLocked locks or unlocks the room on behalf of host by.
func (r *Room) SetLocked(by string, locked bool) (signal.RoomInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.requireHost("lock", by); err != nil {
		return signal.RoomInfo{}, err
	}
	r.locked = locked
	return r.info(), nil
}

// SetLimit changes the participant limit on behalf of host by. The limit
// must lie between the current number of participants (nobody is evicted)
// and Config.Limit (the operator's ceiling); otherwise bad-request.
func (r *Room) SetLimit(by string, limit int) (signal.RoomInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.requireHost("set limit", by); err != nil {
		return signal.RoomInfo{}, err
	}
	if lo := max(len(r.members), 1); limit < lo || limit > r.maxLimit {
		return signal.RoomInfo{}, r.errorf("set limit", signal.CodeBadRequest,
			"limit must be from %d to %d, not %d", lo, r.maxLimit, limit)
	}
	r.limit = limit
	return r.info(), nil
}

// End ends the meeting on behalf of host by; see Close.
func (r *Room) End(by string) ([]Participant, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.requireHost("end the meeting", by); err != nil {
		return nil, err
	}
	return r.close(), nil
}

// Close ends the meeting unconditionally (server shutdown, operator). It
// returns the participants who were in the room; the caller tells them
// "ended". Afterwards the room is empty, its chat history is dropped, every
// Join fails with not-found, and ShouldClose reports true.
func (r *Room) Close() []Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.close()
}

func (r *Room) close() []Participant {
	out := make([]Participant, len(r.members))
	for i, m := range r.members {
		out[i] = m.p
	}
	r.ended = true
	r.members = nil
	clear(r.byID)
	r.chat = nil
	return out
}

// Ended reports whether End or Close was called, or CloseIfIdle closed the
// room.
func (r *Room) Ended() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}

// Participant returns the participant with the given id.
func (r *Room) Participant(id string) (Participant, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.byID[id]
	if !ok {
		return Participant{}, false
	}
	return m.p, true
}

// Len returns the number of participants.
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// Snapshot returns the room's current state.
func (r *Room) Snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshot()
}

func (r *Room) snapshot() Snapshot {
	s := Snapshot{
		Room:         r.info(),
		Participants: make([]signal.Participant, 0, len(r.members)),
		Tracks:       []signal.Track{},
		Chat:         slices.Clone(r.chat),
	}
	if s.Chat == nil {
		s.Chat = []signal.ChatMessage{}
	}
	for _, m := range r.members {
		s.Participants = append(s.Participants, m.p.Participant)
		s.Tracks = append(s.Tracks, m.tracks...)
	}
	return s
}

// EmptySince returns when the room last became empty (or was created), and
// false if it has participants or has ended.
func (r *Room) EmptySince() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended || len(r.members) > 0 {
		return time.Time{}, false
	}
	return r.emptySince, true
}

// ShouldClose reports whether the room has ended, or has been empty for at
// least the grace period at time now. A join during the grace period
// cancels it. It only reports; see CloseIfIdle.
func (r *Room) ShouldClose(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shouldClose(now)
}

func (r *Room) shouldClose(now time.Time) bool {
	return r.ended || len(r.members) == 0 && !now.Before(r.emptySince.Add(r.grace))
}

// CloseIfIdle closes the room if ShouldClose(now), atomically, and reports
// whether the room is now closed. A server sweeping idle rooms must use it
// rather than ShouldClose then Close: a Join between the two would be let
// into a room that is about to be discarded. After it returns true, Join
// fails with not-found and the caller should drop the room and create a new
// one for the next hello.
func (r *Room) CloseIfIdle(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.shouldClose(now) {
		return false
	}
	r.close()
	return true
}
