package discovery

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// DNS-SD names. miekg/dns speaks names in presentation format: labels are
// separated by '.', and a '.' or '\' inside a label, like any byte that is
// not printable ASCII, is escaped ("\.", "\\", "\DDD").
const (
	// ServiceType is the DNS-SD service type Parley rooms are advertised
	// under.
	ServiceType   = "_parley._tcp"
	serviceName   = ServiceType + ".local."
	servicesMeta  = "_services._dns-sd._udp.local."
	maxLabelBytes = 63
)

// escapeLabel renders raw label bytes in presentation format, escaping
// everything miekg/dns would otherwise read as syntax and every byte that
// is not printable ASCII.
func escapeLabel(raw string) string {
	return escapePresentation(raw, true)
}

// escapeTXT renders a raw TXT string in presentation format.
func escapeTXT(raw string) string {
	return escapePresentation(raw, false)
}

func escapePresentation(raw string, label bool) string {
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\\' || c == '"' || (label && c == '.'):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescape turns presentation format back into raw bytes. stopAtDot makes
// it stop at the first unescaped '.', returning the rest after it; that is
// how a name's first label is split off.
func unescape(s string, stopAtDot bool) (raw, rest string, err error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
				v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
				if v > 255 {
					return "", "", errors.New("escape \\DDD out of range")
				}
				b.WriteByte(byte(v))
				i += 3
				continue
			}
			if i+1 >= len(s) {
				return "", "", errors.New("trailing backslash")
			}
			i++
			b.WriteByte(s[i])
		case c == '.' && stopAtDot:
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "", nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// instanceOf returns the raw instance name of a service instance name
// "<instance>._parley._tcp.local.", or false for any other name.
func instanceOf(fqdn string) (string, bool) {
	raw, rest, err := unescape(fqdn, true)
	if err != nil || raw == "" || len(raw) > maxLabelBytes {
		return "", false
	}
	if asciiLower(rest) != serviceName {
		return "", false
	}
	return raw, true
}

// instanceFQDN returns the service instance name for a raw instance name,
// in the canonical presentation form miekg/dns produces when it unpacks a
// packet, so that it compares equal (after asciiLower) to received names.
func instanceFQDN(instance string) (string, error) {
	return canonicalName(escapeLabel(instance) + "." + serviceName)
}

// canonicalName packs and unpacks a presentation-format name.
func canonicalName(name string) (string, error) {
	buf := make([]byte, 256)
	off, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil {
		return "", fmt.Errorf("pack name %q: %w", name, err)
	}
	out, _, err := dns.UnpackDomainName(buf[:off], 0)
	if err != nil {
		return "", fmt.Errorf("unpack name %q: %w", name, err)
	}
	return out, nil
}

// uniqueName returns the n-th candidate instance name for base: base
// itself for n <= 1, then "base (2)", "base (3)", … as RFC 6763 §9 suggests.
// base is cut (at a rune boundary) so that the whole fits one DNS label.
func uniqueName(base string, n int) string {
	if n <= 1 {
		return strings.TrimSpace(truncateBytes(base, maxLabelBytes))
	}
	suffix := fmt.Sprintf(" (%d)", n)
	return strings.TrimSpace(truncateBytes(base, maxLabelBytes-len(suffix))) + suffix
}

// randomHostName returns a host name of our own for the SRV target. A
// random label cannot collide with the machine's name, which the
// operating system's responder may own.
func randomHostName() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random host name: %w", err)
	}
	return "parley-" + hex.EncodeToString(b[:]) + ".local.", nil
}
