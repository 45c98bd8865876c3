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
	c := turnClient(t, addr, user, pass)
	relay, err := c.Allocate()
	return c, relay, err
}

// turnClient is a TURN client of addr on a fresh loopback socket.
func turnClient(t *testing.T, addr, user, pass string) *turn.Client {
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
	return c
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
		// On the host, only the media ports (where the SFU's sockets are:
		// here the kernel's ephemeral range) get what the relay sends.
		media := listenUDP(t, 0)
		if !relays(t, relay, media) {
			t.Error("nothing relayed to a media port")
		}
		if other := listenOutsideEphemeral(t); relays(t, relay, other) {
			t.Errorf("relayed to port %d, outside the media ports", other.LocalAddr().(*net.UDPAddr).Port)
		}
	})
	t.Run("TCP allocation", func(t *testing.T) {
		c := turnClient(t, addr, creds.Username, creds.Credential)
		if _, err := c.AllocateTCP(); err == nil {
			t.Fatal("TCP allocation granted: the relay would open TCP connections to the host")
		}
	})
}

func listenUDP(t *testing.T, port int) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// listenOutsideEphemeral listens on a loopback UDP port below the kernel's
// ephemeral range (which starts at 32768 by default, and at 1024 at the
// lowest).
func listenOutsideEphemeral(t *testing.T) net.PacketConn {
	t.Helper()
	for port := 20000; port < 20100; port++ {
		if pc, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			t.Cleanup(func() { _ = pc.Close() })
			return pc
		}
	}
	t.Skip("no free UDP port in 20000-20099")
	return nil
}

// relays reports whether a datagram sent through relay reaches to within
// half a second.
func relays(t *testing.T, relay, to net.PacketConn) bool {
	t.Helper()
	msg := []byte("through the relay")
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if _, err := relay.WriteTo(msg, to.LocalAddr()); err != nil {
			t.Fatalf("write through the relay: %v", err)
		}
		_ = to.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 64)
		if n, _, err := to.ReadFrom(buf); err == nil && string(buf[:n]) == string(msg) {
			return true
		}
	}
	return false
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
			if selected[pc].Family != "IPv4" { // the relay's address, 127.0.0.1
				t.Errorf("%s's %s pair's candidate family is %q, want IPv4", name, pc, selected[pc].Family)
			}
		}
	}
}
