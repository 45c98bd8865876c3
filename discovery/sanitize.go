package discovery

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what a room may say about itself. They apply to what we send and,
// more importantly, to what we accept from the network.
const (
	// MaxNameRunes bounds room and host names, as the signaling protocol
	// bounds display names.
	MaxNameRunes = 64
	// maxTXTString is the DNS limit on one TXT string ("key=value").
	maxTXTString = 255
	// maxPathBytes leaves room for "path=" inside one TXT string.
	maxPathBytes = maxTXTString - len("path=")
	// maxParticipants bounds n=; no room is bigger, and seven digits keep
	// the parser away from overflow.
	maxParticipants = 9_999_999
)

const fingerprintPrefix = "sha256:"

// cleanText makes untrusted text safe to display: invalid UTF-8, control
// characters, bidi overrides (which let text render as something it is
// not) and byte-order marks are removed, runs of whitespace become one
// space, the ends are trimmed, and the result is cut to maxRunes runes.
func cleanText(s string, maxRunes int) string {
	var b strings.Builder
	b.Grow(min(len(s), maxRunes*utf8.UTFMax))
	n := 0
	space := false
	for _, r := range s {
		if r == utf8.RuneError {
			// Either invalid UTF-8 or a literal U+FFFD: both mean the sender
			// garbled something, and neither is worth showing.
			continue
		}
		if unicode.IsSpace(r) {
			space = n > 0
			continue
		}
		if unicode.IsControl(r) || isBidiControl(r) || r == '\ufeff' {
			continue
		}
		if space {
			if n+2 > maxRunes {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		if n+1 > maxRunes {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// isBidiControl reports the invisible direction overrides used for
// "Trojan Source" style spoofing of names.
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

// truncateBytes cuts s to at most n bytes without splitting a rune.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// normalizeFingerprint checks a "sha256:<64 hex>" certificate fingerprint
// and returns it with lowercase hex, the form invite links carry.
func normalizeFingerprint(fp string) (string, error) {
	hex, ok := strings.CutPrefix(fp, fingerprintPrefix)
	if !ok {
		return "", fmt.Errorf("fingerprint %q does not start with %q", truncateBytes(fp, 16), fingerprintPrefix)
	}
	if len(hex) != 64 {
		return "", fmt.Errorf("fingerprint has %d hex digits, want 64", len(hex))
	}
	var b strings.Builder
	b.Grow(len(fp))
	b.WriteString(fingerprintPrefix)
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		default:
			return "", errors.New("fingerprint is not hexadecimal")
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// validatePath checks the room's path on the host's HTTPS port, in the
// form a URL carries it (see Room.Path). It must be an absolute path that
// survives being put in a URL unchanged in meaning: no query, fragment,
// whitespace, control characters or backslashes, and no '%' that does not
// start an escape (which no link could carry: it would be read as one).
func validatePath(p string) error {
	switch {
	case p == "":
		return errors.New("path is empty")
	case len(p) > maxPathBytes:
		return fmt.Errorf("path is %d bytes, the limit is %d", len(p), maxPathBytes)
	case p[0] != '/':
		return errors.New("path does not start with '/'")
	case !utf8.ValidString(p):
		return errors.New("path is not valid UTF-8")
	}
	for _, r := range p {
		if unicode.IsSpace(r) || unicode.IsControl(r) || isBidiControl(r) || r == '?' || r == '#' || r == '\\' {
			return fmt.Errorf("path contains %q", r)
		}
	}
	if _, err := url.PathUnescape(p); err != nil {
		return fmt.Errorf("path contains '%%' that does not start a %%XX escape: %w", err)
	}
	return nil
}

// parseDecimal parses a non-negative decimal of at most maxDigits digits.
// strconv.Atoi would also accept signs, which no well-formed record has.
func parseDecimal(s string, maxDigits int) (int, bool) {
	if s == "" || len(s) > maxDigits {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// asciiLower lowercases ASCII letters only: DNS names compare
// case-insensitively in ASCII, and folding other scripts would merge names
// that differ.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
