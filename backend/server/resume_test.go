package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

// cutProxy forwards TCP on loopback to target; cut drops every connection
// and refuses new ones until restore, like a network that went away.
type cutProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{t: t, ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = in.Close()
			continue
		}
		out, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			p.mu.Unlock()
			_ = in.Close()
			continue
		}
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
		}
		go pipe(in, out)
		go pipe(out, in)
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// via rewrites an invite link to go through the proxy.
func via(invite string, p *cutProxy) string {
	rest := invite[strings.Index(invite, "://")+3:]
	return invite[:strings.Index(invite, "://")+3] + p.addr() + rest[strings.Index(rest, "/"):]
}

func TestSignalingDropResumesTheSameParticipant(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	proxy := newCutProxy(t, strings.TrimSuffix(strings.TrimPrefix(srv.URL(), "http://"), "/"))
	ada := meetingtest.Join(t, invite, "Ada", client.Options{})
	adaLog := record(ada)
	meetingtest.Publish(t, ada, media)
	bob := meetingtest.Join(t, via(invite, proxy), "Bob", client.Options{})
	if bob.Welcome().ResumeToken == "" {
		t.Fatal("welcome has no resume token")
	}
	var bobMu sync.Mutex
	var bobEvents []client.Event
	bobDone := make(chan struct{})
	go func() {
		defer close(bobDone)
		for ev := range bob.Events() {
			bobMu.Lock()
			bobEvents = append(bobEvents, ev)
			bobMu.Unlock()
		}
	}()
	t.Cleanup(func() { _ = bob.Close(); <-bobDone })
	frames := func() uint64 { return meetingtest.Received(bob)[ada.ID()][signal.KindVideo] }
	if !meetingtest.WaitFor(10*time.Second, func() bool { return frames() > 10 }) {
		t.Fatal("Bob gets no video from Ada")
	}

	proxy.cut()
	if !meetingtest.WaitFor(5*time.Second, func() bool { return adaLog.has("state:" + bob.ID() + ":reconnecting") }) {
		t.Fatalf("Ada was not told Bob is reconnecting: %v", adaLog.summary())
	}
	if err := ada.SendChat("while you were away"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	up := time.Now()
	proxy.restore()
	if !meetingtest.WaitFor(5*time.Second, func() bool { return adaLog.has("state:" + bob.ID() + ":connected") }) {
		t.Fatalf("Bob did not resume: Ada saw %v", adaLog.summary())
	}
	t.Logf("signaling resumed %v after the network came back", time.Since(up).Round(time.Millisecond))
	before := frames()
	if !meetingtest.WaitFor(3*time.Second, func() bool { return frames() > before+10 }) {
		t.Fatal("Bob's video from Ada did not continue after the resume")
	}
	if !meetingtest.WaitFor(3*time.Second, func() bool {
		bobMu.Lock()
		defer bobMu.Unlock()
		for _, ev := range bobEvents {
			if m, ok := ev.Message.(*signal.Chat); ok && m.Text == "while you were away" {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the chat message sent while Bob was away was lost")
	}
	for _, s := range adaLog.summary() {
		if strings.HasPrefix(s, "left:"+bob.ID()) {
			t.Fatalf("Ada saw Bob leave: %v", adaLog.summary())
		}
	}
	// Bob works as before: a chat reaches Ada.
	if err := bob.SendChat("back"); err != nil {
		t.Fatal(err)
	}
	if !meetingtest.WaitFor(3*time.Second, func() bool { return adaLog.has("chat:back") }) {
		t.Fatal("Bob's chat after the resume did not arrive")
	}
}

func TestResumeWindowExpires(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{ResumeWindow: time.Second})
	invite := srv.InviteURL("test")
	proxy := newCutProxy(t, strings.TrimSuffix(strings.TrimPrefix(srv.URL(), "http://"), "/"))
	ada := meetingtest.Join(t, invite, "Ada", client.Options{})
	adaLog := record(ada)
	bob := meetingtest.Join(t, via(invite, proxy), "Bob", client.Options{})
	proxy.cut()
	want := "left:" + bob.ID() + ":gone"
	if !meetingtest.WaitFor(5*time.Second, func() bool { return adaLog.has(want) }) {
		t.Fatalf("Bob not gone after the window: %v", adaLog.summary())
	}
	proxy.restore()
	select {
	case <-bob.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Bob's session did not end")
	}
	if !errors.Is(bob.Err(), client.ErrConnectionLost) {
		t.Fatalf("Bob ended with %v, want connection lost", bob.Err())
	}
}

// TestClosedToResumeKeepsItsPlace: a client that gives up on a connection
// that stopped answering (a busy machine) and closes it to resume
// (signal.CloseResuming) keeps its session for the resume window; until
// now the server took the close for a process that died and dropped the
// participant after VanishedWindow, and the client came back as someone
// new.
func TestClosedToResumeKeepsItsPlace(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{VanishedWindow: 500 * time.Millisecond})
	ada := meetingtest.Join(t, srv.InviteURL("test"), "Ada", client.Options{})
	adaLog := record(ada)
	bob := dialRaw(t, srv)
	bob.send(hello("test", "Bob", "", 2))
	w := readWelcome(t, bob)
	id, token := w["participantId"].(string), w["resumeToken"].(string)
	if err := bob.conn.Close(signal.CloseResuming, "resuming"); err != nil {
		t.Fatalf("close: %v", err)
	}
	if !meetingtest.WaitFor(5*time.Second, func() bool { return adaLog.has("state:" + id + ":reconnecting") }) {
		t.Fatalf("Ada was not told Bob is reconnecting: %v", adaLog.summary())
	}
	time.Sleep(1500 * time.Millisecond) // three vanished windows
	if adaLog.has("left:" + id + ":gone") {
		t.Fatalf("Bob was dropped after the window of a vanished process: %v", adaLog.summary())
	}
	again := dialRaw(t, srv)
	b, _ := json.Marshal(map[string]any{"type": "hello", "version": 2, "room": "test", "name": "Bob", "resume": token})
	again.send(string(b))
	if w := readWelcome(t, again); w["participantId"] != id || w["resumed"] != true {
		t.Fatalf("resume: welcome for %v (resumed %v), want %s resumed", w["participantId"], w["resumed"], id)
	}
}

// TestWelcomeSaysWhoIsReconnecting: a welcome marks the participants whose
// connection is down; a client that joins (or resumes) while they are away
// missed the participant-state that said so, and the QA pass saw a
// resumed client show someone as reconnecting for good after they came
// back while it was away itself.
func TestWelcomeSaysWhoIsReconnecting(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	ada := meetingtest.Join(t, srv.InviteURL("test"), "Ada", client.Options{})
	adaLog := record(ada)
	bob := dialRaw(t, srv)
	bob.send(hello("test", "Bob", "", 2))
	bobID := readWelcome(t, bob)["participantId"].(string)
	if err := bob.conn.Close(signal.CloseResuming, "resuming"); err != nil {
		t.Fatalf("close: %v", err)
	}
	if !meetingtest.WaitFor(5*time.Second, func() bool { return adaLog.has("state:" + bobID + ":reconnecting") }) {
		t.Fatalf("Ada was not told Bob is reconnecting: %v", adaLog.summary())
	}
	cy := dialRaw(t, srv)
	cy.send(hello("test", "Cy", "", 2))
	reconnecting := map[string]bool{}
	for _, p := range readWelcome(t, cy)["participants"].([]any) {
		p := p.(map[string]any)
		reconnecting[p["name"].(string)] = p["reconnecting"] == true
	}
	if want := map[string]bool{"Ada": false, "Bob": true, "Cy": false}; !maps.Equal(reconnecting, want) {
		t.Errorf("Cy's welcome: reconnecting %v, want %v", reconnecting, want)
	}
}

// readWelcome reads r until the welcome, as JSON.
func readWelcome(t *testing.T, r *rawConn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, data, err := r.conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the welcome: %v", err)
		}
		var m map[string]any
		if json.Unmarshal(data, &m) == nil && m["type"] == "welcome" {
			return m
		}
	}
}
