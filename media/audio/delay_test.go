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
