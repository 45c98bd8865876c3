package app

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"parley/backend/client"
	"parley/backend/signal"
	"parley/media/audio/pulsetest"
	"parley/media/opus"
	"parley/testing/meetingtest"
)

// TestHostAudio runs the desktop audio path in-process against a real
// PulseAudio: the app hosts with its microphone and speaker (virtual
// devices), a bot joins with the 440 Hz test tone. The bot's tone comes out
// of the app's speaker; 1 kHz beeps into the app's microphone reach the
// bot, through echo cancellation and Opus.
func TestHostAudio(t *testing.T) {
	pa := pulsetest.Start(t)
	spk := pa.Speaker(t, "spk")
	mic := pa.Mic(t, "mic")
	pa.Use(t)
	a, _, res := hostWithSound(t)
	defer a.Close()

	// The bot records the app's microphone track.
	bot, heard := listenToMic(t, res.Invite)
	media, err := meetingtest.EncodeMedia()
	if err != nil {
		t.Fatal(err)
	}
	pub := meetingtest.Publish(t, bot, media)
	defer pub.Stop()

	from := pa.Now()
	mic.SetSignal(pulsetest.PlayAt(pulsetest.Beeps(1000, 3, 0.2, 0.3), from))
	time.Sleep(4 * time.Second)

	// The bot's 440 Hz tone on the app's speaker.
	played, _ := spk.Recording(from + pulsetest.Rate)
	if len(played) < pulsetest.Rate {
		t.Fatalf("speaker recorded %d samples", len(played))
	}
	if f := pulsetest.DominantFrequency(played, 100, 2000); math.Abs(f-440) > 5 {
		t.Errorf("the app's speaker played %.1f Hz, want the bot's 440 Hz", f)
	}
	if r := a.report(); len(r.Audio.Playing) != 1 || r.Audio.Playing[0] != "Bob" || r.Audio.Mic != "mic" {
		t.Errorf("audio report %+v, want Bob playing and mic in use", r.Audio)
	}
	// The app's microphone at the bot.
	got := heard.since(0)
	if len(got) < pulsetest.Rate {
		t.Fatalf("the bot received %d samples of the app's microphone", len(got))
	}
	on := pulsetest.Onset(got, 2000)
	if on < 0 || on+pulsetest.Rate/2 > len(got) {
		t.Fatalf("the beeps never reached the bot (onset %d of %d samples)", on, len(got))
	}
	if f := pulsetest.DominantFrequency(got[on:on+pulsetest.Rate/2], 100, 2000); math.Abs(f-1000) > 5 {
		t.Errorf("the bot heard %.1f Hz from the app's microphone, want 1000", f)
	}
	// Muting the microphone stops it.
	if err := a.SetMuted("audio", true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	before := heard.len()
	time.Sleep(time.Second)
	after := heard.len()
	if after != before {
		t.Errorf("%d samples arrived in 1 s after muting, want none", after-before)
	}
}

// TestMicUnplug pulls the app's microphone out of a real PulseAudio
// mid-call: the app moves to the default microphone (the bot hears it,
// on the same track) with a toast; when the last microphone goes, the
// microphone turns off (never a speaker's monitor), and the meeting goes
// on.
func TestMicUnplug(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Speaker(t, "spk")
	mic := pa.Mic(t, "mic")
	mic2 := pa.Mic(t, "mic2")
	pa.SetDefaultMic(t, "mic2")
	pa.Use(t)
	a, rec, res := hostWithSound(t)
	defer a.Close()
	_, heard := listenToMic(t, res.Invite)
	time.Sleep(time.Second)

	unplugged := time.Now()
	mic.Unplug(t)
	toastMatching(rec, t, "Microphone disconnected — switched to mic2")
	// The sound server's device events tell at once; the fallback listing
	// (devicePoll) would take up to 10 s.
	if d := time.Since(unplugged); d > 5*time.Second {
		t.Errorf("the unplug was noticed after %v", d.Round(time.Millisecond))
	}
	from := heard.len()
	mic2.SetSignal(pulsetest.PlayAt(pulsetest.Beeps(1000, 3, 0.2, 0.3), pa.Now()))
	time.Sleep(3500 * time.Millisecond)
	got := heard.since(from)
	on := pulsetest.Onset(got, 2000)
	if on < 0 || on+pulsetest.Rate/2 > len(got) {
		t.Fatalf("mic2's beeps never reached the bot (onset %d of %d samples)", on, len(got))
	}
	if f := pulsetest.DominantFrequency(got[on:on+pulsetest.Rate/2], 100, 2000); math.Abs(f-1000) > 5 {
		t.Errorf("the bot heard %.1f Hz after the switch, want mic2's 1000", f)
	}

	mic2.Unplug(t)
	toastMatching(rec, t, "Microphone disconnected — microphone turned off")
	rec.waitFor(t, "local-mute", func(ev map[string]any) bool {
		return ev["type"] == "local-mute" && ev["kind"] == "audio" && ev["muted"] == true
	})
	if _, err := a.current(); err != nil {
		t.Fatalf("the meeting ended: %v", err)
	}
	if err := a.SetMuted("audio", false); err == nil {
		t.Error("turning the microphone on with none connected succeeded")
	}
}

// heardAudio is what a bot decoded of the app's microphone.
type heardAudio struct {
	mu  sync.Mutex
	pcm []int16
}

func (h *heardAudio) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pcm)
}

