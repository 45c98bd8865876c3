package app

import (
	"slices"
	"testing"

	"parley/backend/client"
	"parley/testing/meetingtest"
)

// TestReportShowsOnlyWhatIsOnScreen: the report at exit lists the tiles
// the window shows then. A participant who left takes his tile and its
// last frame rate with him, a report of the webview still listing him is
// not believed, and nothing of a meeting left shows up after it, in the
// lobby or in the next meeting.
func TestReportShowsOnlyWhatIsOnScreen(t *testing.T) {
	a, rec := newTestApp(t, "")
	defer a.Close()
	res, err := a.Host(HostOptions{Name: "Alice"})
	if err != nil {
		t.Fatalf("host: %v", err)
	}
	renderID := func(participant string, gone bool) uint32 {
		t.Helper()
		ev := rec.waitFor(t, "media of "+participant, func(ev map[string]any) bool {
			id, _ := ev["renderId"].(float64)
			return ev["type"] == "media" && ev["participantId"] == participant && (id == 0) == gone
		})
		id, _ := ev["renderId"].(float64)
		return uint32(id)
	}
	self := renderID(res.SelfID, false)

	media, err := meetingtest.EncodeMedia()
	if err != nil {
		t.Fatal(err)
	}
	bob := meetingtest.Join(t, res.Invite, "Bob", client.Options{})
	pub := meetingtest.Publish(t, bob, media)
	bobID := renderID(bob.ID(), false)

	// What the webview reports every second, with the grid it shows.
	drawn := func(ids ...uint32) []RenderStats {
		var st []RenderStats
		for _, id := range ids {
			st = append(st, RenderStats{RenderID: id, Width: 320, Height: 180, FramesDecoded: 300, DecodedFPS: 30})
		}
		return st
	}
	aliceTile := TileLayout{Participant: "Alice", Self: true, State: "live", Width: 320, Height: 180}
	bobTile := TileLayout{Participant: "Bob", State: "live", X: 320, Width: 320, Height: 180}
	check := func(when string, tiles, layout []string) {
		t.Helper()
		r := a.report()
		var gotTiles, gotLayout []string
		for _, tl := range r.Tiles {
			who := tl.Participant
			if tl.Self {
				who = "self"
			}
			gotTiles = append(gotTiles, who+"/"+string(tl.Kind))
		}
		for _, l := range r.Layout {
			gotLayout = append(gotLayout, l.Participant)
		}
		slices.Sort(gotTiles)
		if !slices.Equal(gotTiles, tiles) || !slices.Equal(gotLayout, layout) {
			t.Errorf("%s: report tiles %v and layout %v, want %v and %v", when, gotTiles, gotLayout, tiles, layout)
		}
	}

	a.ReportRender(RenderReport{Tracks: drawn(self, bobID), Layout: []TileLayout{aliceTile, bobTile}, DevicePixelRatio: 1, Seq: 1})
	check("Bob in the meeting", []string{"Bob/video", "self/video"}, []string{"Alice", "Bob"})

	pub.Stop()
	if err := bob.Leave(); err != nil {
		t.Fatal(err)
	}
	renderID(bob.ID(), true)
	// His tile's figures go at once; the layout is the webview's own and
	// waits for its next report (within a second).
	check("Bob just left", []string{"self/video"}, []string{"Alice", "Bob"})
	// A report the webview sent before it heard that Bob left.
	a.ReportRender(RenderReport{Tracks: drawn(self, bobID), Layout: []TileLayout{aliceTile, bobTile}, DevicePixelRatio: 1, Seq: 2})
	check("a late report with Bob", []string{"self/video"}, []string{"Alice", "Bob"})
	a.ReportRender(RenderReport{Tracks: drawn(self), Layout: []TileLayout{aliceTile}, DevicePixelRatio: 1, Seq: 4})
	check("Bob gone from the grid", []string{"self/video"}, []string{"Alice"})
	// Reports are calls that may overtake one another.
	a.ReportRender(RenderReport{Tracks: drawn(self, bobID), Layout: []TileLayout{aliceTile, bobTile}, DevicePixelRatio: 1, Seq: 3})
	check("an older report after a newer one", []string{"self/video"}, []string{"Alice"})

	if err := a.Leave(); err != nil {
		t.Fatal(err)
	}
	check("back in the lobby", nil, nil)
	// The webview's last report as it leaves may come after Go ended the
	// meeting.
	a.ReportRender(RenderReport{Tracks: drawn(self), Layout: []TileLayout{aliceTile}, DevicePixelRatio: 1, Seq: 5})
	check("a report after leaving", nil, nil)

	rec.mu.Lock()
	rec.events = nil
	rec.mu.Unlock()
	res, err = a.Host(HostOptions{Name: "Alice"})
	if err != nil {
		t.Fatalf("host again: %v", err)
	}
	again := renderID(res.SelfID, false)
	check("the next meeting, before the webview reports", nil, nil)
	// A meeting starts the count anew: the webview may make a new engine.
	a.ReportRender(RenderReport{Tracks: drawn(self, again), Layout: []TileLayout{aliceTile}, DevicePixelRatio: 1, Seq: 1})
	check("the next meeting", []string{"self/video"}, []string{"Alice"})
}
