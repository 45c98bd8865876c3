package vp8enc_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"parley/media/cthread"
	"parley/media/vp8enc"
)

// rssAnonKB is this process's anonymous memory in RAM.
func rssAnonKB(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no RssAnon in /proc/self/status")
	return 0
}

// TestEncodersComeAndGo: a 720p camera encoder per meeting, one after
// the other, as a window that leaves and rejoins makes them; each runs on
// a C thread of its own. What they free must go back to the system, not
// stay in glibc's arenas (QA soak: a window grew by ~34 MB a rejoin).
// Without ReturnLargeFrees this grew by 33 MB with the second encoder, and
// by 101 MB after six.
func TestEncodersComeAndGo(t *testing.T) {
	cthread.ReturnLargeFrees() // as the window does at start
	const w, h, fps = 1280, 720, 30
	sc, img := newScene(w, h), newYCbCr(w, h)
	var after []int
	for range 6 {
		e, err := vp8enc.New(vp8enc.Options{Width: w, Height: h, FPS: fps, Bitrate: 1_500_000})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			sc.next(img)
			if _, err := e.Encode(img, frameTime(i, fps)); err != nil {
				t.Fatal(err)
			}
		}
		e.Close()
		after = append(after, rssAnonKB(t))
	}
	t.Logf("anonymous memory after each encoder closed: %v kB", after)
	if grew := after[len(after)-1] - after[0]; grew > 10<<10 {
		t.Errorf("%d kB more after 5 more encoders came and went", grew)
	}
}
