package discovery

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// These tests drive the browser's cache with packets built by the
// advertiser's code and by hand, on a fake clock.

var (
	t0      = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ifNames = map[int]string{1: "eth0", 2: "wlan0"}
	v4      = netip.MustParseAddr("10.0.0.7")
	v6      = netip.MustParseAddr("fd77::7")
	ll      = netip.MustParseAddr("fe80::7")
)

// wire packs and unpacks a message, as the network would.
func wire(t *testing.T, m *dns.Msg) *dns.Msg {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := new(dns.Msg)
	if err := out.Unpack(b); err != nil {
		t.Fatal(err)
	}
	return out
}

func entries(c *cache) []Entry {
	v := c.assemble(ifNames, []int{1})
	out := make([]Entry, 0, len(v.entries))
	for _, e := range v.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Instance, b.Instance) })
	return out
}

func TestCacheAssemblesRoom(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	c := newCache(100)
	if !c.add(wire(t, s.announcement([]netip.Addr{ll, v6, v4})), 1, t0, 0) {
		t.Fatal("announcement did not change the cache")
	}
	got := entries(c)
	if len(got) != 1 {
		t.Fatalf("%d entries, want 1: %+v", len(got), got)
	}
	e := got[0]
	want := Entry{
		ID:         goodFP + " Team sync",
		Instance:   "Team sync",
		Room:       Room{Name: "Team sync", Host: "Ada", Participants: 1, Port: 8443, Path: "/r/team-sync", Fingerprint: goodFP, ProtocolVersion: 1},
		Addrs:      []netip.Addr{v4, v6, ll.WithZone("eth0")},
		URL:        "https://10.0.0.7:8443/r/team-sync#fp=" + goodFP,
		Interfaces: []string{"eth0"},
	}
	if !e.equal(want) {
		t.Errorf("entry\n %+v\nwant\n %+v", e, want)
	}
	// The same packet again changes nothing.
	if c.add(wire(t, s.announcement([]netip.Addr{ll, v6, v4})), 1, t0.Add(time.Second), 0) {
		t.Error("a repeated announcement reported a change")
	}
}

func TestCacheMergesInterfacesAndFamilies(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	c := newCache(100)
	// The same room over IPv4 and IPv6 on eth0 (one packet each), and on
	// wlan0 with other addresses.
	c.add(wire(t, s.announcement([]netip.Addr{v4, ll})), 1, t0, 0)
	c.add(wire(t, s.announcement([]netip.Addr{v4, ll})), 1, t0, 0)
	c.add(wire(t, s.announcement([]netip.Addr{netip.MustParseAddr("192.168.1.7"), ll})), 2, t0, 0)
	got := entries(c)
	if len(got) != 1 {
		t.Fatalf("%d entries, want 1", len(got))
	}
	wantAddrs := []netip.Addr{v4, netip.MustParseAddr("192.168.1.7"), ll.WithZone("eth0"), ll.WithZone("wlan0")}
	if !slices.Equal(got[0].Addrs, wantAddrs) || !slices.Equal(got[0].Interfaces, []string{"eth0", "wlan0"}) {
		t.Errorf("addrs %v on %v, want %v on [eth0 wlan0]", got[0].Addrs, got[0].Interfaces, wantAddrs)
	}
}

func TestCacheKeepsSameNameFromTwoHostsApart(t *testing.T) {
	a := testService(t, "Team sync", "parley-aaa.local.")
	b := testService(t, "Team sync", "parley-bbb.local.")
	other := strings.Repeat("cd", 32)
	r, _ := testRoom("Team sync").normalize()
	r.Fingerprint = "sha256:" + other
	b.setTXT(encodeTXT(r))
	c := newCache(100)
	// Seen on two interfaces (two LANs): same instance name, two hosts.
	c.add(wire(t, a.announcement([]netip.Addr{v4})), 1, t0, 0)
	c.add(wire(t, b.announcement([]netip.Addr{netip.MustParseAddr("192.168.1.7")})), 2, t0, 0)
	if got := entries(c); len(got) != 2 || got[0].ID == got[1].ID {
		t.Errorf("want two entries with distinct IDs, got %+v", got)
	}
}

