package discovery

import (
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// InviteURL returns the link that joins a room at addr:
// https://ADDR:PORT/PATH#fp=sha256:… . IPv6 addresses are bracketed, and a
// link-local one keeps its zone ("%25eth0"), without which it is useless.
// The fingerprint travels in the fragment so that it never reaches a
// server log.
func InviteURL(addr netip.Addr, port int, path, fingerprint string) string {
	host := addr.Unmap().String()
	if addr.Is6() && !addr.Is4In6() {
		// url.URL would escape the zone's '%' but not bracket the host for
		// us, so build the authority by hand.
		host = "[" + strings.Replace(host, "%", "%25", 1) + "]"
	}
	u := url.URL{Path: path}
	return "https://" + host + ":" + strconv.Itoa(port) + u.EscapedPath() + "#fp=" + fingerprint
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
