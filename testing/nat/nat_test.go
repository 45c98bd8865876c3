package nat

import (
	"strings"
	"testing"
	"time"
)

// TestGuestBehindSymmetricNATUsesTURN builds a small internet:
//
//	host 10.88.1.2 ─ hostrtr (NAT, forwards 8080/tcp and 3478) 172.31.0.1 ─┐
//	                                                              inet (switch)
//	guest 10.88.2.2 ─ guestrtr (symmetric NAT, no inbound)    172.31.0.2 ─┘
//
// The server and a host-side bot run in "host"; a guest bot joins through
// the host's public address. No route leads to the other side's private
// network, so direct ICE cannot work; the guest's media must go through the
// embedded TURN relay, and both bots must still get each other's media.
func TestGuestBehindSymmetricNATUsesTURN(t *testing.T) {
	if _, err := lookPath("iptables"); err != nil {
		t.Skip("needs iptables for the NAT routers (make deps installs it)")
	}
	n := newNet(t)
	inet := n.ns("inet")
	n.exec(inet, "ip", "link", "add", "br0", "type", "bridge")
	n.ip(inet, "link", "set", "br0", "up")
	router := func(name, wanAddr, lanAddr, hostName, hostAddr, gw string) (rtr, host string) {
		rtr, host = n.ns(name), n.ns(hostName)
		n.link(rtr, "wan0", wanAddr, inet, "w-"+name, "")
		n.ip(inet, "link", "set", "w-"+name, "master", "br0")
		n.link(rtr, "lan0", lanAddr, host, "eth0", hostAddr)
		n.ip(host, "route", "add", "default", "via", gw)
		n.exec(rtr, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
		// Nothing from outside gets in unless it answers our traffic or is
		// port-forwarded.
		n.exec(rtr, "iptables", "-A", "FORWARD", "-i", "wan0", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED,DNAT", "-j", "ACCEPT")
		n.exec(rtr, "iptables", "-A", "FORWARD", "-i", "wan0", "-j", "DROP")
		return rtr, host
	}
	hostRtr, host := router("hostrtr", "172.31.0.1/24", "10.88.1.1/24", "host", "10.88.1.2/24", "10.88.1.1")
	guestRtr, guest := router("guestrtr", "172.31.0.2/24", "10.88.2.1/24", "guest", "10.88.2.2/24", "10.88.2.1")
	n.exec(hostRtr, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE")
	for _, fwd := range []string{"tcp:8080", "tcp:3478", "udp:3478"} {
		proto, port, _ := strings.Cut(fwd, ":")
		n.exec(hostRtr, "iptables", "-t", "nat", "-A", "PREROUTING", "-i", "wan0", "-p", proto, "--dport", port,
			"-j", "DNAT", "--to-destination", "10.88.1.2:"+port)
	}
	// Symmetric: every destination gets its own random source port.
	n.exec(guestRtr, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE", "--random-fully")

	srv := n.start(host, "server", "server", "PARLEY_NAT_ADDR=10.88.1.2:8080",
		"PARLEY_NAT_ADVERTISE=172.31.0.1", "PARLEY_NAT_TURN_PORT=3478")
	url := srv.wait(t, startTimeout, func(v map[string]any) bool { return v["url"] != nil }).v["url"].(string)
	if !strings.Contains(url, "172.31.0.1:8080") {
		t.Fatalf("invite %q does not use the public address", url)
	}
	hostBot := n.start(host, "host bot", "bot", "PARLEY_NAT_URL="+strings.Replace(url, "172.31.0.1", "10.88.1.2", 1), "PARLEY_NAT_NAME=Host")
	guestBot := n.start(guest, "guest bot", "bot", "PARLEY_NAT_URL="+url, "PARLEY_NAT_NAME=Guest")
	direct := n.start(guest, "direct bot", "bot", "PARLEY_NAT_URL="+url, "PARLEY_NAT_NAME=Direct", "PARLEY_NAT_NO_RELAY=1")
	hid := hostBot.wait(t, startTimeout, func(v map[string]any) bool { return v["joined"] != nil }).v["joined"].(string)
	gid := guestBot.wait(t, startTimeout, func(v map[string]any) bool { return v["joined"] != nil }).v["joined"].(string)
	guestBot.wait(t, startTimeout, func(v map[string]any) bool { return frames(v, hid) > 30 })
	hostBot.wait(t, startTimeout, func(v map[string]any) bool { return frames(v, gid) > 30 })
	l := guestBot.wait(t, 5*time.Second, func(v map[string]any) bool {
		c, _ := v["candidates"].(map[string]any)
		return c["publish"] != nil && c["subscribe"] != nil
	})
	cands := l.v["candidates"].(map[string]any)
	t.Logf("guest's selected local candidates: %v", cands)
	if cands["publish"] != "relay" || cands["subscribe"] != "relay" {
		t.Errorf("guest's media does not go through the relay: %v", cands)
	}
	// Meanwhile the guest-side bot without the relay, which joined at the
	// same time, got no media at all: there is no direct path.
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
