package app

import (
	"testing"
	"time"

	"parley/backend/client"
	"parley/media/capture"
	"parley/testing/meetingtest"
)

func TestVideoTarget(t *testing.T) {
	for _, tc := range []struct {
		name                                     string
		max, feedback, room, user, sources, want int
	}{
		{"nothing limits", 1_000_000, 0, 0, 0, 1, 1_000_000},
		{"feedback", 1_000_000, 400_000, 0, 0, 1, 400_000},
		{"feedback above the max", 1_000_000, 2_500_000, 0, 0, 1, 1_000_000},
		{"room cap", 1_000_000, 2_500_000, 300_000, 0, 1, 300_000},
		{"user cap, mic kept out", 1_000_000, 0, 0, 256_000, 1, 224_000},
		{"user cap shared by camera and screen", 1_000_000, 0, 0, 256_000, 2, 112_000},
		{"user cap floor", 1_000_000, 0, 0, 64_000, 2, minVideoBitrate},
		{"lowest wins", 1_000_000, 150_000, 300_000, 256_000, 1, 150_000},
	} {
		if got := videoTarget(tc.max, tc.feedback, tc.room, tc.user, tc.sources); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// The encoder follows the SFU's feedback within a second of its arrival:
// a viewer on a bad link caps what it receives, the SFU tells the
// publisher (REMB), and the camera's encoder turns down, as does what the
// viewer gets. The user's own cap applies at once too.
func TestEncoderFollowsFeedback(t *testing.T) {
	a, _ := newTestAppWith(t, Options{Source: SourceNone, RoomMaxBitrate: 2_000_000})
	defer a.Close()
	res, err := a.Host(HostOptions{Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.current()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.cl.Welcome().Room.MaxBitrate; got != 2_000_000 {
		t.Errorf("room cap in welcome %d", got)
	}
	src, err := capture.OpenCamera(capture.PatternCamera, capture.Options{MaxWidth: 320, MaxHeight: 180, FPS: 15, Bitrate: 800_000})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.feedCamera(m, m.pub, src, cameraInfo{ID: capture.PatternCamera, Label: "Test pattern"}); err != nil {
		t.Fatal(err)
	}
	// A receive-only meeting starts with the camera shown off; this one
	// publishes the camera the test fed it.
	if err := m.pub.setMuted("video", false); err != nil {
		t.Fatal(err)
	}
	m.pub.mu.Lock()
	v := m.pub.camera
	m.pub.mu.Unlock()

	bob := meetingtest.Join(t, res.Invite, "Bob", client.Options{})
	var rt *client.RemoteTrack
	if !meetingtest.WaitFor(10*time.Second, func() bool {
		for _, r := range bob.RemoteTracks() {
			if r.TrackID == cameraTrackID && r.Stats().Frames > 0 {
				rt = r
			}
		}
		return rt != nil
	}) {
		t.Fatal("Bob gets no video")
	}
	if !meetingtest.WaitFor(3*time.Second, func() bool { return src.Bitrate() == 800_000 }) {
		t.Fatalf("encoder at %d bit/s, want its full 800000 while nothing limits it", src.Bitrate())
	}

	bob.SetMaxReceiveBitrate(200_000)
	var feedbackAt, encoderAt time.Time
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) && encoderAt.IsZero() {
		now := time.Now()
		if bps, ok := v.local.TargetBitrate(); ok && bps <= 200_000 && feedbackAt.IsZero() {
			feedbackAt = now
		}
		if src.Bitrate() <= 200_000 {
			encoderAt = now
		}
		time.Sleep(5 * time.Millisecond)
	}
	if feedbackAt.IsZero() || encoderAt.IsZero() {
		t.Fatalf("feedback at %v, encoder at %v (target %d)", feedbackAt, encoderAt, src.Bitrate())
	}
	lag := encoderAt.Sub(feedbackAt)
	t.Logf("the encoder followed the SFU's feedback after %v", lag)
	if lag > time.Second {
		t.Errorf("the encoder followed the feedback after %v, want ≤ 1 s", lag)
	}
	// What Bob receives follows (after the encoder's buffer drains).
	time.Sleep(2 * time.Second)
	b0, t0 := rt.Stats().Bytes, time.Now()
	time.Sleep(3 * time.Second)
	bps := float64(rt.Stats().Bytes-b0) * 8 / time.Since(t0).Seconds()
	t.Logf("Bob receives %.0f bit/s", bps)
	if bps > 300_000 {
		t.Errorf("Bob receives %.0f bit/s, want ≤ 300000 under his 200 kbit/s cap", bps)
	}

	if err := a.SetMaxBitrate(150); err != nil {
		t.Fatal(err)
	}
	if !meetingtest.WaitFor(time.Second, func() bool { return src.Bitrate() == 150_000-micShare }) {
		t.Errorf("encoder at %d bit/s after the user's cap of 150 kbit/s", src.Bitrate())
	}
	if a.MaxBitrate() != 150 {
		t.Errorf("MaxBitrate() = %d", a.MaxBitrate())
	}
}
