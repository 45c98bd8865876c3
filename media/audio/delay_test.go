package audio

import (
	"math/rand/v2"
	"testing"
)

// The estimator finds an echo wherever the reference was anchored: after
// it, slightly before it, and far before it (microphone frames went
// missing); an echo the canceller models well (20–70 ms after) is left
// alone.
func TestDelayEstimator(t *testing.T) {
	for _, tc := range []struct {
		name    string
		echoMs  int
		want    bool
		atLeast int // frames of sound before it must have answered
	}{
		{"late", 150, true, 150},
		{"a little early", -60, true, 150},
		{"far early", -300, true, 200},
		{"where the canceller wants it", 40, false, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.echoMs+1000)))
			const total = 300 * FrameSamples
			delay := tc.echoMs * Rate / 1000
			played := make([]int16, total+Rate)
			for i := range played {
				played[i] = int16(rng.IntN(8000) - 4000)
			}
			// ref[p] is played[p+Rate/2]; the microphone hears played[p+Rate/2-delay].
			e := newDelayEstimator()
			mic, ref := make([]int16, FrameSamples), make([]int16, FrameSamples)
			var got int64
			found := false
			for f := 0; f < tc.atLeast && !found; f++ {
				for i := range FrameSamples {
					p := f*FrameSamples + i + Rate/2
					ref[i], mic[i] = played[p], played[p-delay]
				}
				e.observe(mic, ref)
				got, found = e.estimate()
			}
			if found != tc.want {
				t.Fatalf("found %v (at %d ms), want %v", found, got*1000/Rate, tc.want)
			}
			if found && (got*1000/Rate < int64(tc.echoMs)-3 || got*1000/Rate > int64(tc.echoMs)+3) {
				t.Errorf("echo at %d ms, want %d", got*1000/Rate, tc.echoMs)
			}
		})
	}
}

// Once an estimate placed the reference, the echo must be found elsewhere
// twice in a row (250 ms apart) before the reference moves again: a
// stream held up within one 400 ms window makes that window match best
// at another lag, and moving a right reference costs the canceller
// seconds of relearning. An echo before its reference moves at once.
func TestDelayEstimatorWantsAgreement(t *testing.T) {
	// Estimates come at frames 100, 125, 150, …; the one at frame 200
	// compares the microphone over 1.5–1.9 s.
	for _, tc := range []struct {
		name     string
		placed   bool
		echoMs   func(sec float64) int
		wantAt   int // frame of the first answer, 0 for none in 3 s
		wantEcho int // ms
	}{
		{"a held-up window is not followed", true, func(s float64) int {
			if s >= 1.55 && s < 1.85 {
				return 10
			}
			return 40
		}, 0, 0},
		{"a lasting move is, one estimate later", true, func(s float64) int {
			if s >= 1.5 {
				return 10
			}
			return 40
		}, 225, 10},
		{"before the reference, at once", true, func(s float64) int {
			if s >= 1.5 {
				return -30
			}
			return 40
		}, 200, -30},
		{"the first placing, at once", false, func(s float64) int {
			if s >= 1.5 {
				return 10
			}
			return 40
		}, 200, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 7))
			const frames = 300
			played := make([]int16, frames*FrameSamples+Rate)
			for i := range played {
				played[i] = int16(rng.IntN(8000) - 4000)
			}
			e := newDelayEstimator()
			e.placed = tc.placed
			mic, ref := make([]int16, FrameSamples), make([]int16, FrameSamples)
			for f := range frames {
				for i := range FrameSamples {
					n := f*FrameSamples + i
					p := n + Rate/2
					ref[i], mic[i] = played[p], played[p-tc.echoMs(float64(n)/Rate)*Rate/1000]
				}
				e.observe(mic, ref)
				d, ok := e.estimate()
				if !ok {
					continue
				}
				if f+1 != tc.wantAt {
					t.Fatalf("moved at frame %d (echo at %d ms), want %d", f+1, d*1000/Rate, tc.wantAt)
				}
				if got := d * 1000 / Rate; got < int64(tc.wantEcho)-1 || got > int64(tc.wantEcho)+1 {
					t.Errorf("echo at %d ms, want %d", got, tc.wantEcho)
				}
				return
			}
			if tc.wantAt != 0 {
				t.Fatalf("never moved, want at frame %d", tc.wantAt)
			}
		})
	}
}
