package signal

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Shared value types. They appear inside messages, never on their own.

// Participant is a room member as other members see it.
type Participant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Reconnecting (version 2, in a welcome only): the participant's
	// connection is down and the server keeps their place. The
	// participant-state that said so went out before this client was
	// there to hear it.
	Reconnecting bool `json:"reconnecting,omitempty"`
}

// Validate checks every field.
func (p Participant) Validate() error {
	if err := ValidateID("participant id", p.ID); err != nil {
		return err
	}
	if err := ValidateName(p.Name); err != nil {
		return err
	}
	if !p.Role.Valid() {
		return badRequest("role must be %q or %q, not %q", RoleHost, RoleGuest, p.Role)
	}
	return nil
}

// Track is a published media track. ID is the publisher's msid track id;
// it is unique per participant, so (ParticipantID, ID) identifies a track in
// a room. ParticipantID is set by the server and ignored from clients.
type Track struct {
	ID            string `json:"id"`
	ParticipantID string `json:"participantId,omitempty"`
	Kind          Kind   `json:"kind"`
	Muted         bool   `json:"muted"`
}

// Validate checks every field; ParticipantID only when present.
func (t Track) Validate() error {
	if err := ValidateID("track id", t.ID); err != nil {
		return err
	}
	if t.ParticipantID != "" {
		if err := ValidateID("participant id", t.ParticipantID); err != nil {
			return err
		}
	}
	if !t.Kind.Valid() {
		return badRequest("kind must be %q, %q or %q, not %q", KindAudio, KindVideo, KindScreen, t.Kind)
	}
	return nil
}

func (t Track) validateFromServer() error {
	if t.ParticipantID == "" {
		return badRequest("track %q has no participantId", t.ID)
	}
	return t.Validate()
}

// RoomInfo is a room's public settings.
type RoomInfo struct {
	Name   string `json:"name"`
	Locked bool   `json:"locked"`
	Limit  int    `json:"limit"`
	// Lobby: joiners without an invite token wait for a host to admit
	// them. Optional; absent means false.
	Lobby bool `json:"lobby,omitempty"`
	// MaxBitrate is the host's cap on what each video or screen track
	// sends, in bits per second. Optional; absent or 0: no room cap.
	MaxBitrate int `json:"maxBitrate,omitempty"`
}

// Validate checks every field.
func (r RoomInfo) Validate() error {
	if err := ValidateRoomName(r.Name); err != nil {
		return err
	}
	if r.Limit < 1 {
		return badRequest("room limit must be at least 1, not %d", r.Limit)
	}
	if r.MaxBitrate < 0 {
		return badRequest("room maxBitrate must not be negative, not %d", r.MaxBitrate)
	}
	return nil
}

// ICEServer mirrors the browser's RTCIceServer, with urls always an array.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Validate checks every field.
func (s ICEServer) Validate() error {
	if len(s.URLs) == 0 {
		return badRequest("ice server has no urls")
	}
	for _, u := range s.URLs {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") &&
			!strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return badRequest("ice server url %q is not stun:, stuns:, turn: or turns:", u)
		}
		if err := validLine("ice server url", u, 1024); err != nil {
			return err
		}
	}
	if err := validLine("ice username", s.Username, 1024); err != nil {
		return err
	}
	return validLine("ice credential", s.Credential, 1024)
}

// ChatMessage is one chat line as stored and broadcast by the server.
type ChatMessage struct {
	// Seq increases by one per message in a room, starting at 1.
	Seq  int64  `json:"seq"`
	From string `json:"from"`
	// Name is the sender's name when the message was sent.
	Name string `json:"name"`
	Text string `json:"text"`
	// TS is the server's receive time in Unix milliseconds.
	TS int64 `json:"ts"`
}

