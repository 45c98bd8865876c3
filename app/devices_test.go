package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"parley/backend/client"
	"parley/backend/signal"
	"parley/media/capture"
	"parley/media/vp8"
	"parley/testing/meetingtest"
)

func TestDevicePrefs(t *testing.T) {
	dir := t.TempDir()
	log := meetingtest.Logger()
	if p := loadPrefs(dir, log); p != (devicePrefs{}) {
		t.Errorf("no file: %+v, want no choice", p)
	}
	if err := os.WriteFile(filepath.Join(dir, prefsFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p := loadPrefs(dir, log); p != (devicePrefs{}) {
		t.Errorf("corrupt file: %+v, want no choice", p)
	}
	want := devicePrefs{Camera: "cam-1", Mic: "usb-mic", Speaker: "hdmi"}
	if err := savePrefs(filepath.Join(dir, "sub"), want); err != nil {
		t.Fatal(err)
	}
	if p := loadPrefs(filepath.Join(dir, "sub"), log); p != want {
		t.Errorf("reloaded %+v, want %+v", p, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", prefsFile+".tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	if err := savePrefs("", want); err != nil {
		t.Errorf("no config dir: %v, want nothing saved and no error", err)
	}
	var p devicePrefs
	if err := p.set("webcam", "x"); err == nil {
		t.Error("unknown kind accepted")
	}
}

// The app remembers what SelectDevice chose, in ConfigDir: the next app
// starts with it, a flag overrides it for one run, and a remembered
// device that is not connected means the default one.
func TestSelectDeviceRemembered(t *testing.T) {
	dir := t.TempDir()
	newApp := func(opts Options) *App {
		opts.ConfigDir, opts.Log, opts.Source = dir, meetingtest.Logger(), SourceDevices
		a, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		return a
	}
	// A pattern camera chosen by flag is listed, with those before it.
	if got := newApp(Options{Camera: capture.PatternCameraID(2)}).cameras(); len(got) < 2 ||
		got[len(got)-1].ID != capture.PatternCameraID(2) || got[len(got)-2].ID != capture.PatternCamera {
		t.Errorf("--camera %s lists %+v", capture.PatternCameraID(2), got)
	}
	a := newApp(Options{})
	for _, c := range [][2]string{{"videoinput", "unplugged-cam"}, {"audioinput", "usb-mic"}, {"audiooutput", "hdmi"}} {
		if err := a.SelectDevice(c[0], c[1]); err != nil {
			t.Fatalf("SelectDevice(%s): %v", c[0], err)
		}
	}
	if err := a.SelectDevice("webcam", "x"); err == nil {
		t.Error("SelectDevice accepted an unknown kind")
	}
	data, err := os.ReadFile(filepath.Join(dir, prefsFile))
	if err != nil {
		t.Fatal(err)
	}
	var saved devicePrefs
	if err := json.Unmarshal(data, &saved); err != nil || saved != (devicePrefs{Camera: "unplugged-cam", Mic: "usb-mic", Speaker: "hdmi"}) {
		t.Fatalf("devices.json = %s (%v)", data, err)
	}
	b := newApp(Options{Mic: "flag-mic"})
	if b.opts.Camera != "unplugged-cam" || b.opts.Speaker != "hdmi" || b.opts.Mic != "flag-mic" {
		t.Errorf("next run chose camera %q mic %q speaker %q", b.opts.Camera, b.opts.Mic, b.opts.Speaker)
	}
	// The remembered camera is not connected: the first one, or none.
	b.opts.PatternCameras = 2
	if dev, ok := b.cameraChoice(b.cameras()); !ok || dev.ID != capture.PatternCamera {
		t.Errorf("missing remembered camera → %+v %v, want the first camera", dev, ok)
	}
	b.opts.PatternCameras = 0
	if len(capture.Cameras()) == 0 {
		if dev, ok := b.cameraChoice(b.cameras()); ok {
			t.Errorf("no cameras → %+v, want none", dev)
		}
		devs, err := b.Devices()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range devs {
			if d.Kind == "videoinput" {
				t.Errorf("Devices() lists camera %+v on a machine without one", d)
			}
		}
	}
}

// briefFreeze bounds the gap in a camera's frames when its source
// changes: a new encoder's first keyframe, on a loaded 2-core machine
// (the race detector, other tests). A track that stopped, or a new track,
// shows as a gap of the rest of the test.
const briefFreeze = 2 * time.Second

// frameLog records when a bot receives frames of one track.
type frameLog struct {
	mu    sync.Mutex
	times []time.Time
	ssrcs map[uint32]bool
	// starts: arrival and keyframe flag of each frame's first packet
	starts []frameStart
}

type frameStart struct {
	at  time.Time
	key bool
}

func (f *frameLog) sink(p *rtp.Packet) {
	var desc codecs.VP8Packet
	if _, err := desc.Unmarshal(p.Payload); err == nil && desc.S == 1 && desc.PID == 0 {
		f.mu.Lock()
		f.starts = append(f.starts, frameStart{at: time.Now(), key: vp8.KeyframeStart(p.Payload)})
		f.mu.Unlock()
	}
	if !p.Marker {
		return
	}
	f.mu.Lock()
	f.times = append(f.times, time.Now())
	f.ssrcs[p.SSRC] = true
	f.mu.Unlock()
}

// firstStartAfter is the first frame that began arriving after t.
func (f *frameLog) firstStartAfter(t time.Time) (frameStart, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.starts {
		if s.at.After(t) {
			return s, true
		}
	}
	return frameStart{}, false
}

// since counts frames after t.
func (f *frameLog) since(t time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, at := range f.times {
		if at.After(t) {
			n++
		}
	}
	return n
}

// maxGap is the longest time without a frame between from and to.
func (f *frameLog) maxGap(from, to time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var gap time.Duration
	last := from
	for _, at := range f.times {
		if at.Before(from) || at.After(to) {
			continue
		}
		gap = max(gap, at.Sub(last))
		last = at
	}
	return max(gap, to.Sub(last))
}

// hostWithCameras hosts a meeting publishing virtual camera "pattern"
// (n pattern cameras listed) and lets a bot record the camera track.
func hostWithCameras(t *testing.T, n int) (*App, *recorder, *client.Client, *frameLog) {
	t.Helper()
	// No sound server in this test: the meeting goes on without audio.
	t.Setenv("PULSE_SERVER", "unix:"+filepath.Join(t.TempDir(), "none"))
	a, rec := newTestAppWith(t, Options{
		Source: SourceDevices, Camera: capture.PatternCamera, PatternCameras: n, ConfigDir: t.TempDir(),
	})
	a.camOpts = capture.Options{MaxWidth: 320, MaxHeight: 180, FPS: 15, Bitrate: 300_000}
	t.Cleanup(func() { _ = a.Close() })
	res, err := a.Host(HostOptions{Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	frames := &frameLog{ssrcs: map[uint32]bool{}}
	bot := meetingtest.Join(t, res.Invite, "Bob", client.Options{OnTrack: func(rt *client.RemoteTrack) {
		if rt.TrackID == cameraTrackID {
			rt.SetSink(frames.sink)
		}
	}})
	if !meetingtest.WaitFor(10*time.Second, func() bool { return frames.since(time.Time{}) >= 10 }) {
		t.Fatal("the bot receives no camera frames")
	}
	return a, rec, bot, frames
}

func toastMatching(rec *recorder, t *testing.T, text string) {
	t.Helper()
	rec.waitFor(t, "toast "+text, func(ev map[string]any) bool {
		msg, _ := ev["message"].(string)
		return ev["type"] == "toast" && strings.Contains(msg, text)
	})
}

// currentCamera is the source the camera track sends now.
func currentCamera(t *testing.T, a *App) (*capture.Source, cameraInfo) {
	t.Helper()
	m, err := a.current()
	if err != nil {
		t.Fatal(err)
	}
	m.pub.mu.Lock()
	v := m.pub.camera
	m.pub.mu.Unlock()
	if v == nil {
		t.Fatal("no camera track")
	}
	return v.current()
}

// TestCameraSwitchAndUnplug: switching cameras mid-call and losing one
// keep the same published track going (the bot sees one SSRC and at most
// a short gap); the choice is saved; a lost camera hands over to the next
// one with a toast.
func TestCameraSwitchAndUnplug(t *testing.T) {
	a, rec, _, frames := hostWithCameras(t, 2)

	at := time.Now()
	if err := a.SelectDevice("videoinput", "pattern:2"); err != nil {
		t.Fatal(err)
	}
	if _, dev := currentCamera(t, a); dev.ID != "pattern:2" {
		t.Fatalf("after the switch the camera is %+v", dev)
	}
	time.Sleep(2 * time.Second)
	gap := frames.maxGap(at, time.Now())
	t.Logf("longest gap in the camera's frames during the switch: %v", gap)
	if gap > briefFreeze {
		t.Errorf("the switch froze the camera for %v, want < %v", gap, briefFreeze)
	}
	saved := loadPrefs(a.opts.ConfigDir, a.opts.Log)
	if saved.Camera != "pattern:2" {
		t.Errorf("saved camera %q, want pattern:2", saved.Camera)
	}

	// Unplug: the source ends under the sender.
	src, _ := currentCamera(t, a)
	at = time.Now()
	_ = src.Close()
	toastMatching(rec, t, "Camera disconnected — switched to Test pattern")
	time.Sleep(2 * time.Second)
	if _, dev := currentCamera(t, a); dev.ID != capture.PatternCamera {
		t.Errorf("after unplugging pattern:2 the camera is %+v, want %s", dev, capture.PatternCamera)
	}
	gap = frames.maxGap(at, time.Now())
	t.Logf("longest gap in the camera's frames after unplugging: %v", gap)
	if gap > briefFreeze {
		t.Errorf("losing the camera froze it for %v, want < %v", gap, briefFreeze)
	}
	frames.mu.Lock()
	ssrcs := len(frames.ssrcs)
	frames.mu.Unlock()
	if ssrcs != 1 {
		t.Errorf("the bot saw %d camera streams, want 1 (the same track throughout)", ssrcs)
	}
}

// TestCameraUnplugTurnsOff: the only camera goes away → camera off (muted
// for everyone, the webview told), not an error; turning it on again
// starts a camera.
func TestCameraUnplugTurnsOff(t *testing.T) {
	a, rec, bot, frames := hostWithCameras(t, 1)
	src, _ := currentCamera(t, a)
	_ = src.Close()
	toastMatching(rec, t, "Camera disconnected — camera turned off")
	rec.waitFor(t, "local-mute", func(ev map[string]any) bool {
		return ev["type"] == "local-mute" && ev["kind"] == "video" && ev["muted"] == true
	})
	if !a.startMuted("video") {
		t.Error("the app does not count the camera as off")
	}
	deadline := time.After(5 * time.Second)
	for seen := false; !seen; {
		select {
		case ev := <-bot.Events():
			mu, ok := ev.Message.(*signal.Mute)
			seen = ok && mu.TrackID == cameraTrackID && mu.Muted
		case <-deadline:
			t.Fatal("the bot does not see Alice's camera muted")
		}
	}
	if _, err := a.current(); err != nil {
		t.Fatalf("the meeting ended: %v", err)
	}
	if err := a.SetMuted("video", false); err != nil {
		t.Fatalf("turning the camera on again: %v", err)
	}
	at := time.Now()
	if !meetingtest.WaitFor(5*time.Second, func() bool { return frames.since(at) >= 10 }) {
		t.Error("no camera frames after turning the camera on again")
	}
}

// TestUnmuteResumesAtKeyframe: frames encoded while the camera was off
// never reached anyone, so the first frame after turning it back on is a
// keyframe, never a delta frame that refers to pictures the others missed.
func TestUnmuteResumesAtKeyframe(t *testing.T) {
	a, _, _, frames := hostWithCameras(t, 1)
	for round := range 5 {
		if err := a.SetMuted("video", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // the camera keeps encoding meanwhile
		at := time.Now()
		if err := a.SetMuted("video", false); err != nil {
			t.Fatal(err)
		}
		if !meetingtest.WaitFor(5*time.Second, func() bool { _, ok := frames.firstStartAfter(at); return ok }) {
			t.Fatalf("round %d: no frame after unmuting", round)
		}
		if first, _ := frames.firstStartAfter(at); !first.key {
			t.Fatalf("round %d: the first frame after unmuting is a delta frame", round)
		}
	}
}

// TestNoCameraIsCameraOff: on a machine without a camera the meeting
// starts with the camera off (the webview told, no error toast), and
// turning it on says there is no camera.
func TestNoCameraIsCameraOff(t *testing.T) {
	if n := len(capture.Cameras()); n > 0 {
		t.Skipf("this machine has %d cameras", n)
	}
	a, rec, _, _ := hostWithCameras(t, 1)
	_ = a.Leave()
	a.opts.Camera, a.opts.PatternCameras = "", 0
	rec.mu.Lock()
	rec.events = nil
	rec.mu.Unlock()
	if _, err := a.Host(HostOptions{Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "local-mute", func(ev map[string]any) bool {
		return ev["type"] == "local-mute" && ev["kind"] == "video" && ev["muted"] == true
	})
	rec.mu.Lock()
	for _, ev := range rec.events {
		if msg, _ := ev["message"].(string); ev["type"] == "toast" && strings.Contains(strings.ToLower(msg), "camera") {
			t.Errorf("camera toast without a camera: %v", msg)
		}
	}
	rec.mu.Unlock()
	if err := a.SetMuted("video", false); err == nil || !strings.Contains(err.Error(), "no camera") {
		t.Errorf("turning the camera on without one: %v, want no camera found", err)
	}
}

// TestLeavingClosesOwnTiles: a meeting left behind keeps nothing on the
// render socket (our camera's tile held its frames since the last
// keyframe for the rest of the run).
func TestLeavingClosesOwnTiles(t *testing.T) {
	a, _, _, _ := hostWithCameras(t, 1)
	if n := a.render.Tracks(); n == 0 {
		t.Fatal("no render track for our camera while hosting")
	}
	if err := a.Leave(); err != nil {
		t.Fatal(err)
	}
	if !meetingtest.WaitFor(5*time.Second, func() bool { return a.render.Tracks() == 0 }) {
		t.Fatalf("%d render tracks left after leaving the meeting", a.render.Tracks())
	}
}
