package signal

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// isBidiControl reports the invisible direction overrides that let a name
// render as something else ("Trojan Source" style spoofing).
func isBidiControl(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case r >= '\u202a' && r <= '\u202e':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// isVisible reports runes that render as something: without one, a name or
// chat message would look empty even though it is not.
func isVisible(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// SanitizeName turns arbitrary user input into a display name in canonical
// form: control and bidi-override characters removed, runs of whitespace
// collapsed to one space, trimmed, and cut to MaxNameRunes. The result may
// still fail ValidateName (when nothing visible is left). The server applies
// it to hello names; clients may apply it before sending.
func SanitizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	n := 0
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = n > 0
			continue
		}
		if unicode.IsControl(r) || isBidiControl(r) || r == utf8.RuneError {
			continue
		}
		if n >= MaxNameRunes {
			break
		}
		if space {
			if n+1 >= MaxNameRunes {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// ValidateName checks a participant display name as received: at most
// MaxNameRunes runes, no control or bidi-override characters, and at least
// one visible character. It does not require canonical whitespace; use
// SanitizeName for that.
func ValidateName(s string) error {
	if !utf8.ValidString(s) {
		return badRequest("name is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxNameRunes {
		return badRequest("name is %d characters, the limit is %d", n, MaxNameRunes)
	}
	visible := false
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) {
			return badRequest("name contains control character %U", r)
		}
		visible = visible || isVisible(r)
	}
	if !visible {
		return badRequest("name is empty")
	}
	return nil
}

// ValidateRoomName checks a room name: 1 to MaxRoomNameRunes letters, digits,
// '-', '_' or '.', not starting with '.'. The restriction keeps room names
// free of URL syntax ('/', '?', '#', '%') and spaces, so that a link's path
// (/r/ROOM, with any letter outside ASCII percent-escaped) names one room
// only. Room names are case-sensitive.
func ValidateRoomName(s string) error {
	if s == "" {
		return badRequest("room name is empty")
	}
	if !utf8.ValidString(s) {
		return badRequest("room name is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxRoomNameRunes {
		return badRequest("room name is %d characters, the limit is %d", n, MaxRoomNameRunes)
	}
	if s[0] == '.' {
		return badRequest("room name starts with '.'")
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return badRequest("room name contains %q; use letters, digits, '-', '_' or '.'", r)
		}
	}
	return nil
}

// SanitizeChatText normalises line endings to \n and drops control
// characters other than \n and \t. Bidi marks are kept: right-to-left
// writers need them in running text.
func SanitizeChatText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r), r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
}

// ValidateChatText checks chat text: at most MaxChatRunes runes, no control
// characters except \n and \t, and at least one visible character.
func ValidateChatText(s string) error {
	if !utf8.ValidString(s) {
		return badRequest("chat text is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxChatRunes {
		return badRequest("chat text is %d characters, the limit is %d", n, MaxChatRunes)
	}
	visible := false
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return badRequest("chat text contains control character %U", r)
		}
		visible = visible || isVisible(r)
	}
	if !visible {
		return badRequest("chat text is empty")
	}
	return nil
}

// isTokenChar is RFC 8830's token-char, the alphabet of msid identifiers.
func isTokenChar(c byte) bool {
	switch {
	case c == 0x21, c >= 0x23 && c <= 0x27, c == 0x2a, c == 0x2b, c == 0x2d, c == 0x2e:
		return true
	case c >= 0x30 && c <= 0x39, c >= 0x41 && c <= 0x5a, c >= 0x5e && c <= 0x7e:
		return true
	}
	return false
}

// ValidateID checks a participant or track id: 1 to MaxIDBytes RFC 8830
// token characters, so that it can appear verbatim in an SDP msid line.
func ValidateID(field, s string) error {
	if s == "" {
		return badRequest("%s is empty", field)
	}
	if len(s) > MaxIDBytes {
		return badRequest("%s is %d bytes, the limit is %d", field, len(s), MaxIDBytes)
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return badRequest("%s contains %q, not allowed in an msid", field, s[i])
		}
	}
	return nil
}

// validSlug checks codes and other machine-readable words: 1 to 64 bytes of
// lower-case ASCII letters, digits and '-'.
func validSlug(field, s string) error {
	if s == "" || len(s) > 64 {
		return badRequest("%s must be 1 to 64 characters", field)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return badRequest("%s contains %q", field, c)
		}
	}
	return nil
}

// validLine rejects control characters in short single-line fields (ICE
// attributes, URLs), which could otherwise smuggle extra SDP lines.
func validLine(field, s string, maxBytes int) error {
	if len(s) > maxBytes {
		return badRequest("%s is %d bytes, the limit is %d", field, len(s), maxBytes)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return badRequest("%s contains control character %U", field, r)
		}
	}
	return nil
}

func validSDP(s string) error {
	if s == "" {
		return badRequest("sdp is empty")
	}
	if len(s) > MaxSDPSize {
		return badRequest("sdp is %d bytes, the limit is %d", len(s), MaxSDPSize)
	}
	if !strings.HasPrefix(s, "v=0") {
		return badRequest("sdp does not start with v=0")
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\r' && r != '\n' && r != '\t' {
			return badRequest("sdp contains control character %U", r)
		}
	}
	return nil
}

func validPC(pc PC) error {
	if !pc.Valid() {
		return badRequest("pc must be %q or %q, not %q", PCPublish, PCSubscribe, pc)
	}
	return nil
}

// MaxTokenBytes bounds invite and resume tokens.
const MaxTokenBytes = 512

// ValidateToken checks an opaque token (invite or resume) as it travels:
// empty, or up to MaxTokenBytes of the base64url alphabet and '.'. Whether
// it is genuine is for the server to decide.
func ValidateToken(field, s string) error {
	if len(s) > MaxTokenBytes {
		return badRequest("%s is %d bytes, the limit is %d", field, len(s), MaxTokenBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return badRequest("%s contains %q", field, c)
		}
	}
	return nil
}
