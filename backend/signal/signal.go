// Package signal defines Parley's signaling wire protocol: the JSON messages
// exchanged over the /ws WebSocket, their validation rules, error codes and
// limits. It does no I/O besides encoding and decoding; PROTOCOL.md in this
// directory is the normative description for third-party clients.
//
// Every message is one JSON object {"type": "...", "id": n, ...}. Each type
// string maps to exactly one Go struct below; Decode returns a pointer to it
// (for example *Hello) so that callers can use a type switch.
package signal

// Version is the newest protocol version this package speaks. It changes
// only for incompatible changes: a new enum value or message type that an
// old peer would reject counts as incompatible, because decoding is strict.
//
// Version 2 added the lobby (waiting, knock, knock-ended, admit, deny),
// session resumption (participant-state, restart), and moderator mute.
// Version 3 added ping and pong, a heartbeat for clients that cannot send
// WebSocket pings (browsers). A server speaks every version from MinVersion
// to Version and sends a client only the messages of the version it asked
// for.
const Version = 3

// ClientVersion is the version Parley's Go client (the desktop app, bots)
// asks for, and the one its LAN listings advertise: it needs nothing of
// version 3 (ping, for browsers), and copies of Parley that speak only up
// to 2 then still join, and list, the hosts of this build.
const ClientVersion = 2

// MinVersion is the oldest protocol version a server still accepts.
const MinVersion = 1

// CloseResuming is the WebSocket close status of a client that gives up
// on a connection it will resume (its pings went unanswered): the server
// keeps its session for the whole resume window. A connection that just
// closes, as a process that died leaves it, is kept only a few seconds.
const CloseResuming = 4000

// Limits. They bound what a peer can make the other side allocate or store.
const (
	// MaxMessageSize bounds one message sent by a client. Servers should set
	// their WebSocket read limit to this value.
	MaxMessageSize = 64 << 10
	// MaxServerMessageSize bounds one message sent by the server. It is larger
	// than MaxMessageSize because welcome carries the room's chat history;
	// clients should set their WebSocket read limit to this value.
	MaxServerMessageSize = 8 << 20
	// MaxSDPSize bounds an offer or answer SDP, in bytes.
	MaxSDPSize = 32 << 10
	// MaxCandidateSize bounds an ICE candidate line, in bytes.
	MaxCandidateSize = 1024
	// MaxNameRunes bounds a participant's display name.
	MaxNameRunes = 64
	// MaxRoomNameRunes bounds a room name.
	MaxRoomNameRunes = 64
	// MaxChatRunes bounds one chat message's text.
	MaxChatRunes = 4000
	// MaxPasswordBytes bounds a room password.
	MaxPasswordBytes = 256
	// MaxIDBytes bounds participant and track ids; it matches the RFC 8830
	// msid limit because track ids travel in SDP msid attributes.
	MaxIDBytes = 64
	// MaxErrorMessageRunes bounds the human-readable text of an error.
	MaxErrorMessageRunes = 1024
	// MaxMessageID is the largest message id: 2^53-1, the largest integer a
	// JavaScript client can echo back exactly.
	MaxMessageID = 1<<53 - 1
	// MaxLevel is the loudest value of Speaking.Level.
	MaxLevel = 127
)

// Message type strings.
const (
	// Client to server.
	TypeHello     = "hello"
	TypePublish   = "publish"
	TypeUnpublish = "unpublish"
	TypeLeave     = "leave"
	TypeLock      = "lock"    // host only
	TypeRemove    = "remove"  // host only
	TypeEnd       = "end"     // host only
	TypeAdmit     = "admit"   // host only, version 2
	TypeDeny      = "deny"    // host only, version 2
	TypeRestart   = "restart" // version 2
	TypePause     = "pause"   // version 2
	TypePing      = "ping"    // version 3

	// Both directions.
	TypeOffer     = "offer"
	TypeAnswer    = "answer"
	TypeCandidate = "candidate"
	TypeMute      = "mute"
	TypeChat      = "chat"

	// Server to client.
	TypeWelcome            = "welcome"
	TypeError              = "error"
	TypeParticipantJoined  = "participant-joined"
	TypeParticipantLeft    = "participant-left"
	TypeParticipantUpdated = "participant-updated"
	TypeTrackPublished     = "track-published"
	TypeTrackUnpublished   = "track-unpublished"
	TypeSpeaking           = "speaking"
	TypeRoom               = "room"
	TypeEnded              = "ended"
	// Version 2.
	TypeWaiting          = "waiting"
	TypeKnock            = "knock"
	TypeKnockEnded       = "knock-ended"
	TypeParticipantState = "participant-state"
	// Version 3.
	TypePong = "pong"
)