// Validate checks every field.
func (c ChatMessage) Validate() error {
	if c.Seq < 1 {
		return badRequest("chat seq must be positive")
	}
	if err := ValidateID("chat from", c.From); err != nil {
		return err
	}
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	if err := ValidateChatText(c.Text); err != nil {
		return err
	}
	if c.TS < 1 {
		return badRequest("chat ts must be positive")
	}
	return nil
}

// ICECandidate mirrors the browser's RTCIceCandidateInit (and pion's
// webrtc.ICECandidateInit, which has the same JSON shape).
type ICECandidate struct {
	// Candidate is an SDP candidate attribute ("candidate:..."), or "" to
	// signal the end of a generation's candidates as browsers do.
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// Validate checks every field.
func (c ICECandidate) Validate() error {
	if c.Candidate != "" && !strings.HasPrefix(c.Candidate, "candidate:") {
		return badRequest("candidate does not start with \"candidate:\"")
	}
	if err := validLine("candidate", c.Candidate, MaxCandidateSize); err != nil {
		return err
	}
	if c.SDPMid != nil {
		if err := validLine("sdpMid", *c.SDPMid, 64); err != nil {
			return err
		}
	}
	if c.UsernameFragment != nil {
		if err := validLine("usernameFragment", *c.UsernameFragment, 256); err != nil {
			return err
		}
	}
	return nil
}

// Client to server.

// Hello must be the first message a client sends. The server answers with
// Welcome, or with Error and closes the connection.
type Hello struct {
	ID       int64  `json:"id,omitempty"`
	Version  int    `json:"version"`
	Room     string `json:"room"`
	Name     string `json:"name"`
	Password string `json:"password,omitempty"`
	// Token is an invite token from the link (its fragment's t=); it
	// stands in for the password and the lobby.
	Token string `json:"token,omitempty"`
	// Resume (version 2) is welcome.resumeToken of a session whose
	// connection dropped: the server gives this connection that session
	// back (same participant, PeerConnections kept) instead of a new one.
	Resume string `json:"resume,omitempty"`
	// Device is an id the joining browser or app keeps across meetings
	// (no account: a random one, in its own storage). A host's removal
	// holds against it: that device comes back only if a host admits it.
	Device string `json:"device,omitempty"`
}

func (*Hello) Type() string       { return TypeHello }
func (m *Hello) MessageID() int64 { return m.ID }

// Validate checks the fields' form; CheckVersion checks compatibility.
func (m *Hello) Validate() error {
	if m.Version < 1 {
		return badRequest("hello: version must be a positive integer")
	}
	if err := ValidateRoomName(m.Room); err != nil {
		return err
	}
	if err := ValidateName(m.Name); err != nil {
		return err
	}
	if len(m.Password) > MaxPasswordBytes {
		return badRequest("hello: password is longer than %d bytes", MaxPasswordBytes)
	}
	if err := ValidateToken("hello: token", m.Token); err != nil {
		return err
	}
	if err := ValidateToken("hello: resume", m.Resume); err != nil {
		return err
	}
	if m.Device != "" {
		return ValidateID("hello: device", m.Device)
	}
	return nil
}

// CheckVersion returns a CodeVersion error unless the client speaks a
// version from MinVersion to Version.
func (m *Hello) CheckVersion() error {
	if m.Version < MinVersion || m.Version > Version {
		return &Error{ID: m.ID, Code: CodeVersion,
			Message: "client speaks protocol version " + strconv.Itoa(m.Version) +
				", this server speaks " + strconv.Itoa(MinVersion) + " to " + strconv.Itoa(Version)}
	}
	return nil
}

// Publish announces a track on the publish PeerConnection. Track.ID must
// equal the msid track id of that track in the client's SDP.
type Publish struct {
	ID    int64 `json:"id,omitempty"`
	Track Track `json:"track"`
}

func (*Publish) Type() string       { return TypePublish }
func (m *Publish) MessageID() int64 { return m.ID }
func (m *Publish) Validate() error  { return m.Track.Validate() }

// Unpublish withdraws one of the client's tracks.
type Unpublish struct {
	ID      int64  `json:"id,omitempty"`
	TrackID string `json:"trackId"`
}

func (*Unpublish) Type() string       { return TypeUnpublish }
func (m *Unpublish) MessageID() int64 { return m.ID }
func (m *Unpublish) Validate() error  { return ValidateID("trackId", m.TrackID) }

// Leave announces a clean departure; the server then closes the socket.
type Leave struct {
	ID int64 `json:"id,omitempty"`
}

func (*Leave) Type() string       { return TypeLeave }
func (m *Leave) MessageID() int64 { return m.ID }
func (m *Leave) Validate() error  { return nil }

// Lock (host only) locks or unlocks the room; a locked room refuses joins.
type Lock struct {
	ID     int64 `json:"id,omitempty"`
	Locked bool  `json:"locked"`
}

func (*Lock) Type() string       { return TypeLock }
func (m *Lock) MessageID() int64 { return m.ID }
func (m *Lock) Validate() error  { return nil }

// Remove (host only) removes another participant from the room.
type Remove struct {
	ID            int64  `json:"id,omitempty"`
	ParticipantID string `json:"participantId"`
}

func (*Remove) Type() string       { return TypeRemove }
func (m *Remove) MessageID() int64 { return m.ID }
func (m *Remove) Validate() error  { return ValidateID("participantId", m.ParticipantID) }

// Admit (host only, version 2) lets a knocking joiner into the room.
type Admit struct {
	ID      int64  `json:"id,omitempty"`
	KnockID string `json:"knockId"`
}

func (*Admit) Type() string       { return TypeAdmit }
func (m *Admit) MessageID() int64 { return m.ID }
func (m *Admit) Validate() error  { return ValidateID("knockId", m.KnockID) }

// Deny (host only, version 2) turns a knocking joiner away.
type Deny struct {
	ID      int64  `json:"id,omitempty"`
	KnockID string `json:"knockId"`
}

func (*Deny) Type() string       { return TypeDeny }
func (m *Deny) MessageID() int64 { return m.ID }
func (m *Deny) Validate() error  { return ValidateID("knockId", m.KnockID) }

// End (host only) ends the meeting for everyone.
type End struct {
	ID int64 `json:"id,omitempty"`
}

func (*End) Type() string       { return TypeEnd }
func (m *End) MessageID() int64 { return m.ID }
func (m *End) Validate() error  { return nil }

// Both directions.

// Offer carries an SDP offer: from the client for the publish PC, from the
// server for the subscribe PC.
type Offer struct {
	ID  int64  `json:"id,omitempty"`
	PC  PC     `json:"pc"`
	SDP string `json:"sdp"`
}

func (*Offer) Type() string       { return TypeOffer }
func (m *Offer) MessageID() int64 { return m.ID }
func (m *Offer) Validate() error {
	if err := validPC(m.PC); err != nil {
		return err
	}
	return validSDP(m.SDP)
}

// Answer carries an SDP answer: from the server for the publish PC, from
// the client for the subscribe PC.
type Answer struct {
	ID  int64  `json:"id,omitempty"`
	PC  PC     `json:"pc"`
	SDP string `json:"sdp"`
}

func (*Answer) Type() string       { return TypeAnswer }
func (m *Answer) MessageID() int64 { return m.ID }
func (m *Answer) Validate() error {
	if err := validPC(m.PC); err != nil {
		return err
	}
	return validSDP(m.SDP)
}

// Candidate trickles one ICE candidate for a PeerConnection; a nil
// Candidate (JSON null) means the sender has no more candidates.
type Candidate struct {
	ID        int64         `json:"id,omitempty"`
	PC        PC            `json:"pc"`
	Candidate *ICECandidate `json:"candidate"`
}

func (*Candidate) Type() string       { return TypeCandidate }
func (m *Candidate) MessageID() int64 { return m.ID }
func (m *Candidate) Validate() error {
	if err := validPC(m.PC); err != nil {
		return err
	}
	if m.Candidate == nil {
		return nil
	}
	return m.Candidate.Validate()
}

// Mute changes a track's muted state. From a client it refers to one of its
// own tracks, or (version 2, hosts only, muting only) to another
// participant's track named by ParticipantID; version 1 servers ignore
// ParticipantID from clients. From the server ParticipantID names the
// track's owner and By, when set, the host who muted it.
type Mute struct {
	ID            int64  `json:"id,omitempty"`
	TrackID       string `json:"trackId"`
	ParticipantID string `json:"participantId,omitempty"`
	Muted         bool   `json:"muted"`
	By            string `json:"by,omitempty"`
}

func (*Mute) Type() string       { return TypeMute }
func (m *Mute) MessageID() int64 { return m.ID }
func (m *Mute) Validate() error {
	if err := ValidateID("trackId", m.TrackID); err != nil {
		return err
	}
	if m.ParticipantID != "" {
		if err := ValidateID("participantId", m.ParticipantID); err != nil {
			return err
		}
	}
	if m.By != "" {
		return ValidateID("by", m.By)
	}
	return nil
}

// Chat is a chat message. A client sends only Text; the server broadcasts
// it to everyone (sender included) with Seq, From, Name and TS filled in,
// and ignores those fields from clients.
type Chat struct {
	ID   int64  `json:"id,omitempty"`
	Seq  int64  `json:"seq,omitempty"`
	From string `json:"from,omitempty"`
	Name string `json:"name,omitempty"`
	Text string `json:"text"`
	TS   int64  `json:"ts,omitempty"`
}

func (*Chat) Type() string       { return TypeChat }
func (m *Chat) MessageID() int64 { return m.ID }

// Validate checks Text, and the server fields only if any is set.
func (m *Chat) Validate() error {
	if m.Seq == 0 && m.From == "" && m.Name == "" && m.TS == 0 {
		return ValidateChatText(m.Text)
	}
	return m.Message().Validate()
}

// Message returns the stored form of a server-sent chat.
func (m *Chat) Message() ChatMessage {
	return ChatMessage{Seq: m.Seq, From: m.From, Name: m.Name, Text: m.Text, TS: m.TS}
}

// NewChat returns the broadcast form of a stored chat message.
func NewChat(c ChatMessage) *Chat {
	return &Chat{Seq: c.Seq, From: c.From, Name: c.Name, Text: c.Text, TS: c.TS}
}

// Server to client.

// Welcome accepts a hello. Participants includes the receiver itself, so
// that it learns its own role; Tracks lists every track already published;
// Chat is the recent history, oldest first.
type Welcome struct {
	ID            int64         `json:"id,omitempty"`
	Version       int           `json:"version"`
	ParticipantID string        `json:"participantId"`
	Room          RoomInfo      `json:"room"`
	Participants  []Participant `json:"participants"`
	Tracks        []Track       `json:"tracks"`
	ICEServers    []ICEServer   `json:"iceServers"`
	Chat          []ChatMessage `json:"chat"`
	// Knocks (version 2, hosts only) are the joiners waiting in the lobby.
	Knocks []Knock `json:"knocks,omitempty"`
	// ResumeToken (version 2) lets the client resume this session after a
	// dropped connection (hello.resume), within 30 seconds.
	ResumeToken string `json:"resumeToken,omitempty"`
	// Resumed (version 2): this welcome answers hello.resume; the state is
	// the room's current one and chat holds what was missed (by seq).
	Resumed bool `json:"resumed,omitempty"`
}

func (*Welcome) Type() string       { return TypeWelcome }
func (m *Welcome) MessageID() int64 { return m.ID }
func (m *Welcome) Validate() error {
	if m.Version < 1 {
		return badRequest("welcome: version must be a positive integer")
	}
	if err := ValidateID("participantId", m.ParticipantID); err != nil {
		return err
	}
	if err := m.Room.Validate(); err != nil {
		return err
	}
	self := false
	for _, p := range m.Participants {
		if err := p.Validate(); err != nil {
			return err
		}
		self = self || p.ID == m.ParticipantID
	}
	if !self {
		return badRequest("welcome: participants does not include %q", m.ParticipantID)
	}
	for _, t := range m.Tracks {
		if err := t.validateFromServer(); err != nil {
			return err
		}
	}
	for _, s := range m.ICEServers {
		if err := s.Validate(); err != nil {
			return err
		}
	}
	for _, c := range m.Chat {
		if err := c.Validate(); err != nil {
			return err
		}
	}
	for _, k := range m.Knocks {
		if err := k.Validate(); err != nil {
			return err
		}
	}
	return ValidateToken("welcome: resumeToken", m.ResumeToken)
}

// (Error, the "error" message, is defined in errors.go.)

func (*Error) Type() string       { return TypeError }
func (e *Error) MessageID() int64 { return e.ID }

// Validate accepts any well-formed code, not just the known ones, so that
// a client keeps working when a newer server adds a code.
func (e *Error) Validate() error {
	if err := validSlug("error code", string(e.Code)); err != nil {
		return err
	}
	if !utf8.ValidString(e.Message) || utf8.RuneCountInString(e.Message) > MaxErrorMessageRunes {
		return badRequest("error message is longer than %d characters", MaxErrorMessageRunes)
	}
	return nil
}

// ParticipantJoined announces a new participant to everyone else.
type ParticipantJoined struct {
	ID          int64       `json:"id,omitempty"`
	Participant Participant `json:"participant"`
}

func (*ParticipantJoined) Type() string       { return TypeParticipantJoined }
func (m *ParticipantJoined) MessageID() int64 { return m.ID }
func (m *ParticipantJoined) Validate() error  { return m.Participant.Validate() }

// ParticipantLeft announces a departure. The participant's tracks are gone
// with it; no track-unpublished messages are sent for them.
type ParticipantLeft struct {
	ID            int64       `json:"id,omitempty"`
	ParticipantID string      `json:"participantId"`
	Reason        LeaveReason `json:"reason"`
}

func (*ParticipantLeft) Type() string       { return TypeParticipantLeft }
func (m *ParticipantLeft) MessageID() int64 { return m.ID }
func (m *ParticipantLeft) Validate() error {
	if err := ValidateID("participantId", m.ParticipantID); err != nil {
		return err
	}
	if !m.Reason.Valid() {
		return badRequest("participant-left: unknown reason %q", m.Reason)
	}
	return nil
}

// ParticipantUpdated announces a changed participant, for example a guest
// promoted to host when the last host left. It goes to everyone, including
// the participant concerned.
type ParticipantUpdated struct {
	ID          int64       `json:"id,omitempty"`
	Participant Participant `json:"participant"`
}

func (*ParticipantUpdated) Type() string       { return TypeParticipantUpdated }
func (m *ParticipantUpdated) MessageID() int64 { return m.ID }
func (m *ParticipantUpdated) Validate() error  { return m.Participant.Validate() }

// TrackPublished announces a track that can now be subscribed to.
type TrackPublished struct {
	ID    int64 `json:"id,omitempty"`
	Track Track `json:"track"`
}

func (*TrackPublished) Type() string       { return TypeTrackPublished }
func (m *TrackPublished) MessageID() int64 { return m.ID }
func (m *TrackPublished) Validate() error  { return m.Track.validateFromServer() }

// TrackUnpublished announces that a track was withdrawn.
type TrackUnpublished struct {
	ID            int64  `json:"id,omitempty"`
	TrackID       string `json:"trackId"`
	ParticipantID string `json:"participantId"`
}

func (*TrackUnpublished) Type() string       { return TypeTrackUnpublished }
func (m *TrackUnpublished) MessageID() int64 { return m.ID }
func (m *TrackUnpublished) Validate() error {
	if err := ValidateID("trackId", m.TrackID); err != nil {
		return err
	}
	return ValidateID("participantId", m.ParticipantID)
}

// Speaking reports voice activity. Level is 0 (silence, -127 dBov) to 127
// (0 dBov): 127 minus the RFC 6464 audio level, so that louder is larger.
type Speaking struct {
	ID            int64  `json:"id,omitempty"`
	ParticipantID string `json:"participantId"`
	Speaking      bool   `json:"speaking"`
	Level         int    `json:"level"`
}

func (*Speaking) Type() string       { return TypeSpeaking }
func (m *Speaking) MessageID() int64 { return m.ID }
func (m *Speaking) Validate() error {
	if err := ValidateID("participantId", m.ParticipantID); err != nil {
		return err
	}
	if m.Level < 0 || m.Level > MaxLevel {
		return badRequest("speaking: level must be 0 to %d, not %d", MaxLevel, m.Level)
	}
	return nil
}

// RoomUpdate (type "room") announces changed room settings.
type RoomUpdate struct {
	ID     int64  `json:"id,omitempty"`
	Name   string `json:"name"`
	Locked bool   `json:"locked"`
	Limit  int    `json:"limit"`
}

func (*RoomUpdate) Type() string       { return TypeRoom }
func (m *RoomUpdate) MessageID() int64 { return m.ID }
func (m *RoomUpdate) Validate() error  { return m.Info().Validate() }

// Info returns the settings without the message id.
func (m *RoomUpdate) Info() RoomInfo { return RoomInfo{Name: m.Name, Locked: m.Locked, Limit: m.Limit} }

// NewRoomUpdate returns the broadcast form of room settings.
func NewRoomUpdate(r RoomInfo) *RoomUpdate {
	return &RoomUpdate{Name: r.Name, Locked: r.Locked, Limit: r.Limit}
}

// Ended tells a client that its session is over; the server closes the
// socket right after.
type Ended struct {
	ID     int64     `json:"id,omitempty"`
	Reason EndReason `json:"reason"`
}

func (*Ended) Type() string       { return TypeEnded }
func (m *Ended) MessageID() int64 { return m.ID }
func (m *Ended) Validate() error {
	if !m.Reason.Valid() {
		return badRequest("ended: unknown reason %q", m.Reason)
	}
	return nil
}

// Version 2: the lobby.

// Knock is a joiner waiting in a room's lobby, as hosts see it. ID is the
// knock's id (not a participant id: the joiner gets one when admitted).
type Knock struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Removed: a host removed this device from the meeting earlier.
	Removed bool `json:"removed,omitempty"`
}

