package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

func wantCode(t *testing.T, what string, err error, code signal.Code) {
	t.Helper()
	if got := signal.CodeOf(err); got != code {
		t.Fatalf("%s: error %v (code %q), want %q", what, err, got, code)
	}
}

func TestPasswordAttemptsAreRateLimitedPerAddress(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{
		Rooms:           []server.RoomConfig{{Name: "test", Password: "right"}},
		PasswordLockout: 2 * time.Second,
	})
	invite := srv.InviteURL("test")
	for i := range 5 {
		_, err := meetingtest.TryJoin(invite, "Mallory", client.Options{Password: "wrong"})
		wantCode(t, "wrong password "+string(rune('1'+i)), err, signal.CodeBadPassword)
	}
	// The sixth attempt is refused even with the right password.
	start := time.Now()
	_, err := meetingtest.TryJoin(invite, "Mallory", client.Options{Password: "right"})
	wantCode(t, "sixth attempt", err, signal.CodeRateLimited)
	// A passwordless room on the same host is not affected... there is
	// none here; instead check that the wait ends.
	time.Sleep(2*time.Second - time.Since(start) + 100*time.Millisecond)
	c, err := meetingtest.TryJoin(invite, "Ada", client.Options{Password: "right"})
	if err != nil {
		t.Fatalf("right password after the wait: %v", err)
	}
	_ = c.Close()
}

func TestInviteTokens(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{
		Rooms: []server.RoomConfig{
			{Name: "test", Password: "secret"},
			{Name: "other"},
			{Name: "private", RequireToken: true},
		},
	})
	other := meetingtest.StartServer(t, server.Config{Rooms: []server.RoomConfig{{Name: "test"}}})
	mint := func(s *server.Server, room string, opts server.TokenOptions) string {
		t.Helper()
		u, err := s.TokenInviteURL(room, opts)
		if err != nil {
			t.Fatal(err)
		}
		// Same host as srv's links, so that only the token differs.
		return srv.InviteURL(room) + "#t=" + u[strings.Index(u, "t=")+2:]
	}
	guest := mint(srv, "test", server.TokenOptions{TTL: time.Hour})
	host := mint(srv, "test", server.TokenOptions{TTL: time.Hour, Host: true})
	once := mint(srv, "test", server.TokenOptions{TTL: time.Hour, OneTime: true})
	expired := mint(srv, "test", server.TokenOptions{TTL: time.Millisecond})
	forged := guest[:len(guest)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(guest, "AA")]
	// The same signature bytes, its last character's unused low bit set
	// (43 characters carry 258 bits of a 256-bit HMAC).
	const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	respelled := guest[:len(guest)-1] + string(b64url[strings.IndexByte(b64url, guest[len(guest)-1])^1])
	foreign := mint(other, "test", server.TokenOptions{TTL: time.Hour})
	otherRoom := srv.InviteURL("test") + "#t=" + mint(srv, "other", server.TokenOptions{})[len(srv.InviteURL("other"))+3:]
	private := mint(srv, "private", server.TokenOptions{})
	time.Sleep(1100 * time.Millisecond) // let the short token expire

	first, err := meetingtest.TryJoin(once, "First", client.Options{})
	if err != nil {
		t.Fatalf("one-time token, first use: %v", err)
	}
	t.Cleanup(func() { _ = first.Close() })

	tests := []struct {
		name     string
		link     string
		password string
		code     signal.Code // "" for success
		role     signal.Role
	}{
		{"guest token skips the password", guest, "", "", signal.RoleGuest},
		{"host token makes a host", host, "", "", signal.RoleHost},
		{"reused one-time token", once, "", signal.CodeTokenUsed, ""},
		{"expired token", expired, "", signal.CodeTokenExpired, ""},
		{"forged signature", forged, "", signal.CodeBadToken, ""},
		{"signature spelled another way", respelled, "", signal.CodeBadToken, ""},
		{"token of another server", foreign, "", signal.CodeBadToken, ""},
		{"token for another room", otherRoom, "secret", signal.CodeBadToken, ""},
		{"invitation-only room without token", srv.InviteURL("private"), "", signal.CodeBadToken, ""},
		{"invitation-only room with token (first in: host)", private, "", "", signal.RoleHost},
		{"no token, right password", srv.InviteURL("test"), "secret", "", signal.RoleGuest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := meetingtest.TryJoin(tc.link, "Joiner", client.Options{Password: tc.password})
			if tc.code != "" {
				wantCode(t, tc.name, err, tc.code)
				return
			}
			if err != nil {
				t.Fatalf("join: %v", err)
			}
			defer c.Close()
			for _, p := range c.Welcome().Participants {
				if p.ID == c.ID() && p.Role != tc.role {
					t.Fatalf("role %s, want %s", p.Role, tc.role)
				}
			}
		})
	}
}