// Message is implemented by a pointer to each message struct.
type Message interface {
	// Type is the message's "type" string.
	Type() string
	// MessageID is the optional "id" (0 when absent) that replies echo.
	MessageID() int64
	// Validate reports a *Error with CodeBadRequest if a field is invalid.
	Validate() error
}

// PC names one of a participant's two PeerConnections.
type PC string

const (
	// PCPublish carries the client's media to the server; the client offers.
	PCPublish PC = "publish"
	// PCSubscribe carries other participants' media to the client; the
	// server offers.
	PCSubscribe PC = "subscribe"
)

// Valid reports whether p is a known PeerConnection name.
func (p PC) Valid() bool { return p == PCPublish || p == PCSubscribe }

// Kind is what a track carries. Screen shares are video on the wire; the
// separate kind lets receivers lay them out differently.
type Kind string

const (
	KindAudio  Kind = "audio"
	KindVideo  Kind = "video"
	KindScreen Kind = "screen"
)

// Valid reports whether k is a known track kind.
func (k Kind) Valid() bool { return k == KindAudio || k == KindVideo || k == KindScreen }

// Role is a participant's role in a room. Hosts may lock the room, remove
// participants and end the meeting.
type Role string

const (
	RoleHost  Role = "host"
	RoleGuest Role = "guest"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleHost || r == RoleGuest }

// LeaveReason says why a participant left, in participant-left.
type LeaveReason string

const (
	// ReasonLeft: the participant sent leave or closed the socket cleanly.
	ReasonLeft LeaveReason = "left"
	// ReasonGone: the connection was lost.
	ReasonGone LeaveReason = "gone"
	// ReasonRemoved: a host removed the participant.
	ReasonRemoved LeaveReason = "removed"
)

// Valid reports whether r is a known leave reason.
func (r LeaveReason) Valid() bool { return r == ReasonLeft || r == ReasonGone || r == ReasonRemoved }

// EndReason says why the server ended a client's session, in ended.
type EndReason string

const (
	// EndHostEnded: a host ended the meeting for everyone.
	EndHostEnded EndReason = "host-ended"
	// EndRemoved: a host removed this participant.
	EndRemoved EndReason = "removed"
	// EndShutdown: the server is shutting down.
	EndShutdown EndReason = "shutdown"
)

// Valid reports whether r is a known end reason.
func (r EndReason) Valid() bool {
	return r == EndHostEnded || r == EndRemoved || r == EndShutdown
}

// KnockOutcome says how a knock ended, in knock-ended.
type KnockOutcome string

const (
	// KnockAdmitted: a host let the knocker in.
	KnockAdmitted KnockOutcome = "admitted"
	// KnockDenied: a host turned the knocker away.
	KnockDenied KnockOutcome = "denied"
	// KnockWithdrawn: the knocker went away (or waited too long) first.
	KnockWithdrawn KnockOutcome = "withdrawn"
)

// Valid reports whether o is a known knock outcome.
func (o KnockOutcome) Valid() bool {
	return o == KnockAdmitted || o == KnockDenied || o == KnockWithdrawn
}

// ConnState is a participant's connection state, in participant-state.
type ConnState string

const (
	// StateConnected: the participant is (again) connected.
	StateConnected ConnState = "connected"
	// StateReconnecting: the participant's connection dropped; the server
	// keeps their place (and media) while they may resume.
	StateReconnecting ConnState = "reconnecting"
)

// Valid reports whether s is a known connection state.
func (s ConnState) Valid() bool { return s == StateConnected || s == StateReconnecting }

// SupportedVersions lists every protocol version from MinVersion to
// Version: what a server speaks, and so which rooms a client can join.
func SupportedVersions() []int {
	out := make([]int, 0, Version-MinVersion+1)
	for v := MinVersion; v <= Version; v++ {
		out = append(out, v)
	}
	return out
}