// Validate checks every field.
func (k Knock) Validate() error {
	if err := ValidateID("knock id", k.ID); err != nil {
		return err
	}
	return ValidateName(k.Name)
}

// Waiting tells a joiner that the room has a lobby and a host has been
// asked to let them in; welcome (admitted) or error denied (turned away)
// follows.
type Waiting struct {
	ID int64 `json:"id,omitempty"`
}

func (*Waiting) Type() string       { return TypeWaiting }
func (m *Waiting) MessageID() int64 { return m.ID }
func (m *Waiting) Validate() error  { return nil }

// KnockMsg (type "knock") tells hosts that someone waits in the lobby.
type KnockMsg struct {
	ID    int64 `json:"id,omitempty"`
	Knock Knock `json:"knock"`
}

func (*KnockMsg) Type() string       { return TypeKnock }
func (m *KnockMsg) MessageID() int64 { return m.ID }
func (m *KnockMsg) Validate() error  { return m.Knock.Validate() }

// KnockEnded tells hosts that a knock was dealt with (by which host, for
// admitted and denied), so that every host's lobby list stays the same.
type KnockEnded struct {
	ID      int64        `json:"id,omitempty"`
	KnockID string       `json:"knockId"`
	Outcome KnockOutcome `json:"outcome"`
	By      string       `json:"by,omitempty"`
}