// nextMessage waits for the first event of type T that match accepts.
func nextMessage[T signal.Message](t *testing.T, c *client.Client, match func(T) bool) T {
	t.Helper()
	return meetingtest.NextMessage(t, c, 10*time.Second, match)
}

func TestLobbyKnockAdmitDeny(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{
		Rooms: []server.RoomConfig{{Name: "test", Lobby: true, Password: "pw"}},
	})
	hostLink, err := srv.TokenInviteURL("test", server.TokenOptions{Host: true})
	if err != nil {
		t.Fatal(err)
	}
	host := meetingtest.Join(t, hostLink, "Host", client.Options{})
	if !host.Welcome().Room.Lobby {
		t.Fatal("welcome does not say the room has a lobby")
	}
	invite := srv.InviteURL("test")

	knock := func(name, password string) (<-chan dialResult, <-chan struct{}, context.CancelFunc) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		done, waiting := dialWaiting(ctx, invite, client.Options{Name: name, Password: password})
		return done, waiting, cancel
	}

	t.Run("wrong password never knocks", func(t *testing.T) {
		done, _, cancel := knock("Mallory", "nope")
		defer cancel()
		wantCode(t, "knock with wrong password", (<-done).err, signal.CodeBadPassword)
	})
	t.Run("admit", func(t *testing.T) {
		done, waiting, cancel := knock("Guest", "pw")
		defer cancel()
		k := nextMessage(t, host, func(*signal.KnockMsg) bool { return true })
		if k.Knock.Name != "Guest" {
			t.Fatalf("knock from %q, want Guest", k.Knock.Name)
		}
		select {
		case <-waiting:
		case <-time.After(5 * time.Second):
			t.Fatal("the joiner was not told to wait")
		}
		ctx, cancelReq := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelReq()
		if err := host.Admit(ctx, k.Knock.ID); err != nil {
			t.Fatalf("admit: %v", err)
		}
		r := <-done
		if r.err != nil {
			t.Fatalf("admitted joiner: %v", r.err)
		}
		defer r.c.Close()
		nextMessage(t, host, func(m *signal.ParticipantJoined) bool { return m.Participant.ID == r.c.ID() })
		// A guest may not admit or deny.
		wantCode(t, "guest admits", r.c.Admit(ctx, "k123"), signal.CodeDenied)
		wantCode(t, "host admits nobody", host.Admit(ctx, k.Knock.ID), signal.CodeNotFound)
	})
	t.Run("deny", func(t *testing.T) {
		done, _, cancel := knock("Eve", "pw")
		defer cancel()
		k := nextMessage(t, host, func(*signal.KnockMsg) bool { return true })
		ctx, cancelReq := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelReq()
		if err := host.Deny(ctx, k.Knock.ID); err != nil {
			t.Fatalf("deny: %v", err)
		}
		wantCode(t, "denied joiner", (<-done).err, signal.CodeDenied)
	})
	t.Run("joiner gives up", func(t *testing.T) {
		done, waiting, cancel := knock("Shy", "pw")
		k := nextMessage(t, host, func(*signal.KnockMsg) bool { return true })
		<-waiting
		cancel()
		<-done
		ended := nextMessage(t, host, func(m *signal.KnockEnded) bool { return m.KnockID == k.Knock.ID })
		if ended.Outcome != signal.KnockWithdrawn {
			t.Fatalf("knock ended %s, want withdrawn", ended.Outcome)
		}
	})
}

