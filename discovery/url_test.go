package discovery

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestInviteURL(t *testing.T) {
	tests := []struct {
		name string
		addr netip.Addr
		port int
		path string
		want string
	}{
		{"IPv4", netip.MustParseAddr("10.0.0.7"), 8443, "/r/team-sync",
			"https://10.0.0.7:8443/r/team-sync#fp=" + goodFP},
		{"IPv4-mapped IPv6", netip.MustParseAddr("::ffff:10.0.0.7"), 443, "/r/x",
			"https://10.0.0.7:443/r/x#fp=" + goodFP},
		{"IPv6 in brackets", netip.MustParseAddr("fd77::1"), 8443, "/r/x",
			"https://[fd77::1]:8443/r/x#fp=" + goodFP},
		{"link-local keeps its zone", netip.MustParseAddr("fe80::1%eth0"), 8443, "/r/x",
			"https://[fe80::1%25eth0]:8443/r/x#fp=" + goodFP},
		{"escapes kept", netip.MustParseAddr("10.0.0.7"), 8443, "/r/Caf%C3%A9-sync%2F1",
			"https://10.0.0.7:8443/r/Caf%C3%A9-sync%2F1#fp=" + goodFP},
		{"raw UTF-8 escaped", netip.MustParseAddr("10.0.0.7"), 8443, "/r/café",
			"https://10.0.0.7:8443/r/caf%C3%A9#fp=" + goodFP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InviteURL(tt.addr, tt.port, tt.path, goodFP); got != tt.want {
				t.Errorf("InviteURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSortAddrsPrefersIPv4(t *testing.T) {
	addrs := []netip.Addr{
		netip.MustParseAddr("fe80::2%eth0"),
		netip.MustParseAddr("169.254.1.1"),
		netip.MustParseAddr("fd77::1"),
		netip.MustParseAddr("10.0.0.9"),
		netip.MustParseAddr("10.0.0.2"),
	}
	sortAddrs(addrs)
	want := []netip.Addr{
		netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("10.0.0.9"),
		netip.MustParseAddr("fd77::1"),
		netip.MustParseAddr("169.254.1.1"),
		netip.MustParseAddr("fe80::2%eth0"),
	}
	if !slices.Equal(addrs, want) {
		t.Errorf("sorted %v, want %v", addrs, want)
	}
}

func TestUsableAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"10.0.0.1":        true,
		"192.168.1.20":    true,
		"fd77::1":         true,
		"fe80::1":         true,
		"0.0.0.0":         false,
		"::":              false,
		"127.0.0.1":       false,
		"::1":             false,
		"224.0.0.251":     false,
		"ff02::fb":        false,
		"255.255.255.255": false,
	} {
		if got := usableAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("usableAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestListedURLIsTheInviteLink follows a room's path the way the LAN
// carries it: the host puts its invite link's path (the room name
// percent-escaped, as server.InviteURL writes it) in the TXT record, a
// browser decodes the record and builds the link. The link must be the
// host's own, whatever the name holds: the server accepts only letters,
// digits, '-', '_' and '.', so of these names only the plain, accented,
// CJK and dotted ones can be hosted today, but the listing must not care.
func TestListedURLIsTheInviteLink(t *testing.T) {
	for _, name := range []string{
		"team-sync",
		"Café-sync",
		"日本語の会議",
		"v1.2_release",
		"Café sync",   // space
		"🎉-party",     // emoji
		"a/b",         // slash: one path segment, not two
		"100%",        // a literal '%'
		"Caf%C3%A9",   // looks escaped, but is the name itself
		"x?y#z",       // query and fragment characters
		"naïve+a&b=c", // sub-delimiters
	} {
		t.Run(name, func(t *testing.T) {
			hostPath := "/r/" + url.PathEscape(name)
			room, err := Room{Name: name, Port: 8443, Path: hostPath, Fingerprint: goodFP, ProtocolVersion: 1}.normalize()
			if err != nil {
				t.Fatalf("host cannot advertise path %q: %v", hostPath, err)
			}
			var wire []string
			for _, s := range encodeTXT(room) {
				wire = append(wire, escapeTXT(s))
			}
			got, err := decodeTXTRecord(&dns.TXT{Txt: wire}, []int{1})
			if err != nil {
				t.Fatalf("browser refuses the record: %v", err)
			}
			link := InviteURL(netip.MustParseAddr("10.0.0.7"), got.Port, got.Path, got.Fingerprint)
			if want := "https://10.0.0.7:8443" + hostPath + "#fp=" + goodFP; link != want {
				t.Errorf("listed link %q, want the host's %q", link, want)
			}
			// What a joining app reads back (client.ParseInvite).
			u, err := url.Parse(link)
			if err != nil {
				t.Fatalf("listed link does not parse: %v", err)
			}
			seg, _ := strings.CutPrefix(u.EscapedPath(), "/r/")
			if back, err := url.PathUnescape(seg); err != nil || back != name {
				t.Errorf("listed link names room %q (%v), want %q", back, err, name)
			}
		})
	}
}