func TestCacheGoodbyeAndUpdate(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	c := newCache(100)
	c.add(wire(t, s.announcement([]netip.Addr{v4})), 1, t0, 0)

	r, _ := testRoom("Team sync").normalize()
	r.Participants, r.Locked = 5, true
	s.setTXT(encodeTXT(r))
	if !c.add(wire(t, s.response(wantTXT, nil, nil)), 1, t0.Add(time.Second), 0) {
		t.Fatal("new TXT reported no change")
	}
	if got := entries(c); len(got) != 1 || got[0].Room.Participants != 5 || !got[0].Room.Locked {
		t.Fatalf("after update: %+v", got)
	}

	if !c.add(wire(t, s.goodbye([]netip.Addr{v4})), 1, t0.Add(2*time.Second), 0) {
		t.Fatal("goodbye reported no change")
	}
	if got := entries(c); len(got) != 0 {
		t.Errorf("after goodbye: %+v", got)
	}
	if len(c.records) != 0 {
		t.Errorf("goodbye left %d records", len(c.records))
	}
}

func TestCacheRefreshAndExpiry(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	s.ttl = 10
	c := newCache(100)
	c.add(wire(t, s.announcement([]netip.Addr{v4})), 1, t0, 0)

	if d := c.nextDeadline(); !d.Equal(t0.Add(8 * time.Second)) {
		t.Errorf("next deadline %v after start, want 8s (80%% of TTL)", d.Sub(t0))
	}
	if qs := c.refreshes(t0.Add(7900 * time.Millisecond)); len(qs) != 0 {
		t.Errorf("refresh before 80%% of TTL: %v", qs)
	}
	qs := c.refreshes(t0.Add(8 * time.Second))
	var got []string
	for _, q := range qs[1] {
		got = append(got, dns.TypeToString[q.Qtype])
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"A", "PTR", "SRV", "TXT"}) {
		t.Errorf("refresh questions %v, want one per record type", got)
	}
	if qs := c.refreshes(t0.Add(8100 * time.Millisecond)); len(qs) != 0 {
		t.Errorf("second refresh too early: %v", qs)
	}
	if qs := c.refreshes(t0.Add(9800 * time.Millisecond)); len(qs[1]) != 4 {
		t.Errorf("late refresh: %v", qs)
	}
	if qs := c.refreshes(t0.Add(9900 * time.Millisecond)); len(qs) != 0 {
		t.Errorf("more than four refreshes: %v", qs)
	}

	// An answer restarts the clock.
	c.add(wire(t, s.announcement([]netip.Addr{v4})), 1, t0.Add(9*time.Second), 0)
	if c.expire(t0.Add(10 * time.Second)) {
		t.Error("refreshed records expired on the old schedule")
	}
	if !c.expire(t0.Add(19 * time.Second)) {
		t.Error("records did not expire after their TTL")
	}
	if got := entries(c); len(got) != 0 || !c.nextDeadline().IsZero() {
		t.Errorf("after expiry: %+v, deadline %v", got, c.nextDeadline())
	}
}

func TestCacheFlushReplacesAddresses(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	c := newCache(100)
	c.add(wire(t, s.announcement([]netip.Addr{v4})), 1, t0, 0)
	moved := netip.MustParseAddr("10.0.0.99")
	c.add(wire(t, s.announcement([]netip.Addr{moved})), 1, t0.Add(5*time.Second), 0)
	if got := entries(c)[0].Addrs; !slices.Equal(got, []netip.Addr{v4, moved}) {
		t.Errorf("within the flush grace: %v", got)
	}
	c.expire(t0.Add(6 * time.Second))
	if got := entries(c)[0].Addrs; !slices.Equal(got, []netip.Addr{moved}) {
		t.Errorf("after the flush grace: %v, want only %v", got, moved)
	}
}

