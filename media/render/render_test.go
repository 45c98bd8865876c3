package render

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"parley/media/vp8"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type frameMsg struct {
	id     uint32
	key    bool
	micros uint64
	data   string
}

func parse(t *testing.T, msg []byte) frameMsg {
	t.Helper()
	if len(msg) < HeaderSize || msg[0] != MsgFrame {
		t.Fatalf("bad message % x", msg)
	}
	return frameMsg{
		id:     binary.BigEndian.Uint32(msg[4:]),
		key:    msg[1]&FlagKeyframe != 0,
		micros: binary.BigEndian.Uint64(msg[8:]),
		data:   string(msg[HeaderSize:]),
	}
}

func dial(ctx context.Context, t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return ws
}

func frame(data []byte, key bool, ts uint32) vp8.Frame {
	return vp8.Frame{Data: data, Keyframe: key, Timestamp: ts}
}

func want(ctx context.Context, t *testing.T, ws *websocket.Conn, ids string) {
	t.Helper()
	wantHalf(ctx, t, ws, ids, "")
}

// wantHalf also lists the tracks drawn small.
func wantHalf(ctx context.Context, t *testing.T, ws *websocket.Conn, ids, half string) {
	t.Helper()
	msg := `{"type":"want","ids":[` + ids + `],"half":[` + half + `]}`
	if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func read(ctx context.Context, t *testing.T, ws *websocket.Conn) frameMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, msg, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return parse(t, msg)
}

// eventually retries f until it returns true (the socket applies "want"
// asynchronously).
func eventually(t *testing.T, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 2 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// listen starts a render server for one test; ctx bounds the test's
// socket reads and writes.
func listen(t *testing.T) (context.Context, *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	s, err := Listen(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return ctx, s
}

// dialServer connects as the webview and waits until s has taken the
// connection.
func dialServer(ctx context.Context, t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	ws := dial(ctx, t, s.URL())
	eventually(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.conn != nil })
	return ws
}

// watchWithoutKeyframe adds a track with nothing cached, has the webview
// want it, and waits for the keyframe request that wanting it causes.
func watchWithoutKeyframe(ctx context.Context, t *testing.T, s *Server) (*Track, *websocket.Conn) {
	t.Helper()
	var asked atomic.Int32
	a := s.AddTrack(TrackInfo{}, func() { asked.Add(1) })
	ws := dialServer(ctx, t, s)
	want(ctx, t, ws, "1")
	eventually(t, func() bool { return asked.Load() > 0 })
	return a, ws
}

func TestRejectsWithoutToken(t *testing.T) {
	s, err := Listen(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := strings.Replace(s.URL(), "ws://", "http://", 1)
	bad := []string{
		base[:strings.Index(base, "?")],
		base[:strings.Index(base, "token=")+6] + strings.Repeat("0", 64),
		strings.Replace(base, "127.0.0.1", "localhost", 1), // right token, wrong Host
	}
	for _, u := range bad {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", u, resp.StatusCode)
		}
	}
}

func TestSendsOnlyWantedTracksFromKeyframe(t *testing.T) {
	ctx, s := listen(t)
	var asked atomic.Int32
	a := s.AddTrack(TrackInfo{Participant: "p1", Track: "camera"}, func() { asked.Add(1) })
	b := s.AddTrack(TrackInfo{Participant: "p2", Track: "camera"}, nil)
	defer a.Close()
	defer b.Close()

	// Before anyone watches, frames only fill the cache.
	a.WriteFrame(frame([]byte("d0"), false, 1000)) // no keyframe yet: not cached
	a.WriteFrame(frame([]byte("k1"), true, 4000))
	a.WriteFrame(frame([]byte("d2"), false, 7000))
	b.WriteFrame(frame([]byte("other"), true, 0))

	ws := dialServer(ctx, t, s)
	want(ctx, t, ws, "1")
	// The cached group of pictures arrives first, from its keyframe.
	got := read(ctx, t, ws)
	if got.id != a.ID || !got.key || got.data != "k1" {
		t.Fatalf("first message %+v, want track %d keyframe k1", got, a.ID)
	}
	k1 := got.micros
	got = read(ctx, t, ws)
	if got.data != "d2" || got.key || got.micros-k1 != 3000*100/9 {
		t.Fatalf("second message %+v, want d2 33 ms after k1", got)
	}
	// Live frames follow; track b is not wanted and never arrives.
	b.WriteFrame(frame([]byte("other2"), true, 3000))
	a.WriteFrame(frame([]byte("d3"), false, 10000))
	if got = read(ctx, t, ws); got.data != "d3" {
		t.Fatalf("live frame %+v, want d3", got)
	}
	// Unwanted: nothing more for a. Then wanted again, starting at the
	// cached keyframe once more.
	want(ctx, t, ws, "")
	eventually(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return !a.wanted })
	a.WriteFrame(frame([]byte("d4"), false, 13000))
	want(ctx, t, ws, "1")
	for _, w := range []string{"k1", "d2", "d3", "d4"} {
		if got = read(ctx, t, ws); got.data != w {
			t.Fatalf("replay %+v, want %s", got, w)
		}
	}
	if st := a.Stats(); st.Frames != 5 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A track drawn small gets only the frames that others refer to, in the
// replayed group of pictures and live; drawn large again, it gets every
// frame at once, with no keyframe in between.
func TestHalfRateSkipsNonReferenceFrames(t *testing.T) {
	ctx, s := listen(t)
	a := s.AddTrack(TrackInfo{}, nil)
	defer a.Close()
	write := func(data string, key, nonRef bool, ts uint32) {
		a.WriteFrame(vp8.Frame{Data: []byte(data), Keyframe: key, NonReference: nonRef, Timestamp: ts})
	}
	write("k0", true, false, 0)
	write("n1", false, true, 3000)
	write("r2", false, false, 6000)
	ws := dialServer(ctx, t, s)
	wantHalf(ctx, t, ws, "1", "1")
	write("n3", false, true, 9000)
	write("r4", false, false, 12000)
	for _, w := range []string{"k0", "r2", "r4"} {
		if got := read(ctx, t, ws); got.data != w {
			t.Fatalf("at half rate got %+v, want %s", got, w)
		}
	}
	want(ctx, t, ws, "1")
	eventually(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return !a.half })
	write("n5", false, true, 15000)
	write("r6", false, false, 18000)
	for _, w := range []string{"n5", "r6"} {
		if got := read(ctx, t, ws); got.data != w {
			t.Fatalf("at full rate got %+v, want %s", got, w)
		}
	}
	if st := a.Stats(); st.Skipped != 2 || st.Dropped != 0 || st.Sent != 5 {
		t.Errorf("stats %+v, want 2 skipped and 5 sent", st)
	}
}

