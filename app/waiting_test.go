package app

import (
	"testing"
	"time"

	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

// TestLeaveGivesUpWaiting: joining a room with a waiting room, the app
// tells the webview it waits; Leave then gives up at once, and the host
// sees the knock withdrawn.
func TestLeaveGivesUpWaiting(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{Rooms: []server.RoomConfig{{Name: "test", Lobby: true}}})
	hostLink, err := srv.TokenInviteURL("test", server.TokenOptions{Host: true})
	if err != nil {
		t.Fatal(err)
	}
	host := meetingtest.Join(t, hostLink, "Host", client.Options{})
	a, rec := newTestAppWith(t, Options{Source: SourceNone})
	defer a.Close()
	joined := make(chan error, 1)
	go func() {
		_, err := a.Join(srv.InviteURL("test"), "Pat", "")
		joined <- err
	}()
	rec.waitFor(t, "waiting", func(ev map[string]any) bool { return ev["type"] == "waiting" })
	k := meetingtest.NextMessage(t, host, 10*time.Second, func(*signal.KnockMsg) bool { return true })
	if err := a.Leave(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-joined:
		if err == nil {
			t.Fatal("Join succeeded after Leave")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Join still waiting 5 s after Leave")
	}
	ended := meetingtest.NextMessage(t, host, 10*time.Second, func(m *signal.KnockEnded) bool { return m.KnockID == k.Knock.ID })
	if ended.Outcome != signal.KnockWithdrawn {
		t.Errorf("knock ended %s, want withdrawn", ended.Outcome)
	}
}