func (*KnockEnded) Type() string       { return TypeKnockEnded }
func (m *KnockEnded) MessageID() int64 { return m.ID }
func (m *KnockEnded) Validate() error {
	if err := ValidateID("knockId", m.KnockID); err != nil {
		return err
	}
	if !m.Outcome.Valid() {
		return badRequest("knock-ended: unknown outcome %q", m.Outcome)
	}
	if m.By != "" {
		return ValidateID("by", m.By)
	}
	return nil
}

// Version 2: resumption.

// ParticipantState announces that a participant's connection dropped
// (reconnecting: their place and media are kept while they may resume) or
// came back (connected). A participant that does not come back leaves with
// participant-left, reason gone.
type ParticipantState struct {
	ID            int64     `json:"id,omitempty"`
	ParticipantID string    `json:"participantId"`
	State         ConnState `json:"state"`
}

func (*ParticipantState) Type() string       { return TypeParticipantState }
func (m *ParticipantState) MessageID() int64 { return m.ID }
func (m *ParticipantState) Validate() error {
	if err := ValidateID("participantId", m.ParticipantID); err != nil {
		return err
	}
	if !m.State.Valid() {
		return badRequest("participant-state: unknown state %q", m.State)
	}
	return nil
}

// Ping (version 3) asks the server for a pong with the same id. It is the
// heartbeat of clients that cannot send WebSocket pings (browsers): a
// silently cut network never closes a WebSocket by itself, so such a client
// learns that its connection is dead only when pongs stop coming.
type Ping struct {
	ID int64 `json:"id,omitempty"`
}

