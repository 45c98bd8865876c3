package server_test

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

func turnServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	srv := meetingtest.StartServer(t, server.Config{
		TURN: &server.TURNConfig{ListenIP: "127.0.0.1", RelayIP: "127.0.0.1", AllowLoopback: true},
	})
	udp, _ := srv.TURNPorts()
	if udp == 0 {
		t.Fatal("TURN is not running")
	}
	return srv, net.JoinHostPort("127.0.0.1", strconv.Itoa(udp))
}

// allocate tries a TURN allocation with the given credentials.
func allocate(t *testing.T, addr, user, pass string) (*turn.Client, net.PacketConn, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: addr, STUNServerAddr: addr, Username: user, Password: pass,
		Realm: "parley", Conn: conn, RTO: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	relay, err := c.Allocate()
	return c, relay, err
}

func TestTURNRefusesStrangers(t *testing.T) {
	srv, addr := turnServer(t)
	member := meetingtest.Join(t, srv.InviteURL("test"), "Member", client.Options{})
	var creds signal.ICEServer
	for _, s := range member.Welcome().ICEServers {
		if strings.HasPrefix(s.URLs[0], "turn:") {
			creds = s
		}
	}
	if creds.Username == "" || !strings.HasSuffix(creds.Username, ":test") {
		t.Fatalf("welcome has no TURN credentials for the room: %+v", member.Welcome().ICEServers)
	}
	expired := "1000:test"
	tests := []struct {
		name, user, pass string
	}{
		{"no credentials", "", ""},
		{"wrong password", creds.Username, "bm90IGl0"},
		{"expired", expired, creds.Credential},
		{"other room", strings.TrimSuffix(creds.Username, "test") + "elsewhere", creds.Credential},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := allocate(t, addr, tc.user, tc.pass); err == nil {
				t.Fatal("allocation granted")
			}
		})
	}
	t.Run("member", func(t *testing.T) {
		c, relay, err := allocate(t, addr, creds.Username, creds.Credential)
		if err != nil {
			t.Fatalf("member's allocation: %v", err)
		}
		defer relay.Close()
		// Only this host's addresses are reachable through the relay.
		if err := c.CreatePermission(&net.UDPAddr{IP: net.IPv4(10, 99, 1, 2), Port: 5000}); err == nil {
			t.Error("permission to an address outside the meeting granted")
		}
		if err := c.CreatePermission(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}); err != nil {
			t.Errorf("permission to the host (loopback allowed in this test): %v", err)
		}
	})
}

func TestRelayOnlyUsesTheRelay(t *testing.T) {
	srv, _ := turnServer(t)
	invite := srv.InviteURL("test")
	ada := meetingtest.Join(t, invite, "Ada", client.Options{RelayOnly: true})
	bob := meetingtest.Join(t, invite, "Bob", client.Options{RelayOnly: true})
	meetingtest.Publish(t, ada, media)
	meetingtest.Publish(t, bob, media)
	ok := meetingtest.WaitFor(15*time.Second, func() bool {
		return meetingtest.Received(ada)[bob.ID()][signal.KindVideo] > 20 &&
			meetingtest.Received(bob)[ada.ID()][signal.KindVideo] > 20
	})
	if !ok {
		t.Fatalf("no media through the relay: Ada %v, Bob %v", meetingtest.Received(ada), meetingtest.Received(bob))
	}
	for name, c := range map[string]*client.Client{"Ada": ada, "Bob": bob} {
		selected := c.SelectedCandidates()
		t.Logf("%s: selected local candidates %v", name, selected)
		for _, pc := range []signal.PC{signal.PCPublish, signal.PCSubscribe} {
			if selected[pc].Type != "relay" {
				t.Errorf("%s's %s pair uses a %q candidate, want relay", name, pc, selected[pc].Type)
			}
		}
	}
}
