package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/testing/netnstest"
)

// jsonLines reads a process's JSON lines until one has "event": name.
func nextEvent(t *testing.T, p *netnstest.Proc, name string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		line, err := p.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for %q from %s: %v\nstderr: %s", name, p.Name, err, p.Stderr())
		}
		var ev map[string]any
		if json.Unmarshal(line, &ev) == nil && ev["event"] == name {
			return ev
		}
	}
}

// discoverOnce runs `parley discover --json` in host and returns the rooms
// it printed by name, and how long the first one took to appear.
func discoverOnce(t *testing.T, lan *netnstest.LAN, host string, timeout time.Duration) (map[string]map[string]any, time.Duration) {
	t.Helper()
	start := time.Now()
	p := lan.StartBinary(t, host, "discover in "+host, nil, parley, "discover", "--json", "--timeout", timeout.String())
	rooms := map[string]map[string]any{}
	var first time.Duration
	for {
		line, err := p.Next(timeout + 10*time.Second)
		if err != nil {
			break
		}
		var ev map[string]any
		if json.Unmarshal(line, &ev) != nil {
			continue
		}
		name, _ := ev["name"].(string)
		switch ev["event"] {
		case "room":
			if len(rooms) == 0 {
				first = time.Since(start)
			}
			rooms[name] = ev
		case "removed":
			delete(rooms, name)
		}
	}
	return rooms, first
}

// TestMeetingFoundOnLANAndJoinedByName runs a real host, real bots and
// `parley discover` on a LAN made of network namespaces: a room hosted in
// ns1 is listed in ns2 and ns3, bots there join it by name (pinning the
// advertised fingerprint) and exchange media, the listed participant count
// follows, and the room disappears when the host quits.
func TestMeetingFoundOnLANAndJoinedByName(t *testing.T) {
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "ns1"}, netnstest.HostSpec{Name: "ns2"}, netnstest.HostSpec{Name: "ns3"})
	env := []string{"XDG_CONFIG_HOME=" + t.TempDir()}
	host := lan.StartBinary(t, "ns1", "serve in ns1", env, parley, "serve", "--addr", ":0", "--room", "team-sync", "--json")
	ready := nextEvent(t, host, "ready", 20*time.Second)
	nextEvent(t, host, "advertised", 20*time.Second)
	fp := fmt.Sprint(ready["fingerprint"])

	for _, ns := range []string{"ns2", "ns3"} {
		rooms, first := discoverOnce(t, lan, ns, 2*time.Second)
		room, ok := rooms["team-sync"]
		if !ok {
			t.Fatalf("%s does not list the room: %v", ns, rooms)
		}
		if !strings.Contains(fmt.Sprint(room["url"]), "#fp="+fp) || room["participants"] != 0.0 {
			t.Errorf("%s lists %v, want fingerprint %s and 0 participants", ns, room, fp)
		}
		if first > time.Second {
			t.Errorf("%s listed the room after %v, want ≤ 1 s", ns, first)
		}
		t.Logf("%s listed the room %v after discover started", ns, first.Round(time.Millisecond))
	}

	var bots []*netnstest.Proc
	for _, b := range []struct{ ns, name string }{{"ns2", "Bea"}, {"ns3", "Cal"}} {
		bots = append(bots, lan.StartBinary(t, b.ns, b.name, env, parley,
			"join", "team-sync", "--name", b.name, "--json", "--duration", "12s"))
	}
	for _, b := range bots {
		nextEvent(t, b, "joined", 30*time.Second)
	}
	// The listing follows the room: both bots are counted.
	deadline := time.Now().Add(10 * time.Second)
	for {
		rooms, _ := discoverOnce(t, lan, "ns3", time.Second)
		if rooms["team-sync"]["participants"] == 2.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listing never showed 2 participants: %v", rooms)
		}
	}

	var wg sync.WaitGroup
	stats := make([]map[string]any, len(bots))
	for i, b := range bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				line, err := b.Next(40 * time.Second)
				if err != nil {
					return
				}
				var ev map[string]any
				if json.Unmarshal(line, &ev) == nil && ev["event"] == "stats" {
					stats[i] = ev
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, st := range stats {
		if st == nil {
			t.Fatalf("%s printed no stats: %s", bots[i].Name, bots[i].Stderr())
		}
		other := bots[1-i].Name
		var frames float64
		for _, tr := range st["tracks"].([]any) {
			m := tr.(map[string]any)
			if m["participant"] == other && m["kind"] == "video" {
				frames += m["frames"].(float64)
			}
		}
		if frames < 200 {
			t.Errorf("%s got %.0f video frames from %s across the LAN, want ≥ 200", bots[i].Name, frames, other)
		}
	}

	// A clean quit withdraws the listing at once.
	if err := host.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := host.Wait(10 * time.Second); err != nil {
		t.Fatalf("host did not quit cleanly: %v", err)
	}
	if rooms, _ := discoverOnce(t, lan, "ns2", time.Second); len(rooms) != 0 {
		t.Errorf("room still listed after the host quit: %v", rooms)
	}
}

