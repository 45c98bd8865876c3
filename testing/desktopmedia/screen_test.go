package desktopmedia

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"parley/testing/meetingtest"
)

// The pattern on the shared screen: four quadrants.
var quadrants = []color.RGBA{
	{0xff, 0x20, 0x20, 0xff}, // red
	{0x20, 0xd0, 0x20, 0xff}, // green
	{0x20, 0x40, 0xff, 0xff}, // blue
	{0xff, 0xe0, 0x20, 0xff}, // yellow
}

// TestScreenShareBetweenTwoWindows: Alice's display has a second screen
// painted with four colours; Alice hosts sharing that screen
// (`--share x11:1`), Bob joins. Bob's webview decodes her `screen` track at
// ≥ 5 fps and his window shows the four colours in the (large) screen
// tile.
func TestScreenShareBetweenTwoWindows(t *testing.T) {
	bin := meetingtest.NeedApp(t, "Xvfb", "import", "xwininfo", "convert", "display")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	art := meetingtest.ArtifactDir(t)

	dispA := startDisplay(t, "1024x640", "800x600")
	dispB := startDisplay(t, "1024x640")
	pattern := filepath.Join(t.TempDir(), "pattern.png")
	args := []string{"-size", "800x600", "xc:black"}
	for i, c := range quadrants {
		x, y := (i%2)*400, (i/2)*300
		args = append(args, "-fill", colorHex(c), "-draw", fmt.Sprintf("rectangle %d,%d %d,%d", x, y, x+399, y+299))
	}
	if out, err := exec.Command("convert", append(args, pattern)...).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v\n%s", err, out)
	}
	paint := exec.Command("display", "-window", "root", pattern)
	paint.Env = append(os.Environ(), "DISPLAY="+dispA.name+".1")
	_ = paint.Run() // exits 1 after painting; the screenshots check it

	common := []string{"--source", "none", "--ice-iface", "lo"}
	host := startApp(t, ctx, bin, dispA, "Alice", nil,
		append([]string{"--host", "--host-addr", "127.0.0.1:0", "--share", "x11:1"}, common...)...)
	invite := host.invite(t, 60*time.Second)
	guest := startApp(t, ctx, bin, dispB, "Bob", nil, append([]string{"--join", invite}, common...)...)
	waitOrExit(t, 16*time.Second, host, guest)

	shot := filepath.Join(art, "desktopmedia-screenshare-guest.png")
	img := screenshot(t, dispB, shot)
	origin := windowOrigin(t, dispB)
	hostShot := filepath.Join(art, "desktopmedia-screenshare-host.png")
	hostImg := screenshot(t, dispA, hostShot)
	stopAll(t, guest, host)

	// Alice shares from the start (--share): her window says so, with
	// the red "You are sharing your screen" banner and its Stop button.
	if got := share(hostImg, hostImg.Bounds(), sharingBanner, 12); got < 0.01 {
		t.Errorf("the sharing banner's colour covers %.2f%% of Alice's window, want ≥ 1%% (see %s)", got*100, hostShot)
	}

	r := guest.readReport(t)
	found := false
	for _, tile := range r.Tiles {
		if tile.Participant == "Alice" && tile.Kind == "screen" {
			found = true
			if tile.DecodedFPS < 5 {
				t.Errorf("Bob decoded Alice's screen at %.1f fps, want ≥ 5", tile.DecodedFPS)
			}
			if tile.Width != 800 || tile.Height != 600 {
				t.Errorf("Alice's screen arrived %dx%d, want 800x600", tile.Width, tile.Height)
			}
		}
	}
	if !found {
		t.Fatalf("Bob's report has no screen tile of Alice: %+v", r.Tiles)
	}
	var tile *Layout
	for i, l := range r.Layout {
		if l.Participant == "Alice" && l.Screen {
			tile = &r.Layout[i]
		}
	}
	if tile == nil {
		t.Fatalf("no screen tile in Bob's layout: %+v", r.Layout)
	}
	rect := tile.rect(origin)
	t.Logf("screen tile at %v (%s)", rect, shot)
	for i, c := range quadrants {
		if got := share(img, rect, c, 40); got < 0.05 {
			t.Errorf("quadrant %d's colour %v covers %.1f%% of the screen tile, want ≥ 5%% (see %s)", i, c, got*100, shot)
		}
	}
}

// sharingBanner is the banner's background while you share (style.css).
var sharingBanner = color.RGBA{0x7a, 0x1f, 0x22, 0xff}

func colorHex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// share is the fraction of pixels in r within tolerance of c.
func share(img image.Image, r image.Rectangle, c color.RGBA, tolerance int) float64 {
	var hit, n int
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			n++
			if abs(int(cr>>8)-int(c.R)) <= tolerance && abs(int(cg>>8)-int(c.G)) <= tolerance && abs(int(cb>>8)-int(c.B)) <= tolerance {
				hit++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float64(hit) / float64(n)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
