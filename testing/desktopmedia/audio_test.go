package desktopmedia

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/media/audio/pulsetest"
	"parley/testing/meetingtest"
)

const rate = pulsetest.Rate

// TestAudioBetweenTwoWindows runs two app windows with real audio devices
// of a private PulseAudio (virtual microphones and speakers):
//
//  1. 440 Hz beeps into Alice's microphone come out of Bob's speaker at
//     440 ± 5 Hz; the delay from one to the other (mouth to ear) is
//     measured.
//  2. Echo: Bob talks (espeak-ng); Alice's speaker is heard by her
//     microphone 60 ms later at full level. What Alice sends (heard at Bob's
//     speaker) has that echo attenuated by ≥ 20 dB after 2 s, while her own
//     voice (beeps) still gets through.
func TestAudioBetweenTwoWindows(t *testing.T) {
	bin := meetingtest.NeedApp(t, "Xvfb")
	speech := speechSamples(t, 10)
	pa := pulsetest.Start(t)
	micA, spkA := pa.Mic(t, "micA"), pa.Speaker(t, "spkA")
	micB, spkB := pa.Mic(t, "micB"), pa.Speaker(t, "spkB")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	dispA, dispB := startDisplay(t, "1024x640"), startDisplay(t, "1024x640")
	common := []string{"--source", "devices", "--ice-iface", "lo"}
	host := startApp(t, ctx, bin, dispA, "Alice", pa.Env(),
		append([]string{"--host", "--host-addr", "127.0.0.1:0", "--mic", "micA", "--speaker", "spkA"}, common...)...)
	invite := host.invite(t, 60*time.Second)
	guest := startApp(t, ctx, bin, dispB, "Bob", pa.Env(),
		append([]string{"--join", invite, "--mic", "micB", "--speaker", "spkB"}, common...)...)
	// Joining, publishing and the first keyframe-free seconds.
	waitOrExit(t, 10*time.Second, host, guest)

	// 1. Alice → Bob: 440 Hz beeps (a steady tone would be taken for noise
	// by the noise suppressor, as a fan should be).
	t0 := pa.Now()
	micA.SetSignal(pulsetest.PlayAt(pulsetest.Beeps(440, 3, 0.25, 0.3), t0))
	waitOrExit(t, 4*time.Second, host, guest)
	heard, pos := spkB.Recording(t0)
	on := pulsetest.Onset(heard, 1000)
	if on < 0 || on+rate/5 > len(heard) {
		t.Fatalf("Alice's beeps never came out of Bob's speaker (%d samples recorded)", len(heard))
	}
	f := pulsetest.DominantFrequency(heard[on:on+rate/5], 100, 2000)
	latency := float64(pos+int64(on)-t0-spkB.PipeDelay()) * 1000 / rate
	t.Logf("Bob's speaker played %.1f Hz; mouth to ear %.0f ms", f, latency)
	if math.Abs(f-440) > 5 {
		t.Errorf("Bob's speaker played %.1f Hz, want 440 ± 5", f)
	}
	// The 150 ms target is a benchmark figure (testing/bench/RESULTS.md),
	// which a machine busy with other work may miss; beyond 400 ms audio
	// is piling up in a buffer, a bug whatever the load.
	if latency > 400 {
		t.Errorf("mouth-to-ear latency %.0f ms: audio is piling up (target ≤ 150 on loopback)", latency)
	} else if latency > 150 {
		t.Logf("mouth-to-ear latency %.0f ms misses the 150 ms target (a loaded machine?)", latency)
	}

	// 2. Echo at Alice: Bob talks; Alice's room returns her speaker to her
	// microphone; Alice speaks (1 kHz beeps) from 6 s on.
	const echoDelay = 60 * rate / 1000
	t1 := pa.Now() + rate/10
	nearAt := t1 + 6*rate
	beeps := pulsetest.Beeps(1000, 3, 0.2, 0.3)
	micB.SetSignal(pulsetest.PlayAt(speech, t1))
	micA.SetSignal(func(p int64) int16 {
		v := int32(spkA.At(p - echoDelay))
		if i := p - nearAt; i >= 0 && i < int64(len(beeps)) {
			v += int32(beeps[i])
		}
		return int16(min(max(v, -32768), 32767))
	})
	waitOrExit(t, 10*time.Second, host, guest)

	// Alice's microphone heard the echo (her speaker, 60 ms later); Bob's
	// speaker got what Alice sent, one mouth-to-ear delay later.
	delay := int64(latency * rate / 1000)
	echoFrom, echoTo := t1+2*rate, t1+11*rate/2 // after 2 s of convergence, before the beeps
	echo, _ := spkA.Recording(echoFrom - echoDelay)
	sent, _ := spkB.Recording(echoFrom + delay)
	n := int(echoTo - echoFrom)
	if len(echo) < n || len(sent) < n {
		t.Fatalf("recordings too short: %d and %d samples, want %d", len(echo), len(sent), n)
	}
	if m := spkA.Misses(); m > rate/100 {
		t.Logf("warning: the simulated room missed %d samples of Alice's speaker", m)
	}
	eEcho, eSent := energy(echo[:n]), energy(sent[:n])
	if eEcho < float64(n)*300*300 {
		t.Fatalf("Alice's speaker hardly played Bob's speech (RMS %.0f)", math.Sqrt(eEcho/float64(n)))
	}
	erle := 10 * math.Log10(eEcho/math.Max(eSent, 1))
	t.Logf("echo at Alice's microphone RMS %.0f, what Bob heard of it RMS %.0f: ERLE %.1f dB",
		math.Sqrt(eEcho/float64(n)), math.Sqrt(eSent/float64(n)), erle)
	var course []string
	for i := 0; i+rate/2 <= n; i += rate / 2 {
		course = append(course, fmt.Sprintf("%.0f", 10*math.Log10(energy(echo[i:i+rate/2])/math.Max(energy(sent[i:i+rate/2]), 1))))
	}
	t.Logf("ERLE per 500 ms: %v", course)
	if erle < 20 {
		t.Errorf("Alice's echo reached Bob attenuated by only %.1f dB, want ≥ 20; Alice's echo canceller said:\n%s",
			erle, grepFile(t, host.log, "echo reference"))
	}
	near, _ := spkB.Recording(nearAt + delay + rate/2)
	if len(near) < rate {
		t.Fatalf("no recording of Alice's voice at Bob (%d samples)", len(near))
	}
	kept := 10 * math.Log10(pulsetest.Power(near[:rate], 1000)/pulsetest.Power(beeps[rate/2:3*rate/2], 1000))
	t.Logf("Alice's voice (1 kHz beeps) reached Bob at %.1f dB while Bob talked", kept)
	if kept < -10 {
		t.Errorf("Alice's own voice reached Bob at %.1f dB, want ≥ -10 dB", kept)
	}

	stopAll(t, guest, host)
	writeBench(t, map[string]any{"mouth_to_ear_ms": math.Round(latency), "erle_db": math.Round(erle*10) / 10,
		"near_end_kept_db": math.Round(kept*10) / 10})
}

// waitOrExit waits d, failing if an app exits meanwhile.
func waitOrExit(t *testing.T, d time.Duration, apps ...*appProc) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		for _, p := range apps {
			select {
			case err := <-p.exited:
				p.exited <- err
				t.Fatalf("%s exited: %v (see %s)", p.name, err, p.log)
			default:
			}
		}
		select {
		case <-timer.C:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// speechSamples is real speech for the far end.
func speechSamples(t *testing.T, seconds float64) []int16 {
	return pulsetest.Speech(t, "Good morning everyone. Can you all hear me? I will share the plan for the next release, "+
		"and then we can go through the open questions one by one.", seconds)
}

func energy(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

// writeBench records measured figures in the artifacts for
// testing/bench/RESULTS.md.
func writeBench(t *testing.T, figures map[string]any) {
	t.Helper()
	data, _ := json.MarshalIndent(figures, "", "  ")
	path := filepath.Join(meetingtest.ArtifactDir(t), "desktopmedia-"+strings.ReplaceAll(t.Name(), "/", "-")+".json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("figures: %s", data)
}

// grepFile returns the lines of a file that contain sub.
func grepFile(t *testing.T, path, sub string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, sub) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
