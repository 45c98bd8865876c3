package audio

import "math"

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
}

const (
	decimate = 12                   // 48 kHz → 4 kHz
	decRate  = Rate / decimate      // 4000
	window   = decRate * 2 / 5      // 400 ms compared
	minLag   = -decRate / 10        // -100 ms: an echo before its reference
	maxLag   = decRate * 500 / 1000 // 500 ms
	// farLag is how early an echo can come when microphone frames went
	// missing (or the speaker skipped) and farRing has not taken the
	// step for a slip yet: searched only when nothing matched from
	// minLag on, since it needs an older microphone window.
	farLag      = -decRate / 2 // -500 ms
	nearHistory = window + maxLag - minLag
	history     = window + maxLag - farLag
	every       = 25 // frames between estimates (250 ms)
	// An echo 20…70 ms after the reference is left alone: the canceller
	// models it well, and moving the reference means learning anew.
	okFrom = decRate * 20 / 1000
	okTo   = decRate * 70 / 1000
	// agree is how close two estimates in a row must be to move a
	// placed reference (2 ms).
	agree = decRate * 2 / 1000
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
	if e.frames < every || len(e.mic) < nearHistory {
		return 0, false
	}
	e.frames = 0
	best, bestC, heard := e.search(minLag, maxLag)
	if !heard {
		return 0, false
	}
	if bestC < 0.4 && len(e.mic) >= history {
		if far, farC, _ := e.search(farLag, minLag-1); farC > bestC {
			best, bestC = far, farC
		}
	}
	if bestC < 0.4 || (best >= okFrom && best <= okTo) {
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

// search finds the lag in lo..hi (decimated samples, lo < 0) at which the
// microphone best matches the reference, and its normalised correlation;
// heard is false when nothing was played or nothing heard.
func (e *delayEstimator) search(lo, hi int) (best int, bestC float64, heard bool) {
	// The microphone window ends -lo before the newest sample, so that
	// reference after it is there for negative lags.
	mic := e.mic[len(e.mic)-window+lo : len(e.mic)+lo]
	ref := e.ref[len(e.ref)-(window+hi-lo):]
	// ref index of mic[0] at lag 0.
	base := hi
	var micE float64
	for _, v := range mic {
		micE += float64(v) * float64(v)
	}
	var refE float64
	for _, v := range ref[:base+window] {
		refE += float64(v) * float64(v)
	}
	// Nothing played, or nothing heard: nothing to learn.
	if refE < float64(window)*200*200 || micE < float64(window)*50*50 {
		return 0, 0, false
	}
	// Energy of every reference segment, from running sums.
	sq := make([]float64, len(ref)+1)
	for i, v := range ref {
		sq[i+1] = sq[i] + float64(v)*float64(v)
	}
	for lag := lo; lag <= hi; lag++ {
		from := base - lag
		seg := ref[from : from+window]
		segE := sq[from+window] - sq[from]
		if segE <= 0 {
			continue
		}
		var c float32
		for i, v := range mic {
			c += v * seg[i]
		}
		if nc := float64(c) / math.Sqrt(micE*segE); nc > bestC {
			best, bestC = lag, nc
		}
	}
	return best, bestC, true
}
