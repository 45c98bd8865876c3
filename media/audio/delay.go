package audio

import (
	"math"
	"slices"
)

// delayEstimator finds where the echo is: the lag at which the microphone
// signal best matches the reference given to the echo canceller, by
// normalised cross-correlation of both signals decimated to 4 kHz. It
// only speaks up when the match is clear and the echo sits where the
// canceller models it badly: before the reference, too close to it, or so
// late that it needs most of the tail (and converges slowly).
type delayEstimator struct {
	mic, ref []float32 // decimated histories, newest last
	acc      [2]float32
	n        int
	frames   int // since the last estimate
	// placed: an estimate placed the reference. From then on a lag must
	// be found twice in a row before the reference moves again: one
	// window a stream was held up in can match best elsewhere, and
	// moving a reference that was right costs the canceller 2 s of
	// relearning (CI once: 20 ms realigned, ERLE 2–6 dB for 1.5 s).
	placed     bool
	pending    int // decimated lag found once, not yet acted on
	hasPending bool

	xcorr       crossCorrelator
	dots, curve []float64 // search's scratch
}

const (
	decimate = 12                   // 48 kHz → 4 kHz
	decRate  = Rate / decimate      // 4000
	window   = decRate * 2 / 5      // 400 ms compared
	minLag   = -decRate / 10        // -100 ms: an echo before its reference
	maxLag   = decRate * 500 / 1000 // 500 ms
	// farLag is how early an echo can come when microphone frames went
	// missing (or the speaker skipped) and farRing has not taken the
	// step for a slip yet.
	farLag  = -decRate / 2 // -500 ms
	history = window + maxLag - farLag
	every   = 25 // frames between estimates (250 ms)
	// An echo 20…70 ms after the reference is left alone: the canceller
	// models it well, and moving the reference means learning anew.
	okFrom = decRate * 20 / 1000
	okTo   = decRate * 70 / 1000
	// agree is how close two estimates in a row must be to move a
	// placed reference (2 ms).
	agree = decRate * 2 / 1000
	// A lag farther than distinct from the best that matches at least
	// nearlyAsWell as it makes the best unclear. distinct is past the
	// width of a speech echo's peak and voices' pitch periods.
	distinct     = decRate * 30 / 1000
	nearlyAsWell = 0.8
)

func newDelayEstimator() *delayEstimator { return &delayEstimator{} }

// reset forgets the history (after the reference moved, old frames pair
// the wrong samples).
func (e *delayEstimator) reset() {
	e.mic, e.ref, e.frames = e.mic[:0], e.ref[:0], 0
	e.hasPending = false
}

// forget resets and also forgets that the reference was placed: it was
// anchored anew, where the echo is unknown.
func (e *delayEstimator) forget() {
	e.reset()
	e.placed = false
}

// observe adds one frame of microphone and reference.
func (e *delayEstimator) observe(mic, ref []int16) {
	for i := range mic {
		e.acc[0] += float32(mic[i])
		e.acc[1] += float32(ref[i])
		e.n++
		if e.n == decimate {
			e.mic = append(e.mic, e.acc[0]/decimate)
			e.ref = append(e.ref, e.acc[1]/decimate)
			e.acc, e.n = [2]float32{}, 0
		}
	}
	if len(e.mic) > 2*history {
		e.mic = append(e.mic[:0], e.mic[len(e.mic)-history:]...)
		e.ref = append(e.ref[:0], e.ref[len(e.ref)-history:]...)
	}
	e.frames++
}

// estimate returns the echo's delay after the reference (48 kHz samples)
// when it should be corrected.
func (e *delayEstimator) estimate() (int64, bool) {
	if e.frames < every || len(e.mic) < history {
		return 0, false
	}
	e.frames = 0
	c := e.search(minLag, maxLag)
	if c == nil {
		return 0, false
	}
	best, bestC, clear := peak(c, minLag)
	// An echo before minLag needs an older microphone window. All lags
	// are searched on it, so that an echo that merely repeats (beeps)
	// matches at its true lag there as well and is not clear; and a near
	// lag that matched by chance (speech is not white) does not hide a
	// far one.
	if all := e.search(farLag, maxLag); all != nil {
		if lag, c, clr := peak(all, farLag); c > bestC {
			best, bestC, clear = lag, c, clr
		}
	}
	if bestC < 0.4 || !clear || (best >= okFrom && best <= okTo) {
		e.hasPending = false
		return 0, false
	}
	// An echo before its reference cannot be cancelled at all: that moves
	// at once.
	if e.placed && best >= 0 && !(e.hasPending && abs(best-e.pending) <= agree) {
		e.pending, e.hasPending = best, true
		return 0, false
	}
	e.placed, e.hasPending = true, false
	return int64(best) * decimate, true
}

// search returns the normalised correlation of the microphone with the
// reference at each lag lo..hi (decimated samples, lo < 0; index lag-lo),
// or nil when nothing was played or nothing heard.
func (e *delayEstimator) search(lo, hi int) []float64 {
	// The microphone window ends -lo before the newest sample, so that
	// reference after it is there for negative lags.
	mic := e.mic[len(e.mic)-window+lo : len(e.mic)+lo]
	ref := e.ref[len(e.ref)-(window+hi-lo):]
	var micE float64
	for _, v := range mic {
		micE += float64(v) * float64(v)
	}
	var refE float64
	// ref[hi:hi+window] is what lag 0 pairs with mic.
	for _, v := range ref[:hi+window] {
		refE += float64(v) * float64(v)
	}
	if refE < float64(window)*200*200 || micE < float64(window)*50*50 {
		return nil
	}
	// dots[k] pairs mic with ref[k:k+window], which is lag hi-k.
	e.dots = e.xcorr.correlate(mic, ref, e.dots)
	e.curve = slices.Grow(e.curve[:0], len(e.dots))[:len(e.dots)]
	segE := 0.0
	for _, v := range ref[:window] {
		segE += float64(v) * float64(v)
	}
	for k, dot := range e.dots {
		if k > 0 {
			// A running sum: ref[k+window-1] comes in, ref[k-1] leaves.
			in, out := float64(ref[k+window-1]), float64(ref[k-1])
			segE += in*in - out*out
		}
		nc := 0.0
		if segE > 0 {
			nc = dot / math.Sqrt(micE*segE)
		}
		e.curve[hi-lo-k] = nc
	}
	return e.curve
}

// peak finds the best-matching lag in c (index lag-lo) and says whether it
// is clear: no lag farther than distinct from it matches nearly as well.
// A far end that repeats itself (beeps, a ringtone) matches at every
// period, and its echo cannot be placed by correlation.
func peak(c []float64, lo int) (lag int, best float64, clear bool) {
	at := 0
	for i, v := range c {
		if v > best {
			at, best = i, v
		}
	}
	var second float64
	for i, v := range c {
		if abs(i-at) > distinct && v > second {
			second = v
		}
	}
	return at + lo, best, second < nearlyAsWell*best
}
