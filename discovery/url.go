package discovery

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// InviteURL returns the link that joins a room at addr:
// https://ADDR:PORT/PATH#fp=sha256:… . IPv6 addresses are bracketed, and a
// link-local one keeps its zone ("%25eth0"), without which it is useless.
// The fingerprint travels in the fragment so that it never reaches a
// server log. path is a Room.Path, already in URL form (see escapePath).
func InviteURL(addr netip.Addr, port int, path, fingerprint string) string {
	host := addr.Unmap().String()
	if addr.Is6() && !addr.Is4In6() {
		// url.URL would escape the zone's '%' but not bracket the host for
		// us, so build the authority by hand.
		host = "[" + strings.Replace(host, "%", "%25", 1) + "]"
	}
	return "https://" + host + ":" + strconv.Itoa(port) + escapePath(path) + "#fp=" + fingerprint
}

// escapePath turns a Room.Path into the path of a URI. Hosts write the
// path as their invite link has it, names percent-escaped
// ("/r/Caf%C3%A9-sync"): those escapes are kept, since escaping their '%'
// again names another room, and decoding them first would turn an escaped
// '/' into a path separator. Only bytes a URI path cannot hold as they are
// (raw UTF-8 from a host that wrote the name unescaped, '"', '<', …) are
// escaped. validatePath guarantees that every '%' starts an escape.
func escapePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if c := p[i]; pathByte(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// pathByte reports the bytes a URI path may hold unescaped (RFC 3986
// §3.3: unreserved, sub-delims, ':', '@' and '/'), and '%', which in a
// Room.Path always starts an escape.
func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/%", c) >= 0
}

// addrRank orders addresses for the invite URL: IPv4 first (it works on
// any LAN and is what people recognise), then routable IPv6, then
// link-local addresses, which need a zone.
func addrRank(a netip.Addr) int {
	switch {
	case a.Is4() && !a.IsLinkLocalUnicast():
		return 0
	case a.Is6() && !a.IsLinkLocalUnicast():
		return 1
	case a.Is4():
		return 2
	default:
		return 3
	}
}

// sortAddrs sorts best first, and by value within a rank so that the order
// (and thus the Entry) is stable from packet to packet.
func sortAddrs(addrs []netip.Addr) {
	slices.SortFunc(addrs, func(a, b netip.Addr) int {
		if ra, rb := addrRank(a), addrRank(b); ra != rb {
			return ra - rb
		}
		return a.Compare(b)
	})
}

// usableAddr reports whether a received address could be a peer on the
// link. Anything else is either a mistake or an attempt to point users at
// their own machine or at nothing.
func usableAddr(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}