// since is a copy of the samples from index from on.
func (h *heardAudio) since(from int) []int16 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int16(nil), h.pcm[from:]...)
}

// listenToMic joins a bot, Bob, that decodes the app's microphone track.
func listenToMic(t *testing.T, invite string) (*client.Client, *heardAudio) {
	t.Helper()
	dec, err := opus.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.Close) // after the bot closes (cleanups run last first)
	h := &heardAudio{}
	pcm := make([]int16, opus.MaxFrameSamples)
	bot := meetingtest.Join(t, invite, "Bob", client.Options{OnTrack: func(rt *client.RemoteTrack) {
		if rt.TrackID != micTrackID {
			return
		}
		rt.SetSink(func(p *rtp.Packet) {
			n, err := dec.Decode(p.Payload, pcm)
			if err != nil {
				return
			}
			h.mu.Lock()
			h.pcm = append(h.pcm, pcm[:n]...)
			h.mu.Unlock()
		})
	}})
	return bot, h
}

// hostWithSound hosts a meeting from an app on the test sound server's
// "mic" and "spk"; the caller closes the app.
func hostWithSound(t *testing.T) (*App, *recorder, *JoinResult) {
	t.Helper()
	a, rec := newTestAppWith(t, Options{Source: SourceDevices, Mic: "mic", Speaker: "spk"})
	res, err := a.Host(HostOptions{Name: "Alice"})
	if err != nil {
		_ = a.Close()
		t.Fatal(err)
	}
	return a, rec, res
}

// TestNoMicrophoneIsMicOff: with a speaker but no microphone the meeting
// starts, says so, and shows the microphone off (to the webview and to
// the room) rather than on and silent; turning it on says why it can't.
func TestNoMicrophoneIsMicOff(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Speaker(t, "spk")
	pa.Use(t)
	a, rec := newTestAppWith(t, Options{Source: SourceDevices, Speaker: "spk"})
	defer a.Close()
	res, err := a.Host(HostOptions{Name: "Alice"})
	if err != nil {
		t.Fatalf("host without a microphone: %v", err)
	}
	toastMatching(rec, t, "No microphone connected: your microphone stays off")
	rec.waitFor(t, "local-mute", func(ev map[string]any) bool {
		return ev["type"] == "local-mute" && ev["kind"] == "audio" && ev["muted"] == true
	})
	// Bob joins after the mute was sent. The server may take his hello
	// before Alice's mute (two connections, no order between them; CI
	// once): then the mute reaches him as an event instead of in the
	// room's state in his welcome.
	bob := meetingtest.Join(t, res.Invite, "Bob", client.Options{})
	mic := -1
	for i, tr := range bob.Welcome().Tracks {
		if tr.ParticipantID == res.SelfID && tr.Kind == signal.KindAudio {
			mic = i
		}
	}
	switch {
	case mic < 0:
		t.Errorf("Alice's microphone track is not in the room: %+v", bob.Welcome().Tracks)
	case !bob.Welcome().Tracks[mic].Muted:
		micID := bob.Welcome().Tracks[mic].ID
		meetingtest.NextMessage(t, bob, 5*time.Second, func(m *signal.Mute) bool {
			return m.ParticipantID == res.SelfID && m.TrackID == micID && m.Muted
		})
	}
	if err := a.SetMuted("audio", false); err == nil {
		t.Error("turning the microphone on with none connected succeeded")
	}
}

// TestReceiveOnlyShowsOff: a window started with --source none publishes
// nothing; its microphone and camera show off, and turning one on says
// why it stays off.
func TestReceiveOnlyShowsOff(t *testing.T) {
	a, rec := newTestAppWith(t, Options{Source: SourceNone})
	defer a.Close()
	if _, err := a.Host(HostOptions{Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"audio", "video"} {
		rec.waitFor(t, "local-mute "+kind, func(ev map[string]any) bool {
			return ev["type"] == "local-mute" && ev["kind"] == kind && ev["muted"] == true
		})
		if err := a.SetMuted(kind, false); !errors.Is(err, ErrReceiveOnly) {
			t.Errorf("turning %s on: %v, want %v", kind, err, ErrReceiveOnly)
		}
	}
}
