package app

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/media/render"
	"parley/testing/meetingtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder collects the events the app sends to the webview.
type recorder struct {
	mu     sync.Mutex
	events []map[string]any
	wake   chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

func (r *recorder) emit(name string, data any) {
	if name != EventName {
		return
	}
	raw, _ := json.Marshal(data)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	r.mu.Lock()
	r.events = append(r.events, m)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// waitFor returns the first event that matches.
func (r *recorder) waitFor(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		for _, ev := range r.events {
			if match(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		select {
		case <-r.wake:
		case <-deadline:
			t.Fatalf("no %s event in 20 s", what)
		}
	}
}

func newTestApp(t *testing.T, report string) (*App, *recorder) {
	t.Helper()
	return newTestAppWith(t, Options{ReportPath: report})
}

// newTestAppWith is newTestApp with more options: it fills in loopback
// ICE, the test assets and, unless opts names one, the test source.
func newTestAppWith(t *testing.T, opts Options) (*App, *recorder) {
	t.Helper()
	if opts.Source == "" {
		opts.Source = SourceTest
	}
	opts.RTC = rtcconf.Options{LoopbackOnly: true}
	opts.HostAddr = "127.0.0.1:0"
	opts.Assets = meetingtest.Assets()
	opts.Log = meetingtest.Logger()
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	a.SetEmitter(rec.emit)
	return a, rec
}

// TestHostRendersGuestVideo hosts a meeting in the app (no window), lets a
// bot join and checks what the webview would get: room events, a media
// event for the bot's camera, and its frames on the render socket starting
// with a keyframe.
func TestHostRendersGuestVideo(t *testing.T) {
	report := filepath.Join(t.TempDir(), "report.json")
	a, rec := newTestApp(t, report)
	res, err := a.Host(HostOptions{Name: "Alice"})
	if err != nil {
		t.Fatalf("host: %v", err)
	}
	if res.SelfID == "" || res.Invite == "" {
		t.Fatalf("host result %+v", res)
	}
	if _, err := a.Host(HostOptions{Name: "again"}); err == nil {
		t.Error("a second Host while in a meeting succeeded")
	}

	media, err := meetingtest.EncodeMedia()
	if err != nil {
		t.Fatal(err)
	}
	bot := meetingtest.Join(t, res.Invite, "Bob", client.Options{})
	pub := meetingtest.Publish(t, bot, media)
	defer pub.Stop()

	rec.waitFor(t, "participant-joined", func(ev map[string]any) bool {
		msg, _ := ev["message"].(map[string]any)
		return ev["type"] == "server" && msg["type"] == "participant-joined"
	})
	ev := rec.waitFor(t, "media", func(ev map[string]any) bool {
		return ev["type"] == "media" && ev["participantId"] == bot.ID() && ev["renderId"] != nil && ev["renderId"].(float64) > 0
	})
	id := uint32(ev["renderId"].(float64))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, a.RenderURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(4 << 20)
	want, _ := json.Marshal(map[string]any{"type": "want", "ids": []uint32{id}})
	if err := ws.Write(ctx, websocket.MessageText, want); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("render socket after %d frames: %v", i, err)
		}
		if got := binary.BigEndian.Uint32(msg[4:]); got != id {
			t.Fatalf("frame of track %d, want only %d", got, id)
		}
		if i == 0 && msg[1]&render.FlagKeyframe == 0 {
			t.Fatal("first frame is not a keyframe")
		}
	}

	stats, err := a.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var sawVideo bool
	for _, st := range stats {
		if st.Kind == signal.KindVideo && st.Name == "Bob" {
			sawVideo = true
			// meetingtest's light test pattern.
			if st.Width != 320 || st.Height != 180 {
				t.Errorf("Bob's video %dx%d, want 320x180", st.Width, st.Height)
			}
			// The overlay's round-trip time: loopback, so well under 100 ms.
			if st.RTTMs == nil || *st.RTTMs < 0 || *st.RTTMs > 100 {
				t.Errorf("Bob's video RTT %v, want a loopback round trip", st.RTTMs)
			}
		}
	}
	if !sawVideo {
		t.Errorf("no stats of Bob's video: %+v", stats)
	}

	// Bob's tile leaves the stage: the server stops sending his video to
	// the window until the tile is back.
	m, err := a.current()
	if err != nil {
		t.Fatal(err)
	}
	bobVideo := func() uint64 { return meetingtest.Received(m.cl)[bot.ID()][signal.KindVideo] }
	setWant := func(ids []uint32) {
		t.Helper()
		msg, _ := json.Marshal(map[string]any{"type": "want", "ids": ids})
		if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
			t.Fatal(err)
		}
	}
	setWant([]uint32{})
	time.Sleep(pauseDelay + 500*time.Millisecond) // the pause, and what was on its way
	hidden := bobVideo()
	time.Sleep(time.Second)
	if n := bobVideo() - hidden; n > 0 {
		t.Errorf("%d frames of Bob's video reached the window while his tile was hidden", n)
	}
	setWant([]uint32{id})
	if !meetingtest.WaitFor(5*time.Second, func() bool { return bobVideo() > hidden+10 }) {
		t.Errorf("Bob's video did not come back when his tile did (%d frames)", bobVideo()-hidden)
	}
	a.ReportRender(RenderReport{Tracks: []RenderStats{{RenderID: id, Width: 640, Height: 360, FramesDecoded: 300, DecodedFPS: 29.5}}})

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Tiles) != 1 || r.Tiles[0].Participant != "Bob" || r.Tiles[0].DecodedFPS != 29.5 || r.Tiles[0].Kind != signal.KindVideo {
		t.Errorf("report tiles %+v", r.Tiles)
	}
	// Leaving ended the hosted meeting for the bot.
	select {
	case <-bot.Done():
	case <-time.After(10 * time.Second):
		t.Error("the bot is still in the meeting after the host closed")
	}
}