// A track with no keyframe cached asks its sender for one when watched,
// and frames start at the next keyframe.
func TestWantWithoutKeyframeAsksForOne(t *testing.T) {
	ctx, s := listen(t)
	a, ws := watchWithoutKeyframe(ctx, t, s)
	a.WriteFrame(frame([]byte("d"), false, 0))
	a.WriteFrame(frame([]byte("k"), true, 3000))
	if got := read(ctx, t, ws); got.data != "k" {
		t.Fatalf("got %+v, want the keyframe first", got)
	}
}

// A webview that does not read loses frames, not memory, and the track
// resumes at a keyframe.
func TestSlowReaderDropsAndResyncs(t *testing.T) {
	ctx, s := listen(t)
	a, ws := watchWithoutKeyframe(ctx, t, s)
	big := make([]byte, 32<<10)
	a.WriteFrame(frame(big, true, 0))
	for i := 1; i < 5000 && a.Stats().Dropped == 0; i++ {
		a.WriteFrame(frame(big, false, uint32(i*3000)))
	}
	if a.Stats().Dropped == 0 {
		t.Fatal("nothing dropped although the reader never read")
	}
	// Drain what was queued (a read with a deadline would close the
	// socket, so one goroutine reads); after the drop only a keyframe
	// restarts the track.
	msgs := make(chan string, 16)
	go func() {
		defer close(msgs)
		for {
			_, msg, err := ws.Read(ctx)
			if err != nil {
				return
			}
			msgs <- string(msg[HeaderSize:])
		}
	}()
	for drained := uint64(0); drained < a.Stats().Sent; drained++ {
		<-msgs
	}
	a.WriteFrame(frame([]byte("d"), false, 0))
	a.WriteFrame(frame([]byte("k"), true, 0))
	if got := <-msgs; got != "k" {
		t.Fatalf("after a drop got %d bytes first, want the keyframe", len(got))
	}
	_ = ws.CloseNow()
	for range msgs {
	}
}

func TestNewConnectionReplacesOld(t *testing.T) {
	ctx, s := listen(t)
	a := s.AddTrack(TrackInfo{}, nil)
	a.WriteFrame(frame([]byte("k"), true, 0))
	first := dial(ctx, t, s.URL())
	want(ctx, t, first, "1")
	read(ctx, t, first)
	second := dial(ctx, t, s.URL())
	rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
	defer rcancel()
	if _, _, err := first.Read(rctx); err == nil {
		t.Fatal("old connection still open after a new one came")
	}
	want(ctx, t, second, "1")
	if got := read(ctx, t, second); got.data != "k" {
		t.Fatalf("got %+v", got)
	}
}

// The producer hears when the webview starts and stops wanting a track
// (the app pauses the track at the server meanwhile) or drawing it small
// (the app asks the server for its reference frames only), and a new
// webview connection starts with nothing wanted.
func TestOnWantedFollowsTheWebview(t *testing.T) {
	ctx, s := listen(t)
	a := s.AddTrack(TrackInfo{Participant: "p1", Track: "camera"}, nil)
	defer a.Close()
	var mu sync.Mutex
	var heard []string
	a.SetOnWanted(func(wanted, half bool) {
		mu.Lock()
		defer mu.Unlock()
		heard = append(heard, fmt.Sprintf("wanted=%v half=%v", wanted, half))
	})
	saw := func(want ...string) {
		t.Helper()
		eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return slices.Equal(heard, want)
		})
	}
	const (
		shown = "wanted=true half=false"
		small = "wanted=true half=true"
		gone  = "wanted=false half=false"
	)
	ws := dialServer(ctx, t, s)
	want(ctx, t, ws, "1")
	saw(shown)
	want(ctx, t, ws, "1") // no change, no call
	wantHalf(ctx, t, ws, "1", "1")
	saw(shown, small)
	want(ctx, t, ws, "")
	saw(shown, small, gone)
	want(ctx, t, ws, "1")
	saw(shown, small, gone, shown)
	// The page reloads: the new connection wants nothing yet.
	dial(ctx, t, s.URL())
	saw(shown, small, gone, shown, gone)
}
