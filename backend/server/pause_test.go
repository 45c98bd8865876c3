package server_test

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/media/vp8"
	"parley/testing/meetingtest"
)

// keyframeWatch records, per resume, whether the first video packet that
// arrived after it started a VP8 keyframe.
type keyframeWatch struct {
	mu      sync.Mutex
	armed   bool
	verdict chan bool
}

func (w *keyframeWatch) arm() chan bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed, w.verdict = true, make(chan bool, 1)
	return w.verdict
}

func (w *keyframeWatch) packet(p *rtp.Packet) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.armed {
		return
	}
	w.armed = false
	w.verdict <- vp8.KeyframeStart(p.Payload)
}

// Pausing another participant's video stops its packets to the one who
// paused it, and nothing else (their audio goes on); resuming brings the
// video back from a keyframe, numbered on without a gap.
func TestPauseAndResumeATrack(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	ada := meetingtest.Join(t, invite, "Ada", client.Options{})
	watch := &keyframeWatch{}
	bob := meetingtest.Join(t, invite, "Bob", client.Options{OnTrack: func(rt *client.RemoteTrack) {
		if rt.Kind == signal.KindVideo {
			rt.SetSink(watch.packet)
		}
	}})
	meetingtest.Publish(t, ada, media)
	got := func(kind signal.Kind) uint64 { return meetingtest.Received(bob)[ada.ID()][kind] }
	if !meetingtest.WaitFor(10*time.Second, func() bool { return got(signal.KindVideo) > 10 }) {
		t.Fatal("Bob gets no video from Ada")
	}

	if err := bob.SetPaused(ada.ID(), "camera", true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // what was on its way
	video, audio := got(signal.KindVideo), got(signal.KindAudio)
	time.Sleep(time.Second)
	if n := got(signal.KindVideo) - video; n > 0 {
		t.Errorf("%d video frames arrived in the second after the pause", n)
	}
	if n := got(signal.KindAudio) - audio; n < 10 {
		t.Errorf("only %d audio packets in the second after pausing the video: the pause is per track", n)
	}

	keyframe := watch.arm()
	if err := bob.SetPaused(ada.ID(), "camera", false); err != nil {
		t.Fatal(err)
	}
	paused := got(signal.KindVideo)
	if !meetingtest.WaitFor(3*time.Second, func() bool { return got(signal.KindVideo) > paused+10 }) {
		t.Fatalf("video did not come back within 3 s of resuming (%d frames since)", got(signal.KindVideo)-paused)
	}
	select {
	case key := <-keyframe:
		if !key {
			t.Error("the first packet after resuming is not the start of a keyframe")
		}
	case <-time.After(time.Second):
		t.Fatal("no packet seen after resuming")
	}
	for _, st := range bob.Stats() {
		if st.ParticipantID == ada.ID() && st.Lost > 0 {
			t.Errorf("%s: %d packets seen as lost: the pause left a gap in the numbering", st.TrackID, st.Lost)
		}
	}

	// Pausing a track that has ended (or never was) is no error: the
	// pause may cross the track's end on the wire.
	if err := bob.SetPaused(ada.ID(), "no-such-track", true); err != nil {
		t.Fatal(err)
	}
	if err := bob.SendChat("still here"); err != nil {
		t.Fatal(err)
	}
	// The server answers in order: an error would come before the chat.
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-bob.Events():
			switch m := ev.Message.(type) {
			case *signal.Error:
				t.Fatalf("error after pausing an unknown track: %v", m)
			case *signal.Chat:
				if m.Text == "still here" {
					return
				}
			}
		case <-timeout:
			t.Fatal("Bob's chat did not come back")
		}
	}
}
