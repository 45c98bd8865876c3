package opus

import (
	"math"
	"testing"
)

func tone(freq float64, n, offset int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(offset+i)/SampleRate))
	}
	return pcm
}

func rms(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(pcm)))
}

// A tone survives encoding and decoding at about its level, and a lost
// packet is concealed (or rebuilt from FEC) instead of going silent.
func TestRoundTripAndLoss(t *testing.T) {
	enc, err := NewEncoder(32000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var packets [][]byte
	for i := 0; i < 50; i++ {
		p, err := enc.Encode(tone(440, FrameSamples, i*FrameSamples))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := PacketSamples(p); err != nil || n != FrameSamples {
			t.Fatalf("packet of %d samples (%v), want %d", n, err, FrameSamples)
		}
		packets = append(packets, append([]byte(nil), p...))
	}
	pcm := make([]int16, MaxFrameSamples)
	var out []int16
	for i, p := range packets {
		var n int
		switch {
		case i == 30: // lost: rebuilt from the FEC in packet 31
			n, err = dec.DecodeFEC(packets[31], pcm[:FrameSamples])
		case i == 40: // lost: concealed
			n, err = dec.Conceal(pcm[:FrameSamples])
		default:
			n, err = dec.Decode(p, pcm)
		}
		if err != nil || n != FrameSamples {
			t.Fatalf("frame %d: %d samples, %v", i, n, err)
		}
		out = append(out, pcm[:n]...)
	}
	want := rms(tone(440, FrameSamples, 0))
	for _, frame := range []int{10, 30} {
		got := rms(out[frame*FrameSamples : (frame+1)*FrameSamples])
		if got < want*0.5 || got > want*1.5 {
			t.Errorf("frame %d RMS %.0f, want about %.0f", frame, got, want)
		}
	}
	// Concealment fades out, but does not drop to silence at once.
	if got := rms(out[40*FrameSamples : 41*FrameSamples]); got < want*0.2 {
		t.Errorf("concealed frame RMS %.0f, want ≥ 20%% of %.0f", got, want)
	}
}

func TestBadPacket(t *testing.T) {
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	if _, err := dec.Decode([]byte{0xff, 0xff, 0xff}, make([]int16, MaxFrameSamples)); err == nil {
		t.Error("garbage decoded without error")
	}
	if _, err := PacketSamples(nil); err == nil {
		t.Error("empty packet has a duration")
	}
}
