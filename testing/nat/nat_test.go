package nat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostPublic is the host router's address on the simulated internet: what
// invite links carry.
const hostPublic = "172.31.0.1"

// natInternet is a small internet:
//
//	host 10.88.1.2 ─ hostrtr (NAT, forwards 8080/tcp and 3478) 172.31.0.1 ─┐
//	                                                              inet (switch)
//	guest 10.88.2.2 ─ guestrtr (symmetric NAT, no inbound)    172.31.0.2 ─┘
//
// No route leads to the other side's private network, so direct ICE
// cannot work: media between host and guest must go through the host's
// TURN relay.
type natInternet struct {
	n                 *netw
	host, guest       string // namespaces
	hostRtr, guestRtr string
}

func newNATInternet(t *testing.T) *natInternet {
	t.Helper()
	if _, err := lookPath("iptables"); err != nil {
		t.Skip("needs iptables for the NAT routers (make deps installs it)")
	}
	n := newNet(t)
	inet := n.NS("inet")
	n.Exec(inet, "ip", "link", "add", "br0", "type", "bridge")
	n.IP(inet, "link", "set", "br0", "up")
	router := func(name, wanAddr, lanAddr, hostName, hostAddr, gw string) (rtr, host string) {
		rtr, host = n.NS(name), n.NS(hostName)
		n.Link(rtr, "wan0", wanAddr, inet, "w-"+name, "")
		n.IP(inet, "link", "set", "w-"+name, "master", "br0")
		n.Link(rtr, "lan0", lanAddr, host, "eth0", hostAddr)
		n.IP(host, "route", "add", "default", "via", gw)
		n.Exec(rtr, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
		// Nothing from outside gets in unless it answers our traffic or is
		// port-forwarded.
		n.Exec(rtr, "iptables", "-A", "FORWARD", "-i", "wan0", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED,DNAT", "-j", "ACCEPT")
		n.Exec(rtr, "iptables", "-A", "FORWARD", "-i", "wan0", "-j", "DROP")
		return rtr, host
	}
	w := &natInternet{n: n}
	w.hostRtr, w.host = router("hostrtr", hostPublic+"/24", "10.88.1.1/24", "host", "10.88.1.2/24", "10.88.1.1")
	w.guestRtr, w.guest = router("guestrtr", "172.31.0.2/24", "10.88.2.1/24", "guest", "10.88.2.2/24", "10.88.2.1")
	n.Exec(w.hostRtr, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE")
	for _, fwd := range []string{"tcp:8080", "tcp:3478", "udp:3478"} {
		proto, port, _ := strings.Cut(fwd, ":")
		n.Exec(w.hostRtr, "iptables", "-t", "nat", "-A", "PREROUTING", "-i", "wan0", "-p", proto, "--dport", port,
			"-j", "DNAT", "--to-destination", "10.88.1.2:"+port)
	}
	// Symmetric: every destination gets its own random source port.
	n.Exec(w.guestRtr, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE", "--random-fully")
	return w
}

// blockGuestUDP makes the guest's network drop all UDP on its way out, as
// UDP-hostile corporate firewalls do: only TCP leaves.
func (w *natInternet) blockGuestUDP() {
	w.n.Exec(w.guestRtr, "iptables", "-I", "FORWARD", "-i", "lan0", "-p", "udp", "-j", "DROP")
}

// serve starts the server (TURN on 3478) and a publishing bot in the host
// network; it returns the public invite link and the bot.
func (w *natInternet) serve(t *testing.T, env ...string) (url string, hostBot *proc) {
	t.Helper()
	env = append([]string{"PARLEY_NAT_ADDR=10.88.1.2:8080", "PARLEY_NAT_ADVERTISE=" + hostPublic, "PARLEY_NAT_TURN_PORT=3478"}, env...)
	srv := w.n.start(w.host, "server", "server", env...)
	url = srv.wait(t, startTimeout, func(v map[string]any) bool { return v["url"] != nil }).v["url"].(string)
	if !strings.Contains(url, hostPublic+":8080") {
		t.Fatalf("invite %q does not use the public address", url)
	}
	hostBot = w.n.start(w.host, "host bot", "bot", "PARLEY_NAT_URL="+strings.Replace(url, hostPublic, "10.88.1.2", 1), "PARLEY_NAT_NAME=Host")
	return url, hostBot
}

// joined waits for a bot's participant ID.
func joined(t *testing.T, bot *proc) string {
	t.Helper()
	return bot.wait(t, startTimeout, func(v map[string]any) bool { return v["joined"] != nil }).v["joined"].(string)
}

// exchange waits until bots a and b each got 30 video frames from the other.
func exchange(t *testing.T, a, b *proc) {
	t.Helper()
	aid, bid := joined(t, a), joined(t, b)
	a.wait(t, startTimeout, func(v map[string]any) bool { return frames(v, bid) > 30 })
	b.wait(t, startTimeout, func(v map[string]any) bool { return frames(v, aid) > 30 })
}

// selected waits for a bot's report of both PeerConnections' selected
// local candidates: pc → {type, relayProtocol}.
func selected(t *testing.T, bot *proc) map[string]map[string]any {
	t.Helper()
	l := bot.wait(t, 5*time.Second, func(v map[string]any) bool {
		c, _ := v["candidates"].(map[string]any)
		return c["publish"] != nil && c["subscribe"] != nil
	})
	out := map[string]map[string]any{}
	for pc, c := range l.v["candidates"].(map[string]any) {
		out[pc], _ = c.(map[string]any)
	}
	return out
}

// TestGuestBehindSymmetricNATUsesTURN: a guest bot behind a symmetric NAT
// and the host's bot get each other's media through the embedded relay.
func TestGuestBehindSymmetricNATUsesTURN(t *testing.T) {
	w := newNATInternet(t)
	url, hostBot := w.serve(t)
	guestBot := w.n.start(w.guest, "guest bot", "bot", "PARLEY_NAT_URL="+url, "PARLEY_NAT_NAME=Guest")
	direct := w.n.start(w.guest, "direct bot", "bot", "PARLEY_NAT_URL="+url, "PARLEY_NAT_NAME=Direct", "PARLEY_NAT_NO_RELAY=1")
	exchange(t, hostBot, guestBot)
	cands := selected(t, guestBot)
	t.Logf("guest's selected local candidates: %v", cands)
	for _, pc := range []string{"publish", "subscribe"} {
		if cands[pc]["type"] != "relay" {
			t.Errorf("guest's %s media does not go through the relay: %v", pc, cands)
		}
	}
	// Meanwhile the guest-side bot without the relay, which joined at the
	// same time, got no media at all: there is no direct path.
	hid := joined(t, hostBot)
	for _, l := range direct.all() {
		if frames(l.v, hid) > 0 {
			t.Fatalf("a bot without TURN received media directly: %v", l.v)
		}
	}
	if len(direct.all()) < 10 {
		t.Fatalf("the bot without TURN is not running: %v", direct.all())
	}
	for _, l := range direct.all() {
		if c, ok := l.v["candidates"].(map[string]any); ok && len(c) > 0 {
			t.Fatalf("a bot without TURN found an ICE path: %v", c)
		}
	}
}

// TestTURNOverTCPWhenUDPIsBlocked: the guest's network lets no UDP out,
// so the only way in is TURN over TCP on the same port; the guest's
// selected pairs must be relayed over TCP.
func TestTURNOverTCPWhenUDPIsBlocked(t *testing.T) {
	w := newNATInternet(t)
	w.blockGuestUDP()
	url, hostBot := w.serve(t)
	guestBot := w.n.start(w.guest, "guest bot", "bot", "PARLEY_NAT_URL="+url, "PARLEY_NAT_NAME=Guest")
	exchange(t, hostBot, guestBot)
	cands := selected(t, guestBot)
	t.Logf("guest's selected local candidates: %v", cands)
	for _, pc := range []string{"publish", "subscribe"} {
		if cands[pc]["type"] != "relay" || cands[pc]["relayProtocol"] != "tcp" {
			t.Errorf("guest's %s media is not relayed over TCP: %v", pc, cands)
		}
	}
}

// browserPrereqs finds what the browser guest needs, skipping the test
// without node, Chromium or playwright-core (make deps installs them).
func browserPrereqs(t *testing.T) (node, dist string) {
	t.Helper()
	node, err := lookPath("node")
	if err != nil {
		t.Skip("needs node for the browser guest (make deps installs it)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("needs Chromium at %s for the browser guest (make deps installs it)", chromium)
	}
	if _, err := os.Stat("../../frontend/node_modules/playwright-core/package.json"); err != nil {
		t.Skip("needs playwright-core (npm ci in frontend/)")
	}
	dist, err = filepath.Abs("../../frontend/dist")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		t.Fatalf("the frontend is not built (npm run build in frontend/): %v", err)
	}
	return node, dist
}

// TestBrowserGuestBehindNATUsesTURN: Chromium in the guest network, behind
// the symmetric NAT, opens the host's invite link, joins, and shows the
// host bot's video; the page's own stats say both its PeerConnections go
// through the relay, and the host bot gets the browser's camera.
func TestBrowserGuestBehindNATUsesTURN(t *testing.T) {
	node, dist := browserPrereqs(t)
	w := newNATInternet(t)
	url, hostBot := w.serve(t, "PARLEY_NAT_ASSETS="+dist, "PARLEY_NAT_CERT_DIR="+t.TempDir())
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("invite %q is not HTTPS: browsers refuse cameras on plain HTTP", url)
	}
	hid := joined(t, hostBot)
	browser := w.n.startCmd(w.guest, "browser guest", []string{node, "browser_guest.mjs", url, "nat", "Guest", "Host"})
	browser.wait(t, 60*time.Second, func(v map[string]any) bool { return v["event"] == "meeting" })
	l := browser.wait(t, 30*time.Second, func(v map[string]any) bool {
		p, _ := v["page"].(map[string]any)
		tile, _ := p["tile"].(map[string]any)
		pcs, _ := p["pcs"].([]any)
		if tile["state"] != "live" || num(tile["renderedFrames"]) < 30 || len(pcs) != 2 {
			return false
		}
		for _, pc := range pcs {
			if m, _ := pc.(map[string]any); m["candidateType"] == nil {
				return false
			}
		}
		return true
	})
	t.Logf("browser guest sees: %v", l.v["page"])
	var decoded float64
	for _, pc := range l.v["page"].(map[string]any)["pcs"].([]any) {
		m := pc.(map[string]any)
		if m["candidateType"] != "relay" {
			t.Errorf("the browser's PeerConnection does not go through the relay: %v", m)
		}
		decoded += num(m["framesDecoded"])
	}
	if decoded < 30 {
		t.Errorf("the browser decoded %v video frames, want 30 or more", decoded)
	}
	// And the other way: the host bot receives the browser's camera.
	hostBot.wait(t, startTimeout, func(v map[string]any) bool {
		f, _ := v["frames"].(map[string]any)
		for pid, n := range f {
			if pid != hid && num(n) > 30 {
				return true
			}
		}
		return false
	})
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
