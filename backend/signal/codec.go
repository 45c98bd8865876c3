package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"unicode/utf8"
)

// Envelope holds the fields common to every message. Decode reads it first
// to pick the message struct.
type Envelope struct {
	Type string `json:"type"`
	ID   int64  `json:"id,omitempty"`
}

// direction says who may send a message type.
type direction int

const (
	fromEither direction = iota
	fromClient
	fromServer
)

// newMessage returns an empty message for a type string, or nil.
func newMessage(t string) (Message, direction) {
	switch t {
	case TypeHello:
		return new(Hello), fromClient
	case TypePublish:
		return new(Publish), fromClient
	case TypeUnpublish:
		return new(Unpublish), fromClient
	case TypeLeave:
		return new(Leave), fromClient
	case TypeLock:
		return new(Lock), fromClient
	case TypeRemove:
		return new(Remove), fromClient
	case TypeEnd:
		return new(End), fromClient
	case TypeAdmit:
		return new(Admit), fromClient
	case TypeDeny:
		return new(Deny), fromClient
	case TypeRestart:
		return new(Restart), fromClient
	case TypePause:
		return new(Pause), fromClient
	case TypePing:
		return new(Ping), fromClient
	case TypeOffer:
		return new(Offer), fromEither
	case TypeAnswer:
		return new(Answer), fromEither
	case TypeCandidate:
		return new(Candidate), fromEither
	case TypeMute:
		return new(Mute), fromEither
	case TypeChat:
		return new(Chat), fromEither
	case TypeWelcome:
		return new(Welcome), fromServer
	case TypeError:
		return new(Error), fromServer
	case TypeParticipantJoined:
		return new(ParticipantJoined), fromServer
	case TypeParticipantLeft:
		return new(ParticipantLeft), fromServer
	case TypeParticipantUpdated:
		return new(ParticipantUpdated), fromServer
	case TypeTrackPublished:
		return new(TrackPublished), fromServer
	case TypeTrackUnpublished:
		return new(TrackUnpublished), fromServer
	case TypeSpeaking:
		return new(Speaking), fromServer
	case TypeRoom:
		return new(RoomUpdate), fromServer
	case TypeEnded:
		return new(Ended), fromServer
	case TypeWaiting:
		return new(Waiting), fromServer
	case TypeKnock:
		return new(KnockMsg), fromServer
	case TypeKnockEnded:
		return new(KnockEnded), fromServer
	case TypeParticipantState:
		return new(ParticipantState), fromServer
	case TypePong:
		return new(Pong), fromServer
	}
	return nil, fromEither
}

// Decode parses and validates one message of any type and direction, from
// at most MaxMessageSize bytes. Every failure is a *Error: CodeTooLarge for
// oversized input, CodeBadRequest otherwise, carrying the message's id when
// it could be read. Unknown fields are ignored.
//
// Servers should use DecodeClient and clients DecodeServer, which also
// enforce who may send what.
func Decode(data []byte) (Message, error) {
	return decode(data, MaxMessageSize, fromEither)
}

// DecodeClient is Decode for a server reading a client: it rejects types
// only the server sends and offers/answers on the wrong PeerConnection, and
// it clears the fields the server owns (Track.ParticipantID in publish,
// By in mute, Seq/From/Name/TS in chat) before validating, so that what a
// client puts there is ignored. Mute's ParticipantID is kept: version 2
// hosts name the participant they mute (a version 1 session ignores it).
func DecodeClient(data []byte) (Message, error) {
	return decode(data, MaxMessageSize, fromClient)
}

// DecodeServer is Decode for a client reading the server: input may be up
// to MaxServerMessageSize bytes, types only clients send are rejected, and
// the fields the server must fill in are required.
func DecodeServer(data []byte) (Message, error) {
	return decode(data, MaxServerMessageSize, fromServer)
}