func (*Ping) Type() string       { return TypePing }
func (m *Ping) MessageID() int64 { return m.ID }
func (m *Ping) Validate() error  { return nil }

// Pong (version 3) answers a ping, carrying its id.
type Pong struct {
	ID int64 `json:"id,omitempty"`
}

func (*Pong) Type() string       { return TypePong }
func (m *Pong) MessageID() int64 { return m.ID }
func (m *Pong) Validate() error  { return nil }

// Restart (version 2) asks the server for an ICE restart of the subscribe
// PeerConnection: it answers with a subscribe offer with fresh ICE
// credentials. (The client restarts publish itself, by re-offering.)
type Restart struct {
	ID int64 `json:"id,omitempty"`
	PC PC    `json:"pc"`
}

func (*Restart) Type() string       { return TypeRestart }
func (m *Restart) MessageID() int64 { return m.ID }
func (m *Restart) Validate() error {
	if m.PC != PCSubscribe {
		return badRequest("restart: only the subscribe PeerConnection is restarted by the server")
	}
	return nil
}

// Pause (version 2) stops or resumes the forwarding of another
// participant's track to the sender, which keeps it subscribed: a client
// pauses the video of tiles it does not show, and resumes it (starting at
// a keyframe) when it shows them again.
//
// ReferenceOnly (with Paused false) asks for only the frames that later
// frames refer to, for a tile drawn small: the server leaves out the VP8
// frames their sender marked non-reference (half of a Parley desktop
// camera's) and renumbers the rest so that they show no gap. Servers
// that predate it ignore it and send everything.
type Pause struct {
	ID            int64  `json:"id,omitempty"`
	ParticipantID string `json:"participantId"`
	TrackID       string `json:"trackId"`
	Paused        bool   `json:"paused"`
	ReferenceOnly bool   `json:"referenceOnly,omitempty"`
}

func (*Pause) Type() string       { return TypePause }
func (m *Pause) MessageID() int64 { return m.ID }
func (m *Pause) Validate() error {
	if err := ValidateID("participantId", m.ParticipantID); err != nil {
		return err
	}
	return ValidateID("trackId", m.TrackID)
}
