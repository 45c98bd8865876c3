package desktop

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/testing/meetingtest"
)

// codecReport mirrors app.CodecReport; decoded independently so the test
// checks the file format, not just the Go type.
type codecReport struct {
	WebCodecs     bool   `json:"webcodecs"`
	VP8Supported  bool   `json:"vp8Supported"`
	DecodedWidth  int    `json:"decodedWidth"`
	DecodedHeight int    `json:"decodedHeight"`
	LeftRGB       []int  `json:"leftRGB"`
	RightRGB      []int  `json:"rightRGB"`
	Error         string `json:"error"`
}

// Colours the lobby is built from (frontend/src/style.css).
var (
	pageBackground = color.RGBA{0x14, 0x16, 0x1c, 0xff}
	panel          = color.RGBA{0x1e, 0x21, 0x29, 0xff}
	accent         = color.RGBA{0x4f, 0x7c, 0xff, 0xff}
)

// TestDesktopSmoke starts the built app in the X display it is given (make
// test runs it under xvfb-run), waits for the webview's codec self-check,
// then screenshots the screen and checks that the lobby is drawn.
func TestDesktopSmoke(t *testing.T) {
	bin := os.Getenv("PARLEY_BIN")
	if bin == "" || os.Getenv("DISPLAY") == "" {
		t.Skip("needs PARLEY_BIN (a desktop build) and DISPLAY; run via make test")
	}
	for _, tool := range []string{"import", "xwininfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (make deps installs it): %v", tool, err)
		}
	}
	artifacts := meetingtest.ArtifactDir(t)
	reportPath := filepath.Join(t.TempDir(), "codec.json")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--codec-report", reportPath)
	logFile, err := os.Create(filepath.Join(artifacts, "desktop-smoke.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cancel()
		<-exited
	}()

	report := waitForReport(t, reportPath, exited)
	if !report.WebCodecs || !report.VP8Supported || report.Error != "" {
		t.Fatalf("webview cannot decode VP8: %+v", report)
	}
	if report.DecodedWidth != 320 || report.DecodedHeight != 240 {
		t.Errorf("decoded fixture is %dx%d, want 320x240", report.DecodedWidth, report.DecodedHeight)
	}
	// The fixture is red on the left half and blue on the right.
	if !near(report.LeftRGB, []int{255, 0, 0}, 24) || !near(report.RightRGB, []int{0, 0, 255}, 24) {
		t.Errorf("decoded colours left=%v right=%v, want red then blue", report.LeftRGB, report.RightRGB)
	}

	tree, err := exec.Command("xwininfo", "-root", "-tree").CombinedOutput()
	if err != nil {
		t.Fatalf("xwininfo: %v\n%s", err, tree)
	}
	if !strings.Contains(string(tree), `"Parley"`) {
		t.Errorf("no window titled \"Parley\" on the display:\n%s", tree)
	}

	// The webview paints just after the report; give it a moment.
	time.Sleep(time.Second)
	shot := filepath.Join(artifacts, "desktop-lobby.png")
	if out, err := exec.Command("import", "-window", "root", shot).CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	t.Logf("screenshot: %s", shot)
	img := meetingtest.ReadPNG(t, shot)
	if got := fraction(img, pageBackground, 6); got < 0.4 {
		t.Errorf("page background covers %.0f%% of the screen, want ≥ 40%%", got*100)
	}
	if got := fraction(img, panel, 6); got < 0.05 {
		t.Errorf("lobby panel covers %.1f%% of the screen, want ≥ 5%%", got*100)
	}
	// The "Host a meeting" button is the only large accent-coloured area.
	if got := fraction(img, accent, 12); got < 0.01 {
		t.Errorf("accent button covers %.2f%% of the screen, want ≥ 1%%", got*100)
	}
}

func waitForReport(t *testing.T, path string, exited <-chan error) codecReport {
	t.Helper()
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			t.Fatalf("app exited before reporting: %v (see testing/artifacts/desktop-smoke.log)", err)
		case <-deadline:
			t.Fatal("no codec report from the webview within 60 s (see testing/artifacts/desktop-smoke.log)")
		case <-tick.C:
			data, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			var r codecReport
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatalf("codec report %s: %v", path, err)
			}
			return r
		}
	}
}

func near(got, want []int, tolerance int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if d := got[i] - want[i]; d > tolerance || d < -tolerance {
			return false
		}
	}
	return true
}

// fraction is the share of pixels within tolerance of c on every channel.
func fraction(img image.Image, c color.RGBA, tolerance int) float64 {
	b := img.Bounds()
	var match, total int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if abs(int(r>>8)-int(c.R)) <= tolerance && abs(int(g>>8)-int(c.G)) <= tolerance && abs(int(bl>>8)-int(c.B)) <= tolerance {
				match++
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(match) / float64(total)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
