package discovery

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/testing/netnstest"
)

// These tests build a LAN of network namespaces and run advertisers and
// browsers in it as child processes (see roles_test.go). Nothing reaches
// the machine's own interfaces.

// child is a role process and every report it printed so far.
type child struct {
	*netnstest.Proc
	t    *testing.T
	seen []report
}

func startRole(t *testing.T, lan *netnstest.LAN, host, role, name string, cfg roleConfig) *child {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := lan.Start(t, host, name, []string{roleEnv + "=" + role, configEnv + "=" + string(b)})
	return &child{Proc: p, t: t}
}

// waitFor reads reports until match accepts one, failing the test if none
// does within timeout or the child reports an error.
func (c *child) waitFor(timeout time.Duration, what string, match func(report) bool) report {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		line, err := c.Next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%s: waiting for %s: %v", c.Name, what, err)
		}
		var r report
		if err := json.Unmarshal(line, &r); err != nil {
			c.t.Fatalf("%s: bad report %q: %v", c.Name, line, err)
		}
		c.seen = append(c.seen, r)
		if r.Event == "error" {
			c.t.Fatalf("%s: %s", c.Name, r.Error)
		}
		if match(r) {
			return r
		}
	}
}

func (c *child) send(cmd roleCommand) {
	c.t.Helper()
	if err := c.Send(cmd); err != nil {
		c.t.Fatalf("%s: send %s: %v", c.Name, cmd.Cmd, err)
	}
}

// rooms asks a browser for its live list.
func (c *child) rooms() []Entry {
	c.t.Helper()
	c.send(roleCommand{Cmd: "rooms"})
	return c.waitFor(5*time.Second, "room list", func(r report) bool { return r.Event == "rooms" }).Rooms
}

// close stops a role and checks it left no goroutine behind.
func (c *child) close() {
	c.t.Helper()
	c.send(roleCommand{Cmd: "close"})
	r := c.waitFor(5*time.Second, "closed", func(r report) bool { return r.Event == "closed" })
	if r.Leaks != "" {
		c.t.Errorf("%s leaked goroutines: %s", c.Name, r.Leaks)
	}
	if err := c.Wait(5 * time.Second); err != nil {
		c.t.Errorf("%s: %v", c.Name, err)
	}
}

func isEvent(kind EventKind, instance string) func(report) bool {
	return func(r report) bool {
		return r.Event == kind.String() && r.Entry != nil && r.Entry.Instance == instance
	}
}

func testRoom(name string) Room {
	return Room{
		Name: name, Host: "Ada", Participants: 1, Port: 8443,
		Path: "/r/" + strings.ToLower(strings.ReplaceAll(name, " ", "-")), Fingerprint: goodFP, ProtocolVersion: 1,
	}
}

func startAdvertiser(t *testing.T, lan *netnstest.LAN, host string, room Room, ttl time.Duration) (*child, string) {
	t.Helper()
	c := startRole(t, lan, host, "advertise", "advertiser in "+host, roleConfig{Room: room, TTL: ttl})
	r := c.waitFor(10*time.Second, "advertising", func(r report) bool { return r.Event == "advertising" })
	t.Logf("%s claimed %q after %d ms", c.Name, r.Instance, r.MS)
	return c, r.Instance
}

func startBrowser(t *testing.T, lan *netnstest.LAN, host string) *child {
	t.Helper()
	c := startRole(t, lan, host, "browse", "browser in "+host, roleConfig{})
	c.waitFor(5*time.Second, "ready", func(r report) bool { return r.Event == "ready" })
	return c
}

