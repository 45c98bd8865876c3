package discovery

import (
	"net/netip"
	"slices"
	"testing"
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
		{"path escaped", netip.MustParseAddr("10.0.0.7"), 8443, "/r/café 1",
			"https://10.0.0.7:8443/r/caf%C3%A9%201#fp=" + goodFP},
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
