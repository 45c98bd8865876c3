package audio

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
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
	// Estimates come at frames 140, 165, 190, 215, …; the one at frame
	// 215 compares the microphone over 1.65–2.05 s for lags from -100 ms
	// and over 1.25–1.65 s for all lags.
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
		}, 240, 10},
		{"before the reference, at once", true, func(s float64) int {
			if s >= 1.5 {
				return -30
			}
			return 40
		}, 215, -30},
		{"the first placing, at once", false, func(s float64) int {
			if s >= 1.5 {
				return 10
			}
			return 40
		}, 215, 10},
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

// Speech matches its echo at one lag: voices' pitch periods and a
// sentence's rhythm must not make the estimator think it repeats itself.
func TestDelayEstimatorFindsSpeechEcho(t *testing.T) {
	played := speech(t, 9)
	for _, echoMs := range []int{150, -60, -300} {
		delay := echoMs * Rate / 1000
		e := newDelayEstimator()
		mic, ref := make([]int16, FrameSamples), make([]int16, FrameSamples)
		found := false
		for f := 0; f < 800 && !found; f++ {
			for i := range FrameSamples {
				p := f*FrameSamples + i + Rate/2
				ref[i], mic[i] = played[p], played[p-delay]/2
			}
			e.observe(mic, ref)
			var d int64
			if d, found = e.estimate(); found && (d*1000/Rate < int64(echoMs)-3 || d*1000/Rate > int64(echoMs)+3) {
				t.Errorf("echo at %d ms: found at %d ms", echoMs, d*1000/Rate)
			}
		}
		if !found {
			t.Errorf("echo at %d ms: not found in 8 s of speech", echoMs)
		}
	}
}

// beeps is a far end that repeats itself: 660 Hz for 100 ms in every
// period, the kind that made the reference jump to a wrong echo in a QA
// pass (a false echo ~450 ms before its reference, then 1 s of echo).
func beeps(n int, period time.Duration) []int16 {
	out := make([]int16, n)
	p := int(period.Seconds() * Rate)
	for i := range out {
		if i%p < Rate/10 {
			out[i] = int16(8000 * math.Sin(2*math.Pi*660*float64(i)/Rate))
		}
	}
	return out
}

// A far end that repeats itself matches its echo at every period as well
// as at the echo: the estimator must not move the reference to one of the
// other lags, also when the newest microphone window is drowned by the
// near end talking (which sends it to the far lags, on an older window).
func TestDelayEstimatorPeriodicFarEnd(t *testing.T) {
	for _, tc := range []struct {
		name   string
		period time.Duration
		echoMs int
		// talkFrom: the near end talks over the echo from this frame on.
		talkFrom int
	}{
		{"period inside the search", 200 * time.Millisecond, 150, 0},
		{"echo where wanted, near end talking", 450 * time.Millisecond, 40, 150},
		{"echo late, near end talking", 450 * time.Millisecond, 100, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const frames = 400
			rng := rand.New(rand.NewPCG(8, 9))
			played := beeps(frames*FrameSamples+Rate, tc.period)
			delay := tc.echoMs * Rate / 1000
			e := newDelayEstimator()
			e.placed = true
			mic, ref := make([]int16, FrameSamples), make([]int16, FrameSamples)
			for f := range frames {
				for i := range FrameSamples {
					p := f*FrameSamples + i + Rate/2
					ref[i], mic[i] = played[p], played[p-delay]/2
					if tc.talkFrom > 0 && f >= tc.talkFrom {
						mic[i] += int16(rng.IntN(12000) - 6000)
					}
				}
				e.observe(mic, ref)
				if d, ok := e.estimate(); ok && (d*1000/Rate < int64(tc.echoMs)-3 || d*1000/Rate > int64(tc.echoMs)+3) {
					t.Fatalf("frame %d: moved the reference to an echo at %d ms; it is at %d ms", f+1, d*1000/Rate, tc.echoMs)
				}
			}
		})
	}
}

// BenchmarkDelayEstimate is one estimate of a call on headphones: the far
// end plays and the microphone hears only the near end, so nothing
// matches (the estimate searches every lag either way).
func BenchmarkDelayEstimate(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	e := newDelayEstimator()
	mic, ref := make([]int16, FrameSamples), make([]int16, FrameSamples)
	fill := func() {
		for i := range FrameSamples {
			mic[i], ref[i] = int16(rng.IntN(8000)-4000), int16(rng.IntN(8000)-4000)
		}
	}
	for range 2 * history / (FrameSamples / decimate) {
		fill()
		e.observe(mic, ref)
	}
	b.ResetTimer()
	for range b.N {
		e.frames = every
		if _, ok := e.estimate(); ok {
			b.Fatal("uncorrelated signals matched")
		}
	}
}
