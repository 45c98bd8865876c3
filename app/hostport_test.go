package app

import (
	"net"
	"net/url"
	"testing"

	"parley/backend/client"
	"parley/testing/meetingtest"
)

// TestHostingAgainKeepsTheInviteLink: a host who leaves and hosts again,
// in the same run or after a restart, gets the link already sent out, and
// it works; when another program took the port meanwhile, the meeting
// still starts, on a new link, which is the one remembered from then on.
func TestHostingAgainKeepsTheInviteLink(t *testing.T) {
	dir := t.TempDir()
	host := func(a *App) string {
		t.Helper()
		res, err := a.Host(HostOptions{Name: "Alice"})
		if err != nil {
			t.Fatalf("host: %v", err)
		}
		bob, err := meetingtest.TryJoin(res.Invite, "Bob", client.Options{})
		if err != nil {
			t.Fatalf("Bob joining %s: %v", res.Invite, err)
		}
		bob.Close()
		if err := a.Leave(); err != nil {
			t.Fatalf("leave: %v", err)
		}
		return res.Invite
	}
	open := func() *App {
		a, _ := newTestAppWith(t, Options{Source: SourceNone, ConfigDir: dir})
		t.Cleanup(func() { _ = a.Close() })
		return a
	}

	a := open()
	first := host(a)
	if again := host(a); again != first {
		t.Errorf("hosting again in the same run: invite %s, want %s", again, first)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := open()
	if restarted := host(b); restarted != first {
		t.Errorf("hosting after a restart: invite %s, want %s", restarted, first)
	}

	u, err := url.Parse(first)
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", u.Host)
	if err != nil {
		t.Fatalf("taking the meeting's port: %v", err)
	}
	defer taken.Close()
	moved := host(b)
	if moved == first {
		t.Fatalf("hosted on %s, a port another program holds", moved)
	}
	if err := taken.Close(); err != nil {
		t.Fatal(err)
	}
	if next := host(open()); next != moved {
		t.Errorf("after the move: invite %s, want the new one %s", next, moved)
	}
}
