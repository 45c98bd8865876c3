package app

import (
	"os/exec"
	"testing"
	"time"

	"parley/backend/client"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

// TestStopShareLeavesTheRoom: stopping a share takes the screen track out
// of the room (others drop its tile), and the next share publishes it
// afresh. A muted track left behind showed everyone an empty screen tile
// on the stage until the sharer left. Our own screen tile goes from the
// report too: it is no longer on screen.
func TestStopShareLeavesTheRoom(t *testing.T) {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Skip("Xvfb not installed")
	}
	t.Setenv("DISPLAY", meetingtest.StartXvfb(t, "320x240", 0))
	a, rec := newTestAppWith(t, Options{Source: SourceNone})
	defer a.Close()
	res, err := a.Host(HostOptions{Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	bob := meetingtest.Join(t, res.Invite, "Bob", client.Options{})
	isScreen := func(p *signal.TrackPublished) bool {
		return p.Track.ParticipantID == res.SelfID && p.Track.Kind == signal.KindScreen
	}
	for round := 1; round <= 2; round++ {
		if err := a.ShareScreen(""); err != nil {
			t.Fatalf("share %d: %v", round, err)
		}
		shared := meetingtest.NextMessage(t, bob, 10*time.Second, isScreen)
		ev := rec.waitFor(t, "our screen tile", func(ev map[string]any) bool {
			id, _ := ev["renderId"].(float64)
			return ev["type"] == "media" && ev["trackId"] == screenTrackID && id > 0
		})
		id := uint32(ev["renderId"].(float64))
		a.ReportRender(RenderReport{Tracks: []RenderStats{{RenderID: id, Width: 320, Height: 240, FramesDecoded: 50, DecodedFPS: 5}}, Seq: round})
		if tiles := a.report().Tiles; len(tiles) != 1 || tiles[0].Kind != signal.KindScreen {
			t.Errorf("share %d: report tiles %+v, want our screen", round, tiles)
		}
		if err := a.StopShare(); err != nil {
			t.Fatalf("stop share %d: %v", round, err)
		}
		if tiles := a.report().Tiles; len(tiles) != 0 {
			t.Errorf("share %d stopped: report tiles %+v, want none", round, tiles)
		}
		rec.mu.Lock()
		rec.events = nil
		rec.mu.Unlock()
		meetingtest.NextMessage(t, bob, 10*time.Second, func(u *signal.TrackUnpublished) bool {
			return u.ParticipantID == res.SelfID && u.TrackID == shared.Track.ID
		})
	}
}
