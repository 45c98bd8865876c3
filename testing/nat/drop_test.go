package nat

import (
	"testing"
	"time"
)

// frames reads a bot's stats line: video frames received from pid.
func frames(v map[string]any, pid string) float64 {
	f, _ := v["frames"].(map[string]any)
	n, _ := f[pid].(float64)
	return n
}

// TestNetworkDropResumes cuts the guest's link for 10 s: afterwards media
// flows again both ways within 3 s of link-up, the observer never saw the
// guest leave, and a chat sent meanwhile reaches the guest.
func TestNetworkDropResumes(t *testing.T) {
	n := newNet(t)
	nss := flatLAN(n, "host", "guest", "observer")

	srv := n.start(nss["host"], "server", "server", "PARLEY_NAT_ADDR=10.88.0.1:8080")
	url := srv.wait(t, startTimeout, func(v map[string]any) bool { return v["url"] != nil }).v["url"].(string)
	observer := n.start(nss["observer"], "observer", "bot", "PARLEY_NAT_URL="+url, "PARLEY_NAT_NAME=Observer")
	guest := n.start(nss["guest"], "guest", "bot", "PARLEY_NAT_URL="+url, "PARLEY_NAT_NAME=Guest")
	oid := observer.wait(t, startTimeout, func(v map[string]any) bool { return v["joined"] != nil }).v["joined"].(string)
	gid := guest.wait(t, startTimeout, func(v map[string]any) bool { return v["joined"] != nil }).v["joined"].(string)
	guest.wait(t, startTimeout, func(v map[string]any) bool { return frames(v, oid) > 30 })
	observer.wait(t, startTimeout, func(v map[string]any) bool { return frames(v, gid) > 30 })

	down := time.Now()
	n.IP(nss["guest"], "link", "set", "eth0", "down")
	time.Sleep(time.Second)
	if err := observer.send(map[string]any{"chat": "sent during the outage"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10*time.Second - time.Since(down))
	// The frame counts at link-up; media has resumed when they grow.
	var gBase, oBase float64
	for _, l := range guest.all() {
		gBase = max(gBase, frames(l.v, oid))
	}
	for _, l := range observer.all() {
		oBase = max(oBase, frames(l.v, gid))
	}
	n.IP(nss["guest"], "link", "set", "eth0", "up")
	up := time.Now()

	toGuest := guest.wait(t, 15*time.Second, func(v map[string]any) bool { return frames(v, oid) > gBase+5 })
	toObserver := observer.wait(t, 15*time.Second, func(v map[string]any) bool { return frames(v, gid) > oBase+5 })
	dGuest, dObserver := toGuest.at.Sub(up), toObserver.at.Sub(up)
	t.Logf("after link-up, media resumed in %v (observer → guest) and %v (guest → observer)",
		dGuest.Round(10*time.Millisecond), dObserver.Round(10*time.Millisecond))
	if dGuest > 3*time.Second || dObserver > 3*time.Second {
		t.Errorf("media took longer than 3 s to resume")
	}
	guest.wait(t, 5*time.Second, func(v map[string]any) bool {
		return v["event"] == "chat" && v["text"] == "sent during the outage"
	})
	for _, l := range observer.all() {
		if l.v["event"] == "left" && l.v["participant"] == gid {
			t.Errorf("the observer saw the guest leave")
		}
	}
	for _, l := range observer.all() {
		if l.v["event"] == "state" {
			t.Logf("observer saw the guest %s at +%v", l.v["state"], l.at.Sub(down).Round(100*time.Millisecond))
		}
	}
}