func TestLANDiscoveryAndUpdates(t *testing.T) {
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "ns1"}, netnstest.HostSpec{Name: "ns2", Links: 2}, netnstest.HostSpec{Name: "ns3"})
	adv, instance := startAdvertiser(t, lan, "ns1", testRoom("Team sync"), 0)
	if instance != "Team sync" {
		t.Fatalf("instance = %q, want %q", instance, "Team sync")
	}
	ns1 := lan.Host("ns1").Links[0]
	wantURL := fmt.Sprintf("https://%s:8443/r/team-sync#fp=%s", ns1.IPv4, goodFP)

	browsers := []*child{startBrowser(t, lan, "ns2"), startBrowser(t, lan, "ns3")}
	for _, b := range browsers {
		r := b.waitFor(3*time.Second, "room added", isEvent(Added, "Team sync"))
		t.Logf("%s listed the room %d ms after it started browsing", b.Name, r.MS)
		if r.MS > 1000 {
			t.Errorf("%s took %d ms to list the room, want at most 1000", b.Name, r.MS)
		}
		e := r.Entry
		if e.URL != wantURL {
			t.Errorf("%s: URL = %q, want %q", b.Name, e.URL, wantURL)
		}
		if e.Room.Host != "Ada" || e.Room.Participants != 1 || e.Room.Fingerprint != goodFP || e.Room.Name != "Team sync" {
			t.Errorf("%s: room = %+v", b.Name, e.Room)
		}
		if !slices.Contains(e.Addrs, ns1.IPv6) {
			t.Errorf("%s: addresses %v lack the IPv6 address %v", b.Name, e.Addrs, ns1.IPv6)
		}
	}

	adv.send(roleCommand{Cmd: "update", Participants: 3})
	sent := time.Now()
	for _, b := range browsers {
		b.waitFor(2*time.Second, "participant count 3", func(r report) bool {
			return r.Event == "updated" && r.Entry.Instance == "Team sync" && r.Entry.Room.Participants == 3
		})
		t.Logf("%s saw 3 participants %d ms after the update", b.Name, time.Since(sent).Milliseconds())
	}

	// ns2 sees the room on both its interfaces and over both address
	// families: still one room, reported as added once.
	rooms := browsers[0].rooms()
	if len(rooms) != 1 {
		t.Fatalf("ns2 lists %d rooms, want 1: %+v", len(rooms), rooms)
	}
	if got := rooms[0].Interfaces; !slices.Equal(got, []string{"eth0", "eth1"}) {
		t.Errorf("ns2 saw the room on %v, want [eth0 eth1]", got)
	}
	for _, b := range browsers {
		added := 0
		for _, r := range b.seen {
			if r.Event == "added" {
				added++
			}
		}
		if added != 1 {
			t.Errorf("%s reported %d added events, want 1", b.Name, added)
		}
	}
	adv.close()
	for _, b := range browsers {
		b.close()
	}
}

func TestCloseRemovesRoomAtOnce(t *testing.T) {
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "ns1"}, netnstest.HostSpec{Name: "ns2"})
	adv, _ := startAdvertiser(t, lan, "ns1", testRoom("Standup"), 0)
	b := startBrowser(t, lan, "ns2")
	b.waitFor(3*time.Second, "room added", isEvent(Added, "Standup"))

	adv.send(roleCommand{Cmd: "close"})
	sent := time.Now()
	b.waitFor(2*time.Second, "room removed", isEvent(Removed, "Standup"))
	t.Logf("room left ns2's list %d ms after the host closed it", time.Since(sent).Milliseconds())
	if rooms := b.rooms(); len(rooms) != 0 {
		t.Errorf("ns2 still lists %+v", rooms)
	}
	adv.waitFor(5*time.Second, "closed", func(r report) bool { return r.Event == "closed" })
	b.close()
}

func TestKilledAdvertiserExpiresAfterTTL(t *testing.T) {
	const ttl = 3 * time.Second
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "ns1"}, netnstest.HostSpec{Name: "ns2"})
	adv, _ := startAdvertiser(t, lan, "ns1", testRoom("Crashy"), ttl)
	b := startBrowser(t, lan, "ns2")
	b.waitFor(3*time.Second, "room added", isEvent(Added, "Crashy"))

	// Refresh queries keep a live room listed well past its TTL.
	if rooms := sleepThenRooms(b, ttl+ttl/2); len(rooms) != 1 {
		t.Fatalf("a live room with a %v TTL left the list after %v: %+v", ttl, ttl+ttl/2, rooms)
	}

	adv.Kill()
	killed := time.Now()
	b.waitFor(ttl+2*time.Second, "room expired", isEvent(Removed, "Crashy"))
	gone := time.Since(killed)
	t.Logf("killed host's room left the list %d ms after SIGKILL (TTL %v)", gone.Milliseconds(), ttl)
	if gone > ttl+time.Second {
		t.Errorf("room expired %v after the kill, want at most TTL+1s", gone)
	}
	b.close()
}

// sleepThenRooms waits d while consuming reports (failing on "removed"),
// then returns the browser's list.
func sleepThenRooms(b *child, d time.Duration) []Entry {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for time.Until(deadline) > 0 {
		line, err := b.Next(time.Until(deadline))
		if err != nil {
			break
		}
		var r report
		if json.Unmarshal(line, &r) == nil {
			b.seen = append(b.seen, r)
			if r.Event == "removed" {
				b.t.Fatalf("%s removed %q early", b.Name, r.Entry.Instance)
			}
		}
	}
	return b.rooms()
}

