package pulsetest

import (
	"math"
	"testing"
	"time"
)

// What a Mic hears comes out of a Speaker connected to it by PulseAudio
// (module-loopback), at the same frequency, in real time.
func TestMicToSpeaker(t *testing.T) {
	s := Start(t)
	spk := s.Speaker(t, "spk")
	mic := s.Mic(t, "mic")
	if err := s.pactl("load-module", "module-loopback", "source=mic", "sink=spk", "latency_msec=30"); err != nil {
		t.Fatal(err)
	}
	at := s.Now() + Rate/2
	mic.SetSignal(PlayAt(Tone(440, 2, 0.3), at))
	time.Sleep(3 * time.Second)
	rec, pos := spk.Recording(at)
	if len(rec) < 2*Rate {
		t.Fatalf("recorded %.2f s in 2.5 s (the speaker is not clocked in real time)", float64(len(rec))/Rate)
	}
	on := Onset(rec, 1000)
	if on < 0 {
		t.Fatal("the tone never came out")
	}
	t.Logf("mic to speaker through PulseAudio: %.1f ms (%.1f ms of it in the speaker's pipe)",
		float64(pos+int64(on)-at)*1000/Rate, float64(spk.PipeDelay())*1000/Rate)
	if f := DominantFrequency(rec[on+Rate/4:on+Rate], 100, 2000); math.Abs(f-440) > 2 {
		t.Errorf("speaker played %.1f Hz, want 440", f)
	}
}