func TestModeratorMute(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	host := meetingtest.Join(t, invite, "Host", client.Options{})
	guest := meetingtest.Join(t, invite, "Guest", client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mic := publishSilence(t, ctx, guest, "mic")
	hostMic := publishSilence(t, ctx, host, "host-mic")

	if err := host.MuteParticipant(ctx, guest.ID(), "mic"); err != nil {
		t.Fatalf("host mutes guest: %v", err)
	}
	told := nextMessage(t, guest, func(m *signal.Mute) bool { return m.ParticipantID == guest.ID() })
	if !told.Muted || told.By != host.ID() {
		t.Fatalf("guest was told %+v, want muted by %s", told, host.ID())
	}
	if !mic.Muted() {
		t.Fatal("the guest's track still sends after the host muted it")
	}
	wantCode(t, "guest mutes host", guest.MuteParticipant(ctx, host.ID(), hostMic.ID()), signal.CodeDenied)
	wantCode(t, "host mutes unknown track", host.MuteParticipant(ctx, guest.ID(), "nope"), signal.CodeNotFound)
	// The guest may unmute themselves.
	if err := guest.SetMuted(mic.ID(), false); err != nil {
		t.Fatal(err)
	}
	nextMessage(t, host, func(m *signal.Mute) bool { return m.ParticipantID == guest.ID() && !m.Muted })
}

func publishSilence(t *testing.T, ctx context.Context, c *client.Client, id string) *client.LocalTrack {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, id, "s")
	if err != nil {
		t.Fatal(err)
	}
	lt, err := c.Publish(ctx, signal.KindAudio, track, client.PublishOptions{})
	if err != nil {
		t.Fatalf("publish %s: %v", id, err)
	}
	return lt
}

func TestLimitsHaveTheirErrorCodes(t *testing.T) {
	tests := []struct {
		name string
		cfg  server.Config
		run  func(t *testing.T, srv *server.Server) error
		code signal.Code
	}{
		{"tracks per participant", server.Config{MaxTracks: 1}, func(t *testing.T, srv *server.Server) error {
			c := meetingtest.Join(t, srv.InviteURL("test"), "A", client.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			publishSilence(t, ctx, c, "one")
			track, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "two", "s")
			_, err := c.Publish(ctx, signal.KindAudio, track, client.PublishOptions{})
			return err
		}, signal.CodeDenied},
		{"chat length", server.Config{MaxChatRunes: 10}, func(t *testing.T, srv *server.Server) error {
			c := meetingtest.Join(t, srv.InviteURL("test"), "A", client.Options{})
			if err := c.SendChat("short"); err != nil {
				return err
			}
			nextMessage(t, c, func(m *signal.Chat) bool { return m.Text == "short" })
			if err := c.SendChat(strings.Repeat("x", 11)); err != nil {
				return err
			}
			return nextMessage(t, c, func(*signal.Error) bool { return true })
		}, signal.CodeBadRequest},
		{"message rate", server.Config{MessageRate: 1, MessageBurst: 3}, func(t *testing.T, srv *server.Server) error {
			c := meetingtest.Join(t, srv.InviteURL("test"), "A", client.Options{})
			// Far below the default rate (50/s, bursts of 200), over this one.
			for i := range 6 {
				if err := c.SendChat(fmt.Sprint("message ", i)); err != nil {
					return err
				}
			}
			return nextMessage(t, c, func(*signal.Error) bool { return true })
		}, signal.CodeRateLimited},
		{"participants per room", server.Config{RoomLimit: 1}, func(t *testing.T, srv *server.Server) error {
			meetingtest.Join(t, srv.InviteURL("test"), "A", client.Options{})
			_, err := meetingtest.TryJoin(srv.InviteURL("test"), "B", client.Options{})
			return err
		}, signal.CodeRoomFull},
		{"rooms per server", server.Config{OpenRooms: true, MaxRooms: 1}, func(t *testing.T, srv *server.Server) error {
			meetingtest.Join(t, srv.InviteURL("one"), "A", client.Options{})
			_, err := meetingtest.TryJoin(srv.InviteURL("two"), "B", client.Options{})
			return err
		}, signal.CodeRateLimited},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := meetingtest.StartServer(t, tc.cfg)
			wantCode(t, tc.name, tc.run(t, srv), tc.code)
		})
	}
}

