package audio

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestCrossCorrelatorMatchesDotProducts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var x crossCorrelator
	for _, tc := range []struct{ short, long int }{{1, 1}, {3, 8}, {400, 1000}, {1600, 5600}} {
		short, long := make([]float32, tc.short), make([]float32, tc.long)
		for i := range short {
			short[i] = float32(rng.IntN(8000) - 4000)
		}
		for i := range long {
			long[i] = float32(rng.IntN(8000) - 4000)
		}
		got := x.correlate(short, long, nil)
		if len(got) != tc.long-tc.short+1 {
			t.Fatalf("%d in %d: %d results, want %d", tc.short, tc.long, len(got), tc.long-tc.short+1)
		}
		for k := range got {
			var want float64
			for i, v := range short {
				want += float64(v) * float64(long[k+i])
			}
			if math.Abs(got[k]-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Fatalf("%d in %d: r[%d] = %g, want %g", tc.short, tc.long, k, got[k], want)
			}
		}
	}
}