func TestCacheIgnoresWhatIsNotARoom(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	c := newCache(100)
	q := s.probe() // a query, not a response
	if c.add(wire(t, q), 1, t0, 0) {
		t.Error("a query changed the cache")
	}
	m := new(dns.Msg)
	m.Response = true
	m.Answer = []dns.RR{
		&dns.PTR{Hdr: dns.RR_Header{Name: "_http._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 60}, Ptr: "Web._http._tcp.local."},
		&dns.PTR{Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 60}, Ptr: "evil.example.com."},
		&dns.SRV{Hdr: dns.RR_Header{Name: "Web._http._tcp.local.", Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 60}, Target: "h.local."},
		&dns.A{Hdr: dns.RR_Header{Name: "laptop.local.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: v4.AsSlice()},
	}
	if c.add(wire(t, m), 1, t0, 0) || len(c.records) != 0 {
		t.Errorf("foreign records cached: %v", c.records)
	}
	m.Rcode = dns.RcodeNameError
	m.Answer = s.announcement([]netip.Addr{v4}).Answer
	if c.add(wire(t, m), 1, t0, 0) {
		t.Error("a response with an error code was cached")
	}
}

func TestCacheReportsMissingAndInvalid(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	c := newCache(100)
	// PTR alone: the browser must ask for SRV and TXT.
	c.add(wire(t, s.response(wantPTR, nil, nil)), 1, t0, 0)
	delete(c.records, rrKey{1, asciiLower(s.instance), dns.TypeSRV, ""})
	delete(c.records, rrKey{1, asciiLower(s.instance), dns.TypeTXT, ""})
	v := c.assemble(ifNames, []int{1})
	if len(v.entries) != 0 || len(v.missing[1]) != 2 || v.missing[1][0].Qtype != dns.TypeSRV {
		t.Errorf("PTR only: entries %v, missing %v", v.entries, v.missing)
	}

	// SRV and TXT without addresses: ask for A and AAAA.
	c.add(wire(t, s.response(wantSRV|wantTXT, nil, nil)), 1, t0, 0)
	v = c.assemble(ifNames, []int{1})
	if len(v.missing[1]) != 2 || v.missing[1][0].Qtype != dns.TypeA || v.missing[1][1].Qtype != dns.TypeAAAA {
		t.Errorf("no addresses: missing %v", v.missing)
	}

	// A version we cannot join is a problem, reported with the name.
	c.add(wire(t, s.announcement([]netip.Addr{v4})), 1, t0, 0)
	v = c.assemble(ifNames, []int{2})
	if len(v.entries) != 0 || len(v.problems) != 1 || v.problems[0].instance != "Team sync" ||
		!strings.Contains(v.problems[0].reason, "unsupported protocol version 1") {
		t.Errorf("wrong version: entries %v, problems %+v", v.entries, v.problems)
	}
}

func TestCacheLimit(t *testing.T) {
	c := newCache(10)
	m := new(dns.Msg)
	m.Response = true
	for i := range 20 {
		m.Answer = append(m.Answer, &dns.PTR{
			Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 60},
			Ptr: fmt.Sprintf("room%d.%s", i, serviceName),
		})
	}
	c.add(wire(t, m), 1, t0, 0)
	if len(c.records) != 10 || c.dropped != 10 {
		t.Errorf("%d records, %d dropped; want 10 and 10", len(c.records), c.dropped)
	}
}

func TestCacheTTLIsCapped(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	s.ttl = 1 << 31
	c := newCache(100)
	c.add(wire(t, s.announcement([]netip.Addr{v4})), 1, t0, 0)
	if !c.expire(t0.Add(maxCacheTTL)) {
		t.Error("records outlived maxCacheTTL")
	}
}

func TestKnownAnswers(t *testing.T) {
	a := testService(t, "Fresh", "parley-aaa.local.")
	b := testService(t, "Stale", "parley-bbb.local.")
	b.ttl = 10
	c := newCache(100)
	c.add(wire(t, a.announcement([]netip.Addr{v4})), 1, t0, 0)
	c.add(wire(t, b.announcement([]netip.Addr{v4})), 1, t0, 0)
	known := c.knownAnswers(1, t0.Add(6*time.Second))
	if len(known) != 1 || known[0].(*dns.PTR).Ptr != a.instance || known[0].Header().Ttl != 114 {
		t.Errorf("known answers %v, want only Fresh with 114 s left", known)
	}
	if got := c.knownAnswers(2, t0); len(got) != 0 {
		t.Errorf("known answers for another interface: %v", got)
	}
}