func decode(data []byte, limit int, from direction) (Message, error) {
	if len(data) > limit {
		return nil, Errorf(CodeTooLarge, "message is %d bytes, the limit is %d", len(data), limit)
	}
	// WebSocket text frames must be UTF-8 anyway; rejecting here means that
	// encoding/json never substitutes U+FFFD, so a decoded message
	// re-encodes to the same value.
	if !utf8.Valid(data) {
		return nil, badRequest("message is not valid UTF-8")
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, jsonError(err)
	}
	fail := func(err error) (Message, error) {
		e := AsError(err, env.ID)
		e.Code = CodeBadRequest
		return nil, e
	}
	if env.ID < 0 || env.ID > MaxMessageID {
		return nil, badRequest("id must be an integer from 0 to %d", int64(MaxMessageID))
	}
	if env.Type == "" {
		return fail(badRequest("message has no type"))
	}
	msg, dir := newMessage(env.Type)
	if msg == nil {
		return fail(badRequest("unknown message type %q", env.Type))
	}
	if from != fromEither && dir != fromEither && dir != from {
		return fail(badRequest("%q is not sent by the %s", env.Type, senderName(from)))
	}
	if err := json.Unmarshal(data, msg); err != nil {
		return fail(jsonError(err))
	}
	switch from {
	case fromClient:
		clearServerFields(msg)
		if err := checkClientPC(msg); err != nil {
			return fail(err)
		}
	case fromServer:
		if err := checkServerFields(msg); err != nil {
			return fail(err)
		}
	}
	if err := msg.Validate(); err != nil {
		return fail(err)
	}
	return msg, nil
}

func senderName(from direction) string {
	if from == fromClient {
		return "client"
	}
	return "server"
}

// jsonError turns an encoding/json error into a bad-request whose text
// names the JSON field rather than Go types.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return badRequest("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ) && typ.Field == "":
		return badRequest("message must be a JSON object, not %s", typ.Value)
	case errors.As(err, &typ):
		return badRequest("field %q has the wrong type (%s)", typ.Field, typ.Value)
	}
	return badRequest("malformed message: %v", err)
}

func clearServerFields(msg Message) {
	switch m := msg.(type) {
	case *Publish:
		m.Track.ParticipantID = ""
	case *Mute:
		m.By = ""
	case *Chat:
		m.Seq, m.From, m.Name, m.TS = 0, "", "", 0
	}
}

// checkClientPC enforces who offers: the client on the publish PC, the
// server on the subscribe PC. Renegotiation never changes sides, so offer
// glare cannot happen.
func checkClientPC(msg Message) error {
	switch m := msg.(type) {
	case *Offer:
		if m.PC == PCSubscribe {
			return badRequest("the server makes subscribe offers; answer them")
		}
	case *Answer:
		if m.PC == PCPublish {
			return badRequest("the server answers publish offers; clients do not")
		}
	}
	return nil
}

func checkServerFields(msg Message) error {
	switch m := msg.(type) {
	case *Offer:
		if m.PC == PCPublish {
			return badRequest("the client makes publish offers, not the server")
		}
	case *Answer:
		if m.PC == PCSubscribe {
			return badRequest("the client answers subscribe offers, not the server")
		}
	case *Mute:
		if m.ParticipantID == "" {
			return badRequest("mute from the server needs participantId")
		}
	case *Chat:
		if m.Seq == 0 {
			return badRequest("chat from the server needs seq, from, name and ts")
		}
	}
	return nil
}

// Encode validates msg and returns its JSON with "type" first. HTML
// characters are not escaped: the output is never embedded in HTML, and
// escaping would inflate chat text towards the size limits.
func Encode(msg Message) ([]byte, error) {
	if msg == nil {
		return nil, errors.New("encode: nil message")
	}
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, fmt.Errorf("encode %s: nil %T", msg.Type(), msg)
	}
	if id := msg.MessageID(); id < 0 || id > MaxMessageID {
		return nil, fmt.Errorf("encode %s: id %d out of range", msg.Type(), id)
	}
	if err := msg.Validate(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", msg.Type(), err)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":`)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg.Type()); err != nil {
		return nil, fmt.Errorf("encode %s: %w", msg.Type(), err)
	}
	buf.Truncate(buf.Len() - 1) // Encoder appends a newline.
	start := buf.Len()
	if err := enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("encode %s: %w", msg.Type(), err)
	}
	out := buf.Bytes()
	out = out[:len(out)-1]
	// out is now {"type":"x"{...}: turn the struct's opening brace into a
	// comma, or drop an empty object entirely.
	if len(out)-start > 2 {
		out[start] = ','
	} else {
		out = append(out[:start], '}')
	}
	if len(out) > MaxServerMessageSize {
		return nil, Errorf(CodeTooLarge, "encode %s: %d bytes, the limit is %d", msg.Type(), len(out), MaxServerMessageSize)
	}
	return out, nil
}
