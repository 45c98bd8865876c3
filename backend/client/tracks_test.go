package client_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/media/testsrc"
	"parley/media/vp8"
	"parley/testing/meetingtest"
)

var (
	mediaOnce sync.Once
	media     *meetingtest.Media
	mediaErr  error
)

func testMedia(t *testing.T) *meetingtest.Media {
	t.Helper()
	mediaOnce.Do(func() { media, mediaErr = meetingtest.EncodeMedia() })
	if mediaErr != nil {
		t.Fatal(mediaErr)
	}
	return media
}

// publishVideo publishes the test pattern as trackID and plays it until
// the test ends; keyframes counts the SFU's keyframe requests.
func publishVideo(t *testing.T, c *client.Client, trackID string, keyframes *atomic.Int64) *client.LocalTrack {
	t.Helper()
	track, err := vp8.NewTrack(rtcconf.VP8Codec().RTPCodecCapability, trackID, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	player := testsrc.NewPlayer(testMedia(t).Video, track)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lt, err := c.Publish(ctx, signal.KindVideo, track, client.PublishOptions{OnKeyframeRequest: func() {
		if keyframes != nil {
			keyframes.Add(1)
		}
		player.RequestKeyframe()
	}})
	if err != nil {
		t.Fatal(err)
	}
	playCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = player.Run(playCtx)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
	return lt
}

// remoteTrack waits for c to receive participant's trackID.
func remoteTrack(t *testing.T, c *client.Client, participant, trackID string) *client.RemoteTrack {
	t.Helper()
	var found *client.RemoteTrack
	if !meetingtest.WaitFor(10*time.Second, func() bool {
		for _, rt := range c.RemoteTracks() {
			if rt.ParticipantID == participant && rt.TrackID == trackID && rt.Stats().Frames > 0 {
				found = rt
				return true
			}
		}
		return false
	}) {
		t.Fatalf("%s/%s never arrived", participant, trackID)
	}
	return found
}

// The SFU's REMB reaches the publisher's LocalTrack, within the room's cap.
func TestLocalTrackTargetBitrate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cap      int
		want     int // the most TargetBitrate may be
		wantRoom int
	}{
		{"no room cap", 0, 2_500_000, 0},
		{"room cap", 300_000, 300_000, 300_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := meetingtest.StartServer(t, server.Config{RoomMaxBitrate: tc.cap})
			invite := srv.InviteURL("test")
			alice := meetingtest.Join(t, invite, "Alice", client.Options{})
			if got := alice.Welcome().Room.MaxBitrate; got != tc.wantRoom {
				t.Errorf("welcome room.maxBitrate = %d, want %d", got, tc.wantRoom)
			}
			lt := publishVideo(t, alice, "camera", nil)
			if _, ok := lt.TargetBitrate(); ok {
				t.Error("a target before any REMB")
			}
			bob := meetingtest.Join(t, invite, "Bob", client.Options{})
			remoteTrack(t, bob, alice.ID(), "camera")
			var bps int
			if !meetingtest.WaitFor(5*time.Second, func() bool {
				var ok bool
				bps, ok = lt.TargetBitrate()
				return ok
			}) {
				t.Fatal("no REMB from the SFU in 5 s")
			}
			if bps <= 0 || bps > tc.want {
				t.Errorf("target %d bit/s, want 1 … %d", bps, tc.want)
			}
			if up, ok := alice.TargetBitrate(); !ok || up <= 0 {
				t.Errorf("uplink estimate %d, %v", up, ok)
			}
		})
	}
}

// A subscriber's PLI reaches the publisher's source through the SFU.
func TestRemoteTrackRequestKeyframe(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	alice := meetingtest.Join(t, invite, "Alice", client.Options{})
	var keyframes atomic.Int64
	publishVideo(t, alice, "camera", &keyframes)
	bob := meetingtest.Join(t, invite, "Bob", client.Options{})
	rt := remoteTrack(t, bob, alice.ID(), "camera")
	// The SFU asks for keyframes of its own when a subscription starts;
	// wait until it has stopped.
	for last := int64(-1); last != keyframes.Load(); {
		last = keyframes.Load()
		time.Sleep(1500 * time.Millisecond)
	}
	before := keyframes.Load()
	if err := rt.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	if !meetingtest.WaitFor(3*time.Second, func() bool { return keyframes.Load() > before }) {
		t.Fatal("the publisher was not asked for a keyframe")
	}
}

// Unpublish takes the track out of the room; the id can be published again.
func TestUnpublish(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	alice := meetingtest.Join(t, invite, "Alice", client.Options{})
	publishVideo(t, alice, "screen", nil)
	bob := meetingtest.Join(t, invite, "Bob", client.Options{})
	first := remoteTrack(t, bob, alice.ID(), "screen")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := alice.Unpublish(ctx, "screen"); err != nil {
		t.Fatal(err)
	}
	unpublished := false
	timeout := time.After(10 * time.Second)
	for !unpublished {
		select {
		case ev := <-bob.Events():
			if m, ok := ev.Message.(*signal.TrackUnpublished); ok && m.TrackID == "screen" && m.ParticipantID == alice.ID() {
				unpublished = true
			}
		case <-timeout:
			t.Fatal("Bob was not told the track was unpublished")
		}
	}
	// QA: stats and receive caps went on naming tracks long gone.
	if slices.Contains(bob.RemoteTracks(), first) {
		t.Error("Bob's client still lists the unpublished track")
	}
	if err := alice.Unpublish(ctx, "screen"); err == nil {
		t.Error("unpublishing twice succeeded")
	}
	publishVideo(t, alice, "screen", nil)
	if !meetingtest.WaitFor(10*time.Second, func() bool {
		for _, rt := range bob.RemoteTracks() {
			if rt != first && rt.ParticipantID == alice.ID() && rt.TrackID == "screen" && rt.Stats().Frames > 30 {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the republished track did not arrive")
	}
	if err := alice.Leave(); err != nil {
		t.Fatal(err)
	}
	if !meetingtest.WaitFor(10*time.Second, func() bool { return len(bob.RemoteTracks()) == 0 && len(bob.Stats()) == 0 }) {
		t.Errorf("after Alice left, Bob's client lists %d remote tracks, %d in its stats", len(bob.RemoteTracks()), len(bob.Stats()))
	}
	// What was received stays in the session's summary (parley join's).
	screens := 0
	for _, st := range bob.ReceivedStats() {
		if st.ParticipantID == alice.ID() && st.TrackID == "screen" && st.Frames > 0 {
			screens++
		}
	}
	if screens != 2 {
		t.Errorf("Bob's received stats list %d of Alice's two screen tracks", screens)
	}
}

// A subscriber's receive cap reaches the publisher as the SFU's REMB.
func TestMaxReceiveBitrate(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	alice := meetingtest.Join(t, invite, "Alice", client.Options{})
	lt := publishVideo(t, alice, "camera", nil)
	bob := meetingtest.Join(t, invite, "Bob", client.Options{MaxReceiveBitrate: 200_000})
	remoteTrack(t, bob, alice.ID(), "camera")
	var bps int
	if !meetingtest.WaitFor(5*time.Second, func() bool {
		bps, _ = lt.TargetBitrate()
		return bps > 0 && bps <= 200_000
	}) {
		t.Fatalf("the publisher's target is %d bit/s, want ≤ 200000", bps)
	}
}