func TestSameNameOnTwoHosts(t *testing.T) {
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "ns1"}, netnstest.HostSpec{Name: "ns2"}, netnstest.HostSpec{Name: "ns3"})
	b := startBrowser(t, lan, "ns2")

	// One after the other: the second finds the name taken.
	first, firstName := startAdvertiser(t, lan, "ns1", testRoom("Planning"), 0)
	second, secondName := startAdvertiser(t, lan, "ns3", testRoom("Planning"), 0)
	if firstName != "Planning" || secondName != "Planning (2)" {
		t.Errorf("instances %q and %q, want %q and %q", firstName, secondName, "Planning", "Planning (2)")
	}

	// At the same moment: the probes' tie-break decides.
	c1 := startRole(t, lan, "ns1", "advertise", "retro in ns1", roleConfig{Room: testRoom("Retro")})
	c3 := startRole(t, lan, "ns3", "advertise", "retro in ns3", roleConfig{Room: testRoom("Retro")})
	isAdvertising := func(r report) bool { return r.Event == "advertising" }
	n1 := c1.waitFor(10*time.Second, "advertising", isAdvertising).Instance
	n3 := c3.waitFor(10*time.Second, "advertising", isAdvertising).Instance
	if got := []string{n1, n3}; !slices.Equal(sortedCopy(got), []string{"Retro", "Retro (2)"}) {
		t.Errorf("simultaneous advertisers claimed %q, want Retro and Retro (2)", got)
	}

	want := sortedCopy([]string{firstName, secondName, n1, n3})
	deadline := time.Now().Add(5 * time.Second)
	var names []string
	for time.Now().Before(deadline) {
		names = names[:0]
		ids := map[string]bool{}
		for _, e := range b.rooms() {
			names = append(names, e.Instance)
			ids[e.ID] = true
		}
		if slices.Equal(names, want) && len(ids) == 4 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !slices.Equal(names, want) {
		t.Errorf("ns2 lists %q, want %q", names, want)
	}
	for _, c := range []*child{first, second, c1, c3, b} {
		c.close()
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestBrowserIgnoresMalformedRecords(t *testing.T) {
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "ns1"}, netnstest.HostSpec{Name: "ns2"}, netnstest.HostSpec{Name: "ns3"})
	bad := startRole(t, lan, "ns1", "badresponder", "bad responder in ns1", roleConfig{})
	bad.waitFor(5*time.Second, "ready", func(r report) bool { return r.Event == "ready" })
	_, real := startAdvertiser(t, lan, "ns3", testRoom("Real room"), 0)
	b := startBrowser(t, lan, "ns2")

	var want []string
	for _, bi := range badInstances() {
		if bi.listed {
			want = append(want, cleanText(mustUnescape(t, bi.label), MaxNameRunes))
		}
	}
	want = sortedCopy(append(want, real))

	// Let every crafted packet arrive a few times (the browser queries at
	// 0, 1 and 2 s), then check what is listed.
	rooms := sleepThenRooms(b, 2500*time.Millisecond)
	var names []string
	for _, e := range rooms {
		names = append(names, e.Instance)
		if e.Instance == "Sanitised name" && e.Room.Host != sanitisedHost {
			t.Errorf("sanitised host = %q, want %q", e.Room.Host, sanitisedHost)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("browser lists %q, want %q", names, want)
	}
	for _, r := range b.seen {
		if r.Entry != nil && !slices.Contains(want, r.Entry.Instance) {
			t.Errorf("browser reported %s %q", r.Event, r.Entry.Instance)
		}
	}
	logs := b.Stderr()
	for _, bi := range badInstances() {
		if bi.listed || bi.addr != "self" {
			continue
		}
		name := mustUnescape(t, bi.label)
		// slog's text handler quotes values only when they need it.
		if !strings.Contains(logs, "instance="+strconv.Quote(name)) && !strings.Contains(logs, "instance="+name+" ") {
			t.Errorf("browser did not log why it ignored %q", bi.label)
		}
	}
	b.close()
}

func mustUnescape(t *testing.T, s string) string {
	t.Helper()
	raw, _, err := unescape(s, false)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestInterfaceSelection(t *testing.T) {
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "ns1", Links: 2})
	lan.HostIP("ns1", "link", "set", "eth1", "down")
	c := startRole(t, lan, "ns1", "ifaces", "ifaces in ns1", roleConfig{Names: []string{"eth0", "eth0,eth0", "eth1", "lo", "nope"}})
	r := c.waitFor(5*time.Second, "ifaces", func(r report) bool { return r.Event == "ifaces" })
	if !slices.Equal(r.Names, []string{"eth0"}) {
		t.Errorf("DefaultInterfaces = %v, want [eth0] (eth1 is down, lo is loopback)", r.Names)
	}
	want := []string{
		"ok [eth0]",
		"ok [eth0]",
		`network interface "eth1": interface is down`,
		`network interface "lo": interface is loopback`,
		`network interface "nope": route ip+net: no such network interface (usable: eth0)`,
	}
	if !slices.Equal(r.Errors, want) {
		t.Errorf("InterfacesByName results:\n got %q\nwant %q", r.Errors, want)
	}
}
