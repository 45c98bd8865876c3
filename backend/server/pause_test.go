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

	if err := bob.SetForwarding(ada.ID(), "camera", client.ForwardNone); err != nil {
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
	if err := bob.SetForwarding(ada.ID(), "camera", client.ForwardAll); err != nil {
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
	if err := bob.SetForwarding(ada.ID(), "no-such-track", client.ForwardNone); err != nil {
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

// frameTally runs a subscriber's video packets through a real assembler
// and counts the frames it releases by kind.
type frameTally struct {
	mu          sync.Mutex
	asm         *vp8.Assembler
	ref, nonRef int
}

func (f *frameTally) packet(p *rtp.Packet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fr := range f.asm.Push(p, time.Now()) {
		if fr.NonReference {
			f.nonRef++
		} else {
			f.ref++
		}
	}
}

func (f *frameTally) counts() (ref, nonRef int, st vp8.Stats) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ref, f.nonRef, f.asm.Stats()
}

// A subscriber that asks for reference frames only gets the half of a
// desktop camera's frames that the other half does not refer to, as an
// unbroken stream: no sequence or picture-id gap that its assembler would
// take for a loss, so no keyframe request. Asking for everything again
// brings the other half back at once, also without a keyframe.
func TestReferenceOnlyForwarding(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	ada := meetingtest.Join(t, invite, "Ada", client.Options{})
	tally := &frameTally{asm: vp8.NewAssembler(nil)}
	bob := meetingtest.Join(t, invite, "Bob", client.Options{OnTrack: func(rt *client.RemoteTrack) {
		if rt.Kind == signal.KindVideo {
			rt.SetSink(tally.packet)
		}
	}})
	meetingtest.Publish(t, ada, media)
	if !meetingtest.WaitFor(10*time.Second, func() bool { _, n, _ := tally.counts(); return n > 10 }) {
		t.Fatal("Bob gets no non-reference frames from Ada's camera")
	}

	videoBytes := func() (n uint64) {
		for _, s := range bob.Stats() {
			if s.ParticipantID == ada.ID() && s.Kind == signal.KindVideo {
				n += s.Bytes
			}
		}
		return n
	}
	// measure counts the frames of each kind and the bytes over d, after
	// letting what was on its way arrive.
	measure := func(f client.Forwarding, d time.Duration) (ref, nonRef int, bytesPerSecond float64) {
		t.Helper()
		if err := bob.SetForwarding(ada.ID(), "camera", f); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		r0, n0, _ := tally.counts()
		b0 := videoBytes()
		time.Sleep(d)
		r1, n1, _ := tally.counts()
		return r1 - r0, n1 - n0, float64(videoBytes()-b0) / d.Seconds()
	}
	ref, nonRef, thinRate := measure(client.ForwardReference, 2*time.Second)
	if ref < 10 || nonRef != 0 {
		t.Errorf("reference frames only: %d reference and %d non-reference frames in 2 s, want ≥ 10 and 0", ref, nonRef)
	}
	ref, nonRef, allRate := measure(client.ForwardAll, 2*time.Second)
	if ref < 10 || nonRef < 10 {
		t.Errorf("everything again: %d reference and %d non-reference frames in 2 s, want ≥ 10 of each", ref, nonRef)
	}
	t.Logf("video received: %.0f B/s with reference frames only, %.0f B/s with everything", thinRate, allRate)
	if thinRate > 0.75*allRate {
		t.Errorf("reference frames only took %.0f B/s, everything %.0f B/s: hardly a saving", thinRate, allRate)
	}
	if ref, nonRef, _ := measure(client.ForwardReference, time.Second); ref < 5 || nonRef != 0 {
		t.Errorf("reference frames only, again: %d reference and %d non-reference frames in 1 s, want ≥ 5 and 0", ref, nonRef)
	}

	_, _, st := tally.counts()
	if st.Missing > 0 || st.Dropped > 0 || st.KeyframeRequests > 0 || st.Skipped > 0 {
		t.Errorf("the thinned stream looked broken to the assembler: %+v", st)
	}
	for _, s := range bob.Stats() {
		if s.ParticipantID == ada.ID() && s.Lost > 0 {
			t.Errorf("%s: %d packets seen as lost: leaving frames out left gaps in the numbering", s.TrackID, s.Lost)
		}
	}
}
