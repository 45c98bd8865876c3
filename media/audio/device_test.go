package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"parley/media/audio/pulsetest"
	"parley/media/opus"
)

// pcmSource plays samples once, then silence. With stall set, the pull
// at sample stallAt takes that long, as a mix held up by the machine.
type pcmSource struct {
	mu      sync.Mutex
	samples []int16
	pos     int
	stallAt int
	stall   time.Duration
}

func (p *pcmSource) Pull(out []int16) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stall > 0 && p.pos >= p.stallAt {
		time.Sleep(p.stall)
		p.stall = 0
	}
	n := copy(out, p.samples[min(p.pos, len(p.samples)):])
	clear(out[n:])
	p.pos += len(out)
	return n > 0
}

// TestPlaybackOnSpeaker plays a tone through a Stream to a virtual
// speaker of a real PulseAudio and checks what came out.
func TestPlaybackOnSpeaker(t *testing.T) {
	pa := pulsetest.Start(t)
	spk := pa.Speaker(t, "spk")
	pa.Mic(t, "mic")
	pa.Use(t)
	ctx, err := NewContext(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	mics, speakers, err := ctx.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if !hasDevice(speakers, "spk") || !hasDevice(mics, "mic") || !hasDevice(mics, "spk.monitor") {
		t.Fatalf("devices: mics %+v speakers %+v", mics, speakers)
	}
	for _, d := range mics {
		if d.Monitor != (d.ID == "spk.monitor") {
			t.Errorf("%s listed with monitor %v", d.ID, d.Monitor)
		}
	}
	mixer := NewMixer()
	mixer.Add("tone", &pcmSource{samples: pulsetest.Tone(440, 3, 0.3)})
	from := pa.Now()
	s, err := ctx.Open(StreamConfig{Speaker: "spk"}, mixer, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if got := mixer.Playing(time.Now(), time.Second); len(got) != 1 || got[0] != "tone" {
		t.Errorf("playing %v, want [tone]", got)
	}
	s.Close()
	got, _ := spk.Recording(from)
	on := pulsetest.Onset(got, 1000)
	// The tone is judged from 250 ms after it began: here it starts with
	// the stream, where a meeting opens the speaker long before anyone
	// speaks, so that a glitch of the stream's start falls in silence.
	// (CI once measured 442.5 Hz from the onset, on a slow host.)
	start := on + Rate/4
	if on < 0 || len(got) < start+Rate/2 {
		t.Fatalf("the tone did not come out (%d samples recorded, onset %d)", len(got), on)
	}
	steady := got[start : start+Rate/2]
	if f := pulsetest.DominantFrequency(steady, 100, 2000); math.Abs(f-440) > 2 {
		t.Errorf("speaker played %.1f Hz, want 440 (%d dropouts of 5 ms in the half second measured)", f, dropouts(steady, 1000))
	}
	if _, err := ctx.Open(StreamConfig{Speaker: "unplugged"}, mixer, nil); !errors.Is(err, ErrNoDevice) {
		t.Errorf("opening a speaker that does not exist: %v, want ErrNoDevice", err)
	}
}

// dropouts counts the 5 ms windows of samples whose RMS is under
// threshold: gaps in what should be a steady tone.
func dropouts(samples []int16, threshold float64) int {
	w := Rate / 200
	n := 0
	for i := 0; i+w <= len(samples); i += w {
		if pulsetest.RMS(samples[i:i+w]) < threshold {
			n++
		}
	}
	return n
}

func hasDevice(list []Device, id string) bool {
	for _, d := range list {
		if d.ID == id {
			return true
		}
	}
	return false
}

// speech is real speech for the far end.
func speech(t *testing.T, seconds float64) []int16 {
	return pulsetest.Speech(t, "The quick brown fox jumps over the lazy dog. Parley cancels the echo of what the speakers play, "+
		"so that the people you talk to do not hear themselves a moment later.", seconds)
}

// packetSink collects what the Sender sends.
type packetSink struct {
	mu   sync.Mutex
	pkts [][]byte
}

func (p *packetSink) WriteSample(s media.Sample) error {
	p.mu.Lock()
	p.pkts = append(p.pkts, append([]byte(nil), s.Data...))
	p.mu.Unlock()
	return nil
}

func (p *packetSink) decode(t *testing.T) []int16 {
	t.Helper()
	dec, err := opus.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int16
	buf := make([]int16, opus.MaxFrameSamples)
	for _, pkt := range p.pkts {
		n, err := dec.Decode(pkt, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	return out
}

// TestEchoCancelledOnRealDevices: far-end speech plays on a virtual
// speaker from 1 s on (nobody talks the instant the call connects); the
// virtual microphone hears it 60 ms later at full level (the room), plus
// near-end beeps from 7 s on. What the Sender sends has the echo
// attenuated by ≥ 20 dB (ERLE) after 2 s of speech, and the beeps get
// through — also when the mix stalls for 150 ms mid-speech (a busy
// machine): the speaker's pump then plays silence it accounts for,
// where an underrun would move the echo away from its reference.
//
// Under the race detector the ERLE is logged, not judged: the race
// detector holds up the test's own device clock (pulsetest) by 25–85 ms
// several times a second, and the virtual speaker then underruns as no
// sound card does. make test runs this package both ways.
func TestEchoCancelledOnRealDevices(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stall time.Duration
	}{
		{"steady", 0},
		{"the mix stalls 150 ms", 150 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) { testEchoCancelled(t, tc.stall) })
	}
}

// heldUp is how long the test's own virtual sound card may go unserved
// while the stream runs and still measure the canceller: longer, the
// machine held up the card's clock, which a real card's clock never is.
const heldUp = 150 * time.Millisecond

// echoAttempts bounds the measurements of one case: a run the machine
// disturbed is measured again, and the last one is judged whatever
// happened in it.
const echoAttempts = 3

func testEchoCancelled(t *testing.T, stall time.Duration) {
	for attempt := 1; ; attempt++ {
		// Each attempt in its own subtest, so its sound server is gone
		// before the next starts.
		var m echoMeasure
		if !t.Run(fmt.Sprintf("attempt %d", attempt), func(t *testing.T) { m = measureEcho(t, stall) }) {
			return
		}
		why := m.disturbed()
		if why == "" || attempt == echoAttempts || raceDetector {
			m.judge(t)
			return
		}
		t.Logf("attempt %d of %d not judged (ERLE %.1f dB): %s; measuring again", attempt, echoAttempts, m.erle, why)
	}
}

// echoMeasure is what one run of the echo test measured.
type echoMeasure struct {
	erle float64 // echo attenuation over the echo-only window, dB
	kept float64 // the near-end beeps' 1 kHz power, sent against heard, dB
	gap  time.Duration
	// moves counts the times the stream moved its echo reference after
	// its first alignment: with the room's echo fixed at 60 ms, the
	// machine held up a stream until the echo moved against its
	// reference (CI once: realigned by 20 ms 1.5 s after the first
	// alignment, and the canceller relearnt through the judged window).
	moves int
}

// disturbed says why the run measured the machine rather than the
// canceller, or "".
func (m echoMeasure) disturbed() string {
	switch {
	case m.gap > heldUp:
		return fmt.Sprintf("the virtual sound card went unserved for %s", m.gap.Round(time.Millisecond))
	case m.moves > 0:
		return fmt.Sprintf("the echo moved against its reference %d times after the first alignment", m.moves)
	}
	return ""
}

// moveCounter passes log records on and counts the stream's moves of
// its echo reference after the first alignment.
type moveCounter struct {
	slog.Handler
	mu      sync.Mutex
	aligned bool
	moves   int
}

// Enabled takes every record: a slip followed soon after another is
// logged at Debug (farRing.logSlip), and is a move all the same.
func (c *moveCounter) Enabled(context.Context, slog.Level) bool { return true }

func (c *moveCounter) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "echo reference ") {
		c.mu.Lock()
		if c.aligned {
			c.moves++
		}
		c.aligned = c.aligned || r.Message == "echo reference realigned"
		c.mu.Unlock()
	}
	if !c.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return c.Handler.Handle(ctx, r)
}

