package desktopmedia

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/testing/meetingtest"
)

// statsRE is the stats overlay's text on a received tile: resolution and
// frame rate, a non-zero bitrate and the loss, the round-trip time.
var statsRE = regexp.MustCompile(`^(\d+)×(\d+) · [\d.]+ fps\n[1-9][\d.]* (kbps|Mbps) · [\d.<]+% loss\nRTT \d+ ms$`)

// TestStatsOverlayInWindow: Bob's window opens the meeting with the stats
// overlay on (`--stats`, as pressing I does); his webview's report of what
// it shows carries the overlay's text on Alice's tile, from the app's
// Stats binding and the webview's own decoding.
func TestStatsOverlayInWindow(t *testing.T) {
	bin := meetingtest.NeedApp(t, "Xvfb", "import")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dispA := startDisplay(t, "1024x640")
	dispB := startDisplay(t, "1024x640")
	net := []string{"--source", "test", "--ice-iface", "lo"}
	host := startApp(t, ctx, bin, dispA, "Alice", nil, append([]string{"--host", "--host-addr", "127.0.0.1:0"}, net...)...)
	invite := host.invite(t, 60*time.Second)
	guest := startApp(t, ctx, bin, dispB, "Bob", nil, append([]string{"--join", invite, "--stats"}, net...)...)
	select {
	case <-time.After(12 * time.Second):
	case err := <-guest.exited:
		t.Fatalf("Bob exited early: %v (see %s)", err, guest.log)
	}
	shot := filepath.Join(meetingtest.ArtifactDir(t), "desktopmedia-stats-overlay.png")
	screenshot(t, dispB, shot)
	guest.stop(t)
	host.stop(t)

	r := guest.readReport(t)
	var alice, self *Layout
	for i, l := range r.Layout {
		switch {
		case l.Participant == "Alice" && !l.Screen:
			alice = &r.Layout[i]
		case l.Self:
			self = &r.Layout[i]
		}
	}
	if alice == nil {
		t.Fatalf("no tile of Alice in Bob's layout: %+v", r.Layout)
	}
	m := statsRE.FindStringSubmatch(alice.Stats)
	if m == nil {
		t.Fatalf("stats overlay on Alice's tile reads %q, want resolution, fps, bitrate, loss and RTT (see %s)", alice.Stats, shot)
	}
	if m[1] != "640" || m[2] != "360" {
		t.Errorf("overlay says %s×%s, want the 640×360 test pattern", m[1], m[2])
	}
	if self == nil || !strings.Contains(self.Stats, "sent") {
		t.Errorf("Bob's own tile's overlay: %+v, want it marked as sent video", self)
	}
	t.Logf("overlay on Alice's tile: %q (%s)", alice.Stats, shot)
}
