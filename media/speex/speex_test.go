package speex

import (
	"math"
	"math/rand/v2"
	"testing"
)

// speechLike is noise shaped like speech: syllable-rate bursts of low-pass
// noise, the hard case for an echo canceller (broadband, non-stationary).
func speechLike(n, rate int, rng *rand.Rand) []float64 {
	out := make([]float64, n)
	var lp float64
	for i := range out {
		lp += 0.25 * (rng.NormFloat64() - lp)
		env := 0.5 + 0.5*math.Sin(2*math.Pi*4*float64(i)/float64(rate))
		out[i] = 6000 * lp * env
	}
	return out
}

func energy(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

// toneEnergy is the energy at freq (Goertzel), for checking that the near
// end survives.
func toneEnergy(x []int16, freq float64, rate int) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + k*s1 - s2
		s2, s1 = s1, s
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

// nearEnd is the local talker: 1 kHz beeps, 200 ms on and 200 ms off from
// start. (A steady tone would be learnt as noise and suppressed, as it
// should be: a fan is steady, a voice is not.)
func nearEnd(i, start, rate int) float64 {
	if i < start || (i-start)/(rate/5)%2 == 1 {
		return 0
	}
	return 3000 * math.Sin(2*math.Pi*1000*float64(i)/float64(rate))
}

// The canceller, given the far end and a microphone that hears it 60 ms
// later at half level, removes ≥ 20 dB of it after 2 s, and a near-end
// tone that starts later still passes.
func TestEchoCancellation(t *testing.T) {
	opts := DefaultOptions()
	p, err := NewProcessor(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rate, frame := opts.SampleRate, opts.FrameSize
	rng := rand.New(rand.NewPCG(7, 8))
	total := 8 * rate
	far := speechLike(total, rate, rng)
	delay := 60 * rate / 1000
	mic := make([]int16, total)
	farPCM := make([]int16, total)
	nearStart := 6 * rate
	for i := range mic {
		farPCM[i] = int16(far[i])
		var echo float64
		if i >= delay {
			echo = 0.5 * far[i-delay]
		}
		near := nearEnd(i, nearStart, rate)
		mic[i] = int16(echo + near + 30*rng.NormFloat64())
	}
	out := make([]int16, 0, total)
	for i := 0; i+frame <= total; i += frame {
		clean, err := p.Process(mic[i:i+frame], farPCM[i:i+frame])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, clean...)
	}
	// Echo alone from 2 s to 6 s.
	a, b := 2*rate, nearStart
	erle := 10 * math.Log10(energy(mic[a:b])/math.Max(energy(out[a:b]), 1))
	t.Logf("ERLE %.1f dB", erle)
	if erle < 20 {
		t.Errorf("echo return loss enhancement %.1f dB, want ≥ 20", erle)
	}
	// The near-end beeps (from 6.5 s, past the onset) keep most of their
	// level while the far end still talks (double talk).
	c, d := nearStart+rate/2, total
	near := make([]int16, d-c)
	for i := range near {
		near[i] = int16(nearEnd(c+i, nearStart, rate))
	}
	kept := 10 * math.Log10(toneEnergy(out[c:d], 1000, rate)/toneEnergy(near, 1000, rate))
	t.Logf("near-end tone kept at %.1f dB", kept)
	if kept < -10 {
		t.Errorf("near-end tone attenuated by %.1f dB during double talk, want ≥ -10 dB", kept)
	}
}

func TestFrameSizeChecked(t *testing.T) {
	p, err := NewProcessor(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Process(make([]int16, 10), nil); err == nil {
		t.Error("short frame accepted")
	}
	if _, err := NewProcessor(Options{}); err == nil {
		t.Error("zero options accepted")
	}
}