// TestRemovalHolds: a device a host removed comes back only if a host
// admits it, even to a room without a lobby and with a guest invite
// token, and the host is told it was removed; other devices come straight
// in, and a client that sends no device id is not held back by someone
// else's removal.
func TestRemovalHolds(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	host := meetingtest.Join(t, invite, "Host", client.Options{Device: "host-laptop"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	remove := func(c *client.Client) {
		t.Helper()
		if err := host.Remove(ctx, c.ID()); err != nil {
			t.Fatalf("remove %s: %v", c.ID(), err)
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s's session did not end", c.ID())
		}
	}
	comeBack := func(link string) (<-chan dialResult, <-chan struct{}) {
		return dialWaiting(ctx, link, client.Options{Name: "Bob", Device: "bob-laptop"})
	}

	remove(meetingtest.Join(t, invite, "Bob", client.Options{Device: "bob-laptop"}))
	done, waiting := comeBack(invite)
	k := nextMessage(t, host, func(*signal.KnockMsg) bool { return true })
	if k.Knock.Name != "Bob" || !k.Knock.Removed {
		t.Fatalf("knock %+v, want Bob marked as removed", k.Knock)
	}
	select {
	case <-waiting:
	case <-time.After(5 * time.Second):
		t.Fatal("the removed device was not told to wait")
	}
	meetingtest.Join(t, invite, "Cy", client.Options{Device: "cy-phone"})
	meetingtest.Join(t, invite, "Dee", client.Options{})
	if err := host.Admit(ctx, k.Knock.ID); err != nil {
		t.Fatalf("admit: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Bob, admitted: %v", r.err)
	}
	defer r.c.Close()

	remove(r.c)
	guestLink, err := srv.TokenInviteURL("test", server.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done, _ = comeBack(guestLink)
	k = nextMessage(t, host, func(*signal.KnockMsg) bool { return true })
	if err := host.Deny(ctx, k.Knock.ID); err != nil {
		t.Fatalf("deny: %v", err)
	}
	wantCode(t, "the removed device with an invite token, denied", (<-done).err, signal.CodeDenied)
}

type dialResult struct {
	c   *client.Client
	err error
}

// dialWaiting joins link (over loopback) in the background: waiting is
// closed when the server puts the joiner in the lobby, done gets the
// outcome.
func dialWaiting(ctx context.Context, link string, opts client.Options) (done <-chan dialResult, waiting <-chan struct{}) {
	w := make(chan struct{})
	d := make(chan dialResult, 1)
	opts.Log = meetingtest.Logger()
	opts.RTC = rtcconf.Options{LoopbackOnly: true}
	opts.OnWaiting = func() { close(w) }
	go func() {
		c, err := client.Dial(ctx, link, opts)
		d <- dialResult{c, err}
	}()
	return d, w
}

// TestLobbyToldWhenMeetingEnds: someone waiting in the lobby learns that
// the meeting ended, or its server stopped, rather than losing the
// connection without a word.
func TestLobbyToldWhenMeetingEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, srv *server.Server, host *client.Client)
		want signal.EndReason
	}{
		{"host ends", func(t *testing.T, _ *server.Server, host *client.Client) {
			if err := host.EndMeeting(); err != nil {
				t.Fatal(err)
			}
		}, signal.EndHostEnded},
		{"server stops", func(t *testing.T, srv *server.Server, _ *client.Client) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		}, signal.EndShutdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := meetingtest.StartServer(t, server.Config{
				Rooms: []server.RoomConfig{{Name: "test", Lobby: true, ExplicitHosts: true}},
			})
			hostLink, err := srv.TokenInviteURL("test", server.TokenOptions{Host: true})
			if err != nil {
				t.Fatal(err)
			}
			host := meetingtest.Join(t, hostLink, "Host", client.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			done, waiting := dialWaiting(ctx, srv.InviteURL("test"), client.Options{Name: "Guest"})
			nextMessage(t, host, func(*signal.KnockMsg) bool { return true })
			<-waiting
			tc.end(t, srv, host)
			r := <-done
			var ended *client.EndedError
			if !errors.As(r.err, &ended) || ended.Reason != tc.want {
				t.Fatalf("the knocker got %v, want the meeting ended (%s)", r.err, tc.want)
			}
		})
	}
}
