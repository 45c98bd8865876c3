package pulsetest

import (
	"bytes"
	"encoding/binary"
	"math"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tone is a sine of freq Hz, seconds long, at amplitude amp (of 32767).
func Tone(freq, seconds, amp float64) []int16 {
	n := int(seconds * Rate)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/Rate))
	}
	return out
}

// Beeps is freq Hz switched on and off every period seconds, like speech
// is: a noise suppressor learns a steady tone as noise and removes it.
func Beeps(freq, seconds, period, amp float64) []int16 {
	out := Tone(freq, seconds, amp)
	half := int(period * Rate)
	for i := range out {
		if (i/half)%2 == 1 {
			out[i] = 0
		}
	}
	return out
}

// RMS is the root mean square of samples (0..32768).
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var s float64
	for _, v := range samples {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(samples)))
}

// Power is the power of samples at freq Hz (Goertzel), normalised by
// length.
func Power(samples []int16, freq float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	k := 2 * math.Cos(2*math.Pi*freq/Rate)
	var s1, s2 float64
	for _, v := range samples {
		s := float64(v) + k*s1 - s2
		s2, s1 = s1, s
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / float64(len(samples)) / float64(len(samples))
}

// DominantFrequency is the strongest frequency between lo and hi Hz, to
// about 0.5 Hz: a 5 Hz scan, then a fine one around its peak.
func DominantFrequency(samples []int16, lo, hi float64) float64 {
	best, bestP := lo, -1.0
	for f := lo; f <= hi; f += 5 {
		if p := Power(samples, f); p > bestP {
			best, bestP = f, p
		}
	}
	centre := best
	for f := centre - 5; f <= centre+5; f += 0.5 {
		if p := Power(samples, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

// Onset is the index of the first sample whose 5 ms window RMS exceeds
// threshold, or -1.
func Onset(samples []int16, threshold float64) int {
	w := Rate / 200
	for i := 0; i+w <= len(samples); i += w / 5 {
		if RMS(samples[i:i+w]) > threshold {
			return i
		}
	}
	return -1
}

// Speech is seconds of text spoken by espeak-ng, resampled to Rate by sox
// and repeated to fill: real speech, which an echo canceller must handle
// and a steady tone does not test.
func Speech(t testing.TB, text string, seconds float64) []int16 {
	t.Helper()
	NeedTools(t, "espeak-ng", "sox")
	wav := filepath.Join(t.TempDir(), "speech.wav")
	if out, err := exec.Command("espeak-ng", "-s", "160", "-w", wav, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	raw, err := exec.Command("sox", wav, "-r", "48000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", "-").Output()
	if err != nil {
		t.Fatalf("sox: %v", err)
	}
	one := make([]int16, len(raw)/2)
	_ = binary.Read(bytes.NewReader(raw), binary.LittleEndian, one)
	if len(one) == 0 {
		t.Fatal("espeak-ng spoke nothing")
	}
	var out []int16
	for len(out) < int(seconds*Rate) {
		out = append(out, one...)
	}
	return out[:int(seconds*Rate)]
}