func (c *moveCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.moves
}

func (m echoMeasure) judge(t *testing.T) {
	t.Helper()
	if m.erle < 20 && !raceDetector {
		t.Errorf("echo attenuated by %.1f dB, want ≥ 20", m.erle)
	}
	if m.kept < -10 {
		t.Errorf("near-end speech attenuated by %.1f dB, want ≥ -10", -m.kept)
	}
}

func measureEcho(t *testing.T, stall time.Duration) echoMeasure {
	far := append(make([]int16, Rate), speech(t, 9)...) // 1 s of silence, then speech
	pa := pulsetest.Start(t)
	spk := pa.Speaker(t, "spk")
	room := pa.Mic(t, "room")
	pa.Use(t)
	start := pa.Now()
	beeps := pulsetest.Beeps(1000, 2.5, 0.2, 0.3)
	nearAt := start + 7*Rate
	const echoDelay = 60 * Rate / 1000
	room.SetSignal(func(pos int64) int16 {
		v := int32(spk.At(pos - echoDelay))
		if i := pos - nearAt; i >= 0 && i < int64(len(beeps)) {
			v += int32(beeps[i])
		}
		return int16(min(max(v, -32768), 32767))
	})
	moves := &moveCounter{Handler: slog.NewTextHandler(os.Stderr, nil)}
	ctx, err := NewContext(slog.New(moves))
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()

	sink := &packetSink{}
	sender, err := NewSender(sink, func() bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	var rawMu sync.Mutex
	var raw []int16 // what the microphone heard, frame for frame with what was sent
	var refs []int16
	capture := func(mic, farFrame []int16) {
		rawMu.Lock()
		raw = append(raw, mic...)
		refs = append(refs, farFrame...)
		rawMu.Unlock()
		sender.Capture(mic, farFrame)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sender.Run(runCtx) }()

	mixer := NewMixer()
	// The stall comes 4 s in: 1 s of silence and 3 s of speech, once the
	// canceller has converged.
	mixer.Add("far", &pcmSource{samples: far, stallAt: 4 * Rate, stall: stall})
	s, err := ctx.Open(StreamConfig{Speaker: "spk", Mic: "room", Capture: true}, mixer, capture)
	if err != nil {
		t.Fatal(err)
	}
	if s.MicName() != "room" {
		t.Errorf("mic %q", s.MicName())
	}
	time.Sleep(10 * time.Second)
	end := pa.Now()
	s.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sent := sink.decode(t)
	rawMu.Lock()
	mic := raw
	rawMu.Unlock()
	n := min(len(mic), len(sent))
	if n < 9*Rate {
		t.Fatalf("only %.1f s captured in 10 s", float64(n)/Rate)
	}
	// Echo alone: from 2 s into the speech (convergence) to 6.5 s.
	a, b := 3*Rate, 13*Rate/2
	eMic, eSent := energy(mic[a:b]), energy(sent[a:b])
	if eMic < float64(b-a)*100*100 {
		t.Fatalf("the microphone heard almost nothing (RMS %.0f): no echo path", math.Sqrt(eMic/float64(b-a)))
	}
	t.Logf("echo delay behind the reference: %s", lagReport(refs[a:b], mic[a:b]))
	var course []string
	for i := 0; i+Rate/2 <= 7*Rate && i+Rate/2 <= n; i += Rate / 2 {
		course = append(course, fmt.Sprintf("%.0f", 10*math.Log10(energy(mic[i:i+Rate/2])/math.Max(energy(sent[i:i+Rate/2]), 1))))
	}
	t.Logf("ERLE per 500 ms: %v", course)
	// A failure with a long gap here is the test's sound card stalling
	// (the machine held up), not the canceller.
	held := pa.LongestGap(start, end)
	t.Logf("the virtual sound card went unserved for %s at most while the stream ran; %d echo samples were asked for before the speaker had played them",
		held.Round(time.Millisecond), spk.Misses())
	erle := 10 * math.Log10(eMic/math.Max(eSent, 1))
	t.Logf("ERLE %.1f dB (mic RMS %.0f, sent RMS %.0f)", erle, math.Sqrt(eMic/float64(b-a)), math.Sqrt(eSent/float64(b-a)))
	// The near-end beeps pass: the 1 kHz power in what was sent while they
	// play is within 10 dB of what the microphone heard.
	c := pulsetest.Onset(mic[13*Rate/2:], 3000)
	if c < 0 {
		t.Fatal("near-end beeps not heard by the microphone")
	}
	c += 13*Rate/2 + Rate/2
	d := min(c+Rate, n)
	kept := 10 * math.Log10(pulsetest.Power(sent[c:d], 1000)/pulsetest.Power(mic[c:d], 1000))
	t.Logf("near-end 1 kHz beeps kept at %.1f dB", kept)
	return echoMeasure{erle: erle, kept: kept, gap: held, moves: moves.count()}
}

func energy(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

// lagReport finds by cross-correlation how far the microphone lags the
// reference given to the echo canceller (it must be ≥ 0 and within the
// canceller's tail).
func lagReport(ref, mic []int16) string {
	best, bestC := 0, -1.0
	for lag := -Rate / 10; lag <= Rate/3; lag += 12 {
		var c float64
		for i := Rate / 10; i+lag < len(mic) && i < len(ref)-Rate/3; i += 3 {
			if i+lag >= 0 {
				c += float64(ref[i]) * float64(mic[i+lag])
			}
		}
		if c > bestC {
			best, bestC = lag, c
		}
	}
	return fmt.Sprintf("%.1f ms", float64(best)*1000/Rate)
}

// TestWatchDevices: plugging and unplugging a microphone in a real
// PulseAudio is heard at once, and stopping the watch ends its calls.
func TestWatchDevices(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Speaker(t, "spk")
	pa.Use(t)
	ctx, err := NewContext(nil)
	if err != nil {
		t.Fatal(err)
	}
	changes := make(chan struct{}, 16)
	stop, err := ctx.WatchDevices(func() { changes <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what string) {
		t.Helper()
		select {
		case <-changes:
		case <-time.After(3 * time.Second):
			t.Fatalf("no change reported within 3 s of %s", what)
		}
		// One plug may be several server events: let them all arrive.
		time.Sleep(300 * time.Millisecond)
		for len(changes) > 0 {
			<-changes
		}
	}
	mic := pa.Mic(t, "plugged")
	expect("plugging a microphone")
	mic.Unplug(t)
	expect("unplugging it")

	stop()
	pa.Mic(t, "after")
	select {
	case <-changes:
		t.Error("a change was reported after the watch stopped")
	case <-time.After(500 * time.Millisecond):
	}
}

// TestCloseWithStalledMicrophone: a microphone that stops delivering (the
// sound server left a recording without data while it moved it off an
// unplugged device) leaves a blocking read that never returns; Close must
// still return, leaving that read to end by itself.
func TestCloseWithStalledMicrophone(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Speaker(t, "spk")
	mic := pa.Mic(t, "mic")
	pa.Use(t)
	ctx, err := NewContext(nil)
	if err != nil {
		t.Fatal(err)
	}
	var frames atomic.Int64
	s, err := ctx.Open(StreamConfig{Speaker: "spk", Mic: "mic", Capture: true}, NewMixer(),
		func(mic, far []int16) { frames.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	waitFrames := func(min int64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); frames.Load() < min; {
			if time.Now().After(deadline) {
				t.Fatalf("%d microphone frames, want %d", frames.Load(), min)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFrames(20)
	mic.Stall(t)
	// The stall shows as frames that stop coming (the source's buffer
	// drains first).
	for last := int64(-1); last != frames.Load(); {
		last = frames.Load()
		time.Sleep(500 * time.Millisecond)
	}
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with the microphone stalled", d.Round(time.Millisecond))
	}
}