// TestHostAdmitsFromLobby hosts a room with a lobby: the app itself gets
// in with its host token, a bot without one knocks, the knock reaches the
// webview as a server event, and Admit lets the bot in.
func TestHostAdmitsFromLobby(t *testing.T) {
	a, rec := newTestApp(t, "")
	defer func() {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	res, err := a.Host(HostOptions{Name: "Alice", Lobby: true})
	if err != nil {
		t.Fatalf("host with a lobby: %v", err)
	}
	joined := make(chan error, 1)
	var bob *client.Client
	go func() {
		c, err := meetingtest.TryJoin(res.Invite, "Bob", client.Options{})
		bob = c
		joined <- err
	}()
	ev := rec.waitFor(t, "knock", func(ev map[string]any) bool {
		msg, _ := ev["message"].(map[string]any)
		return ev["type"] == "server" && msg["type"] == "knock"
	})
	knock, _ := ev["message"].(map[string]any)["knock"].(map[string]any)
	if knock["name"] != "Bob" {
		t.Fatalf("knock %v, want Bob's", knock)
	}
	select {
	case err := <-joined:
		t.Fatalf("Bob got in before anyone admitted him (err %v)", err)
	default:
	}
	if err := a.Admit(knock["id"].(string)); err != nil {
		t.Fatalf("admit: %v", err)
	}
	if err := <-joined; err != nil {
		t.Fatalf("Bob after admit: %v", err)
	}
	defer bob.Close()
	if err := a.Deny(knock["id"].(string)); err == nil {
		t.Error("denying a knock already admitted succeeded")
	}
}

// A window that hosts with the embedded TURN relay hands its guests relay
// credentials: a guest whose network allows only the relay sees and
// sends video through it.
func TestHostWithRelay(t *testing.T) {
	a, _ := newTestAppWith(t, Options{TURN: &server.TURNConfig{ListenIP: "127.0.0.1", RelayIP: "127.0.0.1", AllowLoopback: true}})
	defer func() {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	res, err := a.Host(HostOptions{Name: "Alice"})
	if err != nil {
		t.Fatalf("host: %v", err)
	}
	guest := meetingtest.Join(t, res.Invite, "Bob", client.Options{RelayOnly: true})
	media, err := meetingtest.EncodeMedia()
	if err != nil {
		t.Fatal(err)
	}
	meetingtest.Publish(t, guest, media)
	if !meetingtest.WaitFor(20*time.Second, func() bool {
		return meetingtest.Received(guest)[res.SelfID][signal.KindVideo] > 20
	}) {
		t.Fatalf("Bob got no video of Alice through the relay: %v", meetingtest.Received(guest))
	}
	// Bob's own video may still be connecting: Alice's arrived first.
	var selected map[signal.PC]client.Candidate
	meetingtest.WaitFor(10*time.Second, func() bool {
		selected = guest.SelectedCandidates()
		return selected[signal.PCPublish].Type != "" && selected[signal.PCSubscribe].Type != ""
	})
	for _, pc := range []signal.PC{signal.PCPublish, signal.PCSubscribe} {
		if selected[pc].Type != "relay" {
			t.Errorf("Bob's %s pair uses a %q candidate, want relay", pc, selected[pc].Type)
		}
	}
}