// TestLANListingFollowsLock hosts a room whose name needs escaping with
// `parley serve` in ns1; a participant in ns2 locks and unlocks it, and
// `parley discover` in ns3 must follow within a few seconds (it used to
// show the room open until the next join or leave). The listed link must
// be the host's own invite link (it used to be escaped twice), and
// joining the room by its listed name must work.
func TestLANListingFollowsLock(t *testing.T) {
	const room = "Café-sync"
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "ns1"}, netnstest.HostSpec{Name: "ns2"}, netnstest.HostSpec{Name: "ns3"})
	env := []string{"XDG_CONFIG_HOME=" + t.TempDir()}
	host := lan.StartBinary(t, "ns1", "serve in ns1", env, parley, "serve", "--addr", ":0", "--room", room, "--json")
	ready := nextEvent(t, host, "ready", 20*time.Second)
	nextEvent(t, host, "advertised", 20*time.Second)
	invite := fmt.Sprint(ready["url"])
	_, wantTail, _ := strings.Cut(strings.TrimPrefix(invite, "https://"), "/")

	rooms, _ := discoverOnce(t, lan, "ns3", 2*time.Second)
	listed, ok := rooms[room]
	if !ok {
		t.Fatalf("ns3 does not list %q: %v", room, rooms)
	}
	if _, tail, _ := strings.Cut(strings.TrimPrefix(fmt.Sprint(listed["url"]), "https://"), "/"); tail != wantTail {
		t.Errorf("listed link %v, want the invite link's path and fingerprint /%s", listed["url"], wantTail)
	}

	locker := lan.Start(t, "ns2", "locker in ns2", []string{roleEnv + "=locker", urlEnv + "=" + invite})
	nextEvent(t, locker, "joined", 30*time.Second)
	for _, locked := range []bool{true, false} {
		if err := locker.Send(lockCommand{Locked: locked}); err != nil {
			t.Fatal(err)
		}
		nextEvent(t, locker, "locked", 10*time.Second)
		changed := time.Now()
		for {
			rooms, _ := discoverOnce(t, lan, "ns3", time.Second)
			if r, ok := rooms[room]; ok && r["locked"] == locked && r["participants"] == 1.0 {
				t.Logf("listed locked=%v %v after the change", locked, time.Since(changed).Round(time.Millisecond))
				break
			}
			if time.Since(changed) > 5*time.Second {
				t.Fatalf("5 s after locked=%v the listing shows %v", locked, rooms[room])
			}
		}
	}

	// Unlocked, the room is joined by the name it is listed under.
	bot := lan.StartBinary(t, "ns3", "join by name in ns3", env, parley, "join", room, "--name", "Bea", "--json", "--duration", "1s")
	nextEvent(t, bot, "joined", 30*time.Second)
	if err := bot.Wait(30 * time.Second); err != nil {
		t.Errorf("join by name: %v\nstderr: %s", err, bot.Stderr())
	}
	locker.CloseStdin()
	if err := locker.Wait(10 * time.Second); err != nil {
		t.Errorf("locker: %v", err)
	}
}
