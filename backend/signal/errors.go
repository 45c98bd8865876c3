package signal

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. Clients switch on it; the
// accompanying message is for humans only and may change.
type Code string

const (
	// CodeBadRequest: malformed JSON, unknown type, invalid field, or a
	// message not allowed in the current state.
	CodeBadRequest Code = "bad-request"
	// CodeVersion: the hello's protocol version is not supported.
	CodeVersion Code = "version"
	// CodeRoomFull: the room has reached its participant limit.
	CodeRoomFull Code = "room-full"
	// CodeBadPassword: missing or wrong room password.
	CodeBadPassword Code = "bad-password"
	// CodeDenied: not allowed (room locked, host-only action, track limit).
	CodeDenied Code = "denied"
	// CodeNotFound: no such room, participant or track (or the room ended).
	CodeNotFound Code = "not-found"
	// CodeTooLarge: the message exceeded MaxMessageSize. Fatal.
	CodeTooLarge Code = "too-large"
	// CodeRateLimited: the client sends too fast; the message was dropped.
	CodeRateLimited Code = "rate-limited"
	// CodeBadToken: the hello's invite token is forged, malformed or for
	// another room, or the room needs a token and the hello has none.
	CodeBadToken Code = "bad-token"
	// CodeTokenExpired: the invite token was valid but has expired.
	CodeTokenExpired Code = "token-expired"
	// CodeTokenUsed: the one-time invite token was already used.
	CodeTokenUsed Code = "token-used"
	// CodeInternal: a server bug or resource failure.
	CodeInternal Code = "internal"
)

// Error is both the wire "error" message and a Go error, so that a failure
// anywhere below the server can be sent to the client unchanged.
type Error struct {
	// ID echoes the id of the message that caused the error, if any.
	ID      int64  `json:"id,omitempty"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Message
}

// CodeOf returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError returns err as a wire *Error carrying id: the first *Error in its
// chain (copied, so the original is not mutated), or an internal error whose
// text is deliberately generic so that server internals do not leak.
func AsError(err error, id int64) *Error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.ID = id
		return &c
	}
	return &Error{ID: id, Code: CodeInternal, Message: "internal error"}
}

func badRequest(format string, args ...any) error {
	return Errorf(CodeBadRequest, format, args...)
}
