package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

// rawConn is a hand-driven signaling connection for sending what no real
// client would.
type rawConn struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialRaw(t *testing.T, srv *server.Server) *rawConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := strings.Replace(srv.URL(), "http://", "ws://", 1) + "ws"
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(signal.MaxServerMessageSize)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &rawConn{t: t, conn: conn}
}

func (r *rawConn) send(text string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.conn.Write(ctx, websocket.MessageText, []byte(text)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// expectError reads until an error message arrives and returns its code;
// "" if the connection closed first.
func (r *rawConn) expectError() (signal.Code, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, data, err := r.conn.Read(ctx)
		if err != nil {
			return "", err
		}
		var env struct {
			Type string      `json:"type"`
			Code signal.Code `json:"code"`
		}
		if json.Unmarshal(data, &env) == nil && env.Type == "error" {
			return env.Code, nil
		}
	}
}

// closed reports whether the server closes the connection soon.
func (r *rawConn) closed() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for {
		if _, _, err := r.conn.Read(ctx); err != nil {
			return ctx.Err() == nil
		}
	}
}

func hello(room, name, password string, version int) string {
	b, _ := json.Marshal(map[string]any{"type": "hello", "version": version, "room": room, "name": name, "password": password})
	return string(b)
}

func TestBadInputGetsItsErrorCodeAndHurtsNobodyElse(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{Rooms: []server.RoomConfig{
		{Name: "test"}, {Name: "locked", Password: "sesame"}, {Name: "small", Limit: 1},
	}})
	invite := srv.InviteURL("test")
	ada := meetingtest.Join(t, invite, "Ada", client.Options{})
	meetingtest.Publish(t, ada, media)
	bob := meetingtest.Join(t, invite, "Bob", client.Options{})
	meetingtest.Publish(t, bob, media)
	if !meetingtest.WaitFor(5*time.Second, func() bool { return meetingtest.Received(bob)[ada.ID()]["video"] > 0 }) {
		t.Fatal("media does not flow before the bad input")
	}
	meetingtest.Join(t, srv.InviteURL("small"), "Only", client.Options{})

	big := `{"type":"chat","text":"` + strings.Repeat("x", signal.MaxMessageSize) + `"}`
	tests := []struct {
		name      string
		first     string // before hello, or the hello itself
		after     []string
		wantCode  signal.Code
		wantClose bool
	}{
		{name: "wrong version", first: hello("test", "Eve", "", 99), wantCode: signal.CodeVersion, wantClose: true},
		{name: "unknown type first", first: `{"type":"bogus"}`, wantCode: signal.CodeBadRequest, wantClose: true},
		{name: "malformed JSON first", first: `{"type":`, wantCode: signal.CodeBadRequest, wantClose: true},
		{name: "chat before hello", first: `{"type":"chat","text":"hi"}`, wantCode: signal.CodeBadRequest, wantClose: true},
		{name: "wrong password", first: hello("locked", "Eve", "guess", 1), wantCode: signal.CodeBadPassword, wantClose: true},
		{name: "full room", first: hello("small", "Eve", "", 1), wantCode: signal.CodeRoomFull, wantClose: true},
		{name: "no such room", first: hello("nowhere", "Eve", "", 1), wantCode: signal.CodeNotFound, wantClose: true},
		{name: "oversized message", first: hello("test", "Eve", "", 1), after: []string{big}, wantCode: signal.CodeTooLarge, wantClose: true},
		{name: "unknown type after join", first: hello("test", "Eve", "", 1), after: []string{`{"type":"bogus","id":7}`}, wantCode: signal.CodeBadRequest},
		{name: "malformed JSON after join", first: hello("test", "Eve", "", 1), after: []string{`{{{`}, wantCode: signal.CodeBadRequest},
		{name: "malformed SDP", first: hello("test", "Eve", "", 1), after: []string{`{"type":"offer","pc":"publish","sdp":"v=0\r\nnonsense"}`}, wantCode: signal.CodeBadRequest},
		{name: "second hello", first: hello("test", "Eve", "", 1), after: []string{hello("test", "Eve", "", 1)}, wantCode: signal.CodeBadRequest},
		{name: "muting someone else's track", first: hello("test", "Eve", "", 1), after: []string{`{"type":"mute","trackId":"camera","muted":true}`}, wantCode: signal.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialRaw(t, srv)
			r.send(tt.first)
			for _, m := range tt.after {
				r.send(m)
			}
			code, err := r.expectError()
			if code != tt.wantCode {
				t.Fatalf("got error code %q (read error %v), want %q", code, err, tt.wantCode)
			}
			if tt.wantClose && !r.closed() {
				t.Error("connection left open")
			}
		})
	}

	t.Run("flood", func(t *testing.T) {
		r := dialRaw(t, srv)
		r.send(hello("test", "Flood", "", 1))
		for i := 0; i < 1000; i++ {
			r.send(`{"type":"mute","trackId":"none","muted":true}`)
		}
		codes := map[signal.Code]bool{}
		for len(codes) < 2 {
			code, err := r.expectError()
			if err != nil {
				break
			}
			codes[code] = true
			if code == signal.CodeRateLimited {
				break
			}
		}
		if !codes[signal.CodeRateLimited] {
			t.Fatalf("a flood of 1000 messages got %v, want rate-limited", codes)
		}
	})

	// Everyone else's media kept flowing through all of it.
	before := meetingtest.Received(bob)[ada.ID()]["video"]
	if !meetingtest.WaitFor(3*time.Second, func() bool { return meetingtest.Received(bob)[ada.ID()]["video"] >= before+30 }) {
		t.Fatalf("Ada → Bob video stalled after the bad input: %d → %d frames", before, meetingtest.Received(bob)[ada.ID()]["video"])
	}
	select {
	case <-ada.Done():
		t.Fatalf("Ada's session ended: %v", ada.Err())
	case <-bob.Done():
		t.Fatalf("Bob's session ended: %v", bob.Err())
	default:
	}
}
