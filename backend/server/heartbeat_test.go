package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"parley/backend/server"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

// next reads until a message of type typ arrives and returns it decoded as
// the server sent it; it fails the test on an error message or a closed
// connection.
func (r *rawConn) next(typ string) signal.Message {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, data, err := r.conn.Read(ctx)
		if err != nil {
			r.t.Fatalf("waiting for %s: %v", typ, err)
		}
		msg, err := signal.DecodeServer(data)
		if err != nil {
			r.t.Fatalf("waiting for %s: %s: %v", typ, data, err)
		}
		if msg.Type() == typ {
			return msg
		}
		if e, ok := msg.(*signal.Error); ok {
			r.t.Fatalf("waiting for %s: got error %s: %s", typ, e.Code, e.Message)
		}
	}
}

func ping(id int64) string {
	b, _ := json.Marshal(map[string]any{"type": "ping", "id": id})
	return string(b)
}

func TestPingAfterWelcomeGetsItsPong(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{Rooms: []server.RoomConfig{{Name: "test"}}})
	r := dialRaw(t, srv)
	r.send(hello("test", "Browser", "", 3))
	if w := r.next(signal.TypeWelcome).(*signal.Welcome); w.Version != 3 {
		t.Fatalf("welcome.version = %d, want 3", w.Version)
	}
	for _, id := range []int64{41, 42, signal.MaxMessageID} {
		r.send(ping(id))
		if pong := r.next(signal.TypePong).(*signal.Pong); pong.ID != id {
			t.Fatalf("pong id = %d, want %d", pong.ID, id)
		}
	}
}

// Before version 3 a server did not know ping; this one answers a client
// that asked for version 2 as such a server would, so that nobody comes
// to rely on pongs without asking for them.
func TestPingIsVersion3(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{Rooms: []server.RoomConfig{{Name: "test"}}})
	r := dialRaw(t, srv)
	r.send(hello("test", "Old", "", 2))
	r.next(signal.TypeWelcome)
	r.send(ping(5))
	if code, err := r.expectError(); code != signal.CodeBadRequest {
		t.Fatalf("ping on version 2 got %q (%v), want bad-request", code, err)
	}
	if r.closed() {
		t.Fatal("a version 2 ping closed the connection")
	}
}

func TestPingBeforeHelloIsFatal(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{Rooms: []server.RoomConfig{{Name: "test"}}})
	r := dialRaw(t, srv)
	r.send(ping(1))
	if code, err := r.expectError(); code != signal.CodeBadRequest {
		t.Fatalf("ping before hello got %q (%v), want bad-request", code, err)
	}
	if !r.closed() {
		t.Fatal("connection left open")
	}
}

// A lobby wait can last minutes; its link must be checkable too.
func TestPingInLobbyGetsItsPong(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{
		Rooms: []server.RoomConfig{{Name: "test", Lobby: true, ExplicitHosts: true}},
	})
	r := dialRaw(t, srv)
	r.send(hello("test", "Knocker", "", 3))
	r.next(signal.TypeWaiting)
	r.send(ping(9))
	if pong := r.next(signal.TypePong).(*signal.Pong); pong.ID != 9 {
		t.Fatalf("pong id = %d, want 9", pong.ID)
	}
}

// Pings count against the message rate like anything else: a heartbeat
// must not become a way around it.
func TestPingFloodIsRateLimited(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{Rooms: []server.RoomConfig{{Name: "test"}}})
	r := dialRaw(t, srv)
	r.send(hello("test", "Flood", "", 3))
	r.next(signal.TypeWelcome)
	for i := int64(1); i <= 1000; i++ {
		r.send(ping(i))
	}
	if code, err := r.expectError(); code != signal.CodeRateLimited {
		t.Fatalf("1000 pings got %q (%v), want rate-limited", code, err)
	}
}
