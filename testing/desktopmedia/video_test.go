package desktopmedia

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"testing"
	"time"

	"parley/testing/meetingtest"
)

// TestVideoBetweenTwoWindows runs two real app windows on two X displays:
// one hosts (`parley --host --source test`), the other joins its invite
// link. Each must draw the other's moving test pattern: ≥ 20 fps decoded
// over the last 10 s by its webview (from --report), and a screenshot 1 s
// (or, should the machine stall the window that long, 2 s) after the first
// must differ inside the remote tile.
func TestVideoBetweenTwoWindows(t *testing.T) {
	bin := meetingtest.NeedApp(t, "Xvfb", "import", "xwininfo")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	art := meetingtest.ArtifactDir(t)

	// Laptop-sized screens: the window fits itself to 90% of them. Without
	// a GPU every drawn frame is painted in software (about 20 ms of CPU
	// for a 632×355 tile), and two windows with two tiles each share this
	// machine's cores.
	dispA := startDisplay(t, "1024x640")
	dispB := startDisplay(t, "1024x640")
	// --ice-iface lo and a loopback listen address keep every packet of
	// the meeting on this machine.
	net := []string{"--source", "test", "--ice-iface", "lo"}
	host := startApp(t, ctx, bin, dispA, "Alice", nil, append([]string{"--host", "--host-addr", "127.0.0.1:0"}, net...)...)
	invite := host.invite(t, 60*time.Second)
	t.Logf("invite link: %s", invite)
	guest := startApp(t, ctx, bin, dispB, "Bob", nil, append([]string{"--join", invite}, net...)...)

	// The fps is averaged over 10 s: give the webviews time to join, then
	// a full window of steady playback.
	select {
	case <-time.After(18 * time.Second):
	case err := <-guest.exited:
		t.Fatalf("Bob exited early: %v (see %s)", err, guest.log)
	case err := <-host.exited:
		t.Fatalf("Alice exited early: %v (see %s)", err, host.log)
	}

	// Three screenshots of each window, 1 s apart.
	type shots struct {
		files  [3]string
		imgs   [3]image.Image
		origin image.Point
	}
	taken := map[*display]*shots{dispA: {}, dispB: {}}
	for i := range 3 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		for d, role := range map[*display]string{dispA: "host", dispB: "guest"} {
			sh := taken[d]
			sh.files[i] = filepath.Join(art, fmt.Sprintf("desktopmedia-%s-%d.png", role, i+1))
			sh.imgs[i] = screenshot(t, d, sh.files[i])
		}
	}
	for d, sh := range taken {
		sh.origin = windowOrigin(t, d)
	}

	stopAll(t, guest, host)

	for _, c := range []struct {
		p     *appProc
		d     *display
		other string
	}{{host, dispA, "Bob"}, {guest, dispB, "Alice"}} {
		t.Run(c.p.name+"Sees"+c.other, func(t *testing.T) {
			r := c.p.readReport(t)
			found := false
			for _, tile := range r.Tiles {
				if tile.Participant != c.other || tile.Kind != "video" {
					continue
				}
				found = true
				if tile.DecodedFPS < 20 {
					t.Errorf("%s decoded %s's video at %.1f fps over the last 10 s, want ≥ 20", c.p.name, c.other, tile.DecodedFPS)
				}
				if tile.Width != 640 || tile.Height != 360 {
					t.Errorf("%s's video is %dx%d, want the 640x360 test pattern", c.other, tile.Width, tile.Height)
				}
			}
			if !found {
				t.Fatalf("%s's report has no video tile of %s (is the desktop engine started by the UI? see frontend/src/engine/desktop/README.md)", c.p.name, c.other)
			}
			var remote *Layout
			live := 0
			for i, l := range r.Layout {
				if l.State == "live" {
					live++
				}
				if l.Participant == c.other && !l.Screen {
					remote = &r.Layout[i]
				}
			}
			if live < 2 {
				t.Errorf("%d tiles live in %s's window, want 2 (own camera and %s): %+v", live, c.p.name, c.other, r.Layout)
			}
			if remote == nil {
				t.Fatalf("no tile of %s in %s's layout: %+v", c.other, c.p.name, r.Layout)
			}
			sh := taken[c.d]
			rect := remote.rect(sh.origin)
			diff, after := 0.0, 0
			for after = 1; after < len(sh.imgs) && diff < 1; after++ {
				diff = meanDiff(sh.imgs[0], sh.imgs[after], rect)
			}
			if diff < 1 {
				t.Errorf("%s's tile in %s's window did not change in 2 s (mean difference %.2f in %v; see %s)", c.other, c.p.name, diff, rect, sh.files[0])
			} else {
				t.Logf("%s's tile changed by %.1f per channel in %d s", c.other, diff, after-1)
			}
			if col := colourfulness(sh.imgs[1], rect); col < 0.5 {
				t.Errorf("%s's tile in %s's window shows no test pattern (%.0f%% coloured pixels in %v)", c.other, c.p.name, col*100, rect)
			}
		})
	}
}

// TestSmallTilesTakeOnlyTheFramesTheyDraw: a window in a grid of three
// (itself and two bots, at 30 fps with every other frame non-reference)
// draws the bots' tiles small, at half rate, unless one is the active
// speaker's, and asks the host to send a small tile only the frames it
// draws. So each bot's tile drew about as many frames as the window
// received from that bot; without the host leaving out the other half it
// received twice as many.
func TestSmallTilesTakeOnlyTheFramesTheyDraw(t *testing.T) {
	bin := meetingtest.NeedApp(t, "Xvfb")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	invite := serveRoom(t, ctx, bin)
	disp := startDisplay(t, "1024x640")
	app := startApp(t, ctx, bin, disp, "Alice", nil, "--join", invite, "--source", "test", "--ice-iface", "lo")
	startBots(t, ctx, bin, invite, 2)
	waitOrExit(t, 15*time.Second, app)
	stopAll(t, app)

	r := app.readReport(t)
	received := make(map[string]int)
	for _, rc := range r.Received {
		if rc.Kind == "video" {
			received[rc.Name] = rc.Frames
		}
	}
	bots := 0
	for _, tile := range r.Tiles {
		if tile.Self || tile.Kind != "video" {
			continue
		}
		bots++
		got := received[tile.Participant]
		t.Logf("%s: %d frames received, %d drawn (%.1f fps over the last 10 s)", tile.Participant, got, tile.FramesDecoded, tile.DecodedFPS)
		if tile.FramesDecoded < 50 {
			t.Errorf("%s's tile drew only %d frames", tile.Participant, tile.FramesDecoded)
			continue
		}
		if ratio := float64(got) / float64(tile.FramesDecoded); ratio > 1.5 {
			t.Errorf("%s: received %d frames for %d drawn (%.1f×): the host sent the frames a small tile leaves out", tile.Participant, got, tile.FramesDecoded, ratio)
		}
	}
	if bots != 2 {
		t.Errorf("%d bot tiles in the report, want 2", bots)
	}
}
