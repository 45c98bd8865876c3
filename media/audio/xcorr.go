package audio

import (
	"math"
	"math/bits"
	"math/cmplx"
)

// crossCorrelator computes sliding dot products of a short signal along a
// longer one through the FFT: the delay estimator's search over 600–1000 ms
// of lags took 3–7 ms per estimate as plain dot products, four times a
// second for as long as the far end plays.
type crossCorrelator struct {
	plans map[int]*fftPlan // by size: the estimator uses two
}

// fftPlan is what a transform of one size needs, made once.
type fftPlan struct {
	n           int
	twiddle     []complex128
	bitReversed []int
	z, p        []complex128
}

// correlate returns r[k] = Σ short[i]·long[k+i] for k = 0…len(long)-len(short).
// It appends to r[:0].
func (x *crossCorrelator) correlate(short, long []float32, r []float64) []float64 {
	f := x.plan(1 << bits.Len(uint(len(long)-1)))
	n := f.n
	// Both real signals go through one transform, long as the real part
	// and short as the imaginary part, and are told apart by symmetry.
	clear(f.z)
	for i, v := range long {
		f.z[i] = complex(float64(v), 0)
	}
	for i, v := range short {
		f.z[i] += complex(0, float64(v))
	}
	f.transform(f.z, false)
	for k := range n/2 + 1 {
		zk, zm := f.z[k], cmplx.Conj(f.z[(n-k)%n])
		l := (zk + zm) * 0.5
		s := (zk - zm) * complex(0, -0.5)
		f.p[k] = l * cmplx.Conj(s)
		if k > 0 && k < n-k {
			f.p[n-k] = cmplx.Conj(f.p[k])
		}
	}
	f.transform(f.p, true)
	r = r[:0]
	for k := range len(long) - len(short) + 1 {
		r = append(r, real(f.p[k])/float64(n))
	}
	return r
}

func (x *crossCorrelator) plan(n int) *fftPlan {
	if f := x.plans[n]; f != nil {
		return f
	}
	f := &fftPlan{n: n, z: make([]complex128, n), p: make([]complex128, n)}
	f.twiddle = make([]complex128, n/2)
	for i := range f.twiddle {
		f.twiddle[i] = cmplx.Rect(1, -2*math.Pi*float64(i)/float64(n))
	}
	f.bitReversed = make([]int, n)
	shift := bits.UintSize - bits.TrailingZeros(uint(n))
	for i := range f.bitReversed {
		f.bitReversed[i] = int(bits.Reverse(uint(i)) >> shift)
	}
	if x.plans == nil {
		x.plans = make(map[int]*fftPlan)
	}
	x.plans[n] = f
	return f
}

// transform is an in-place radix-2 FFT (the inverse unscaled).
func (f *fftPlan) transform(v []complex128, inverse bool) {
	for i, j := range f.bitReversed {
		if i < j {
			v[i], v[j] = v[j], v[i]
		}
	}
	for half := 1; half < f.n; half *= 2 {
		step := f.n / (2 * half)
		for start := 0; start < f.n; start += 2 * half {
			for k := range half {
				w := f.twiddle[k*step]
				if inverse {
					w = cmplx.Conj(w)
				}
				t := w * v[start+k+half]
				v[start+k+half] = v[start+k] - t
				v[start+k] += t
			}
		}
	}
}
