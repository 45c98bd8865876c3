package server_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

// recorder keeps the room events a client receives, in order.
type recorder struct {
	mu   sync.Mutex
	msgs []signal.Message
	wg   sync.WaitGroup
}

func record(c *client.Client) *recorder {
	r := &recorder{}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for ev := range c.Events() {
			if ev.Message != nil {
				r.mu.Lock()
				r.msgs = append(r.msgs, ev.Message)
				r.mu.Unlock()
			}
		}
	}()
	return r
}

// summary lists the events as "type:detail" strings, leaving out the
// ones whose timing is not ordered against others (speaking).
func (r *recorder) summary() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		switch m := m.(type) {
		case *signal.ParticipantJoined:
			out = append(out, "joined:"+m.Participant.Name)
		case *signal.ParticipantLeft:
			out = append(out, "left:"+m.ParticipantID+":"+string(m.Reason))
		case *signal.TrackPublished:
			out = append(out, "published:"+m.Track.ID)
		case *signal.TrackUnpublished:
			out = append(out, "unpublished:"+m.TrackID)
		case *signal.Mute:
			out = append(out, "mute:"+m.TrackID)
		case *signal.Chat:
			out = append(out, "chat:"+m.Text)
		case *signal.ParticipantState:
			out = append(out, "state:"+m.ParticipantID+":"+string(m.State))
		}
	}
	return out
}

func (r *recorder) has(want string) bool {
	for _, s := range r.summary() {
		if s == want {
			return true
		}
	}
	return false
}

func TestEventsArriveInOrderAtEveryone(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	ada := meetingtest.Join(t, invite, "Ada", client.Options{})
	adaLog := record(ada)
	bob := meetingtest.Join(t, invite, "Bob", client.Options{})
	bobLog := record(bob)
	cy := meetingtest.Join(t, invite, "Cy", client.Options{})
	// Each step waits until everyone saw the previous one, so the order
	// is causal and the same for all.
	seenByAll := func(want string) {
		t.Helper()
		if !meetingtest.WaitFor(5*time.Second, func() bool { return adaLog.has(want) && bobLog.has(want) }) {
			t.Fatalf("%s not seen by all: Ada %v, Bob %v", want, adaLog.summary(), bobLog.summary())
		}
	}
	meetingtest.Publish(t, bob, media)
	seenByAll("published:mic")
	if err := bob.SetMuted("mic", true); err != nil {
		t.Fatal(err)
	}
	seenByAll("mute:mic")
	if err := ada.SendChat("hello"); err != nil {
		t.Fatal(err)
	}
	seenByAll("chat:hello")
	if err := cy.Leave(); err != nil {
		t.Fatal(err)
	}
	leftCy := "left:" + cy.ID() + ":left"
	seenByAll(leftCy)
	want := map[string][]string{
		"Ada": {"joined:Bob", "joined:Cy", "published:camera", "published:mic", "mute:mic", "chat:hello", leftCy},
		"Bob": {"joined:Cy", "published:camera", "published:mic", "mute:mic", "chat:hello", leftCy},
	}
	for name, log := range map[string]*recorder{"Ada": adaLog, "Bob": bobLog} {
		if got := log.summary(); !equal(got, want[name]) {
			t.Errorf("%s saw %v\nwant %v", name, got, want[name])
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestVanishedParticipantIsReportedGone(t *testing.T) {
	// A vanished client's socket was closed by its kernel: it keeps its
	// place only for Config.VanishedWindow (3 s), not the 30 s a silent
	// network cut gets.
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	ada := meetingtest.Join(t, invite, "Ada", client.Options{})
	log := record(ada)
	bob := meetingtest.Join(t, invite, "Bob", client.Options{})
	meetingtest.Publish(t, bob, media)
	start := time.Now()
	_ = bob.Close() // no leave: the socket just drops
	want := "left:" + bob.ID() + ":gone"
	if !meetingtest.WaitFor(5*time.Second, func() bool { return log.has(want) }) {
		t.Fatalf("Bob not reported gone within 5 s: %v", log.summary())
	}
	t.Logf("reported gone after %v", time.Since(start).Round(time.Millisecond))
}

func TestLateJoinerGetsVideoWithinASecond(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	ada := meetingtest.Join(t, invite, "Ada", client.Options{})
	meetingtest.Publish(t, ada, media)
	bob := meetingtest.Join(t, invite, "Bob", client.Options{})
	meetingtest.Publish(t, bob, media)
	if !meetingtest.WaitFor(5*time.Second, func() bool { return meetingtest.Received(ada)[bob.ID()][signal.KindVideo] > 0 }) {
		t.Fatal("first two participants do not exchange video")
	}
	// Join mid-loop, when the publishers' next keyframe is far away: only a
	// keyframe request gets the late joiner a picture this fast. Up to three
	// joiners try, because a busy 2-core machine running the race detector
	// can stall one join's ICE/DTLS past the second; a broken keyframe
	// request fails all three.
	var times []time.Duration
	for _, name := range []string{"Cy", "Dee", "Eve"} {
		time.Sleep(700 * time.Millisecond)
		start := time.Now()
		late := meetingtest.Join(t, invite, name, client.Options{})
		ok := meetingtest.WaitFor(3*time.Second, func() bool {
			got := meetingtest.Received(late)
			return got[ada.ID()][signal.KindVideo] > 0 && got[bob.ID()][signal.KindVideo] > 0
		})
		elapsed := time.Since(start)
		times = append(times, elapsed.Round(time.Millisecond))
		if ok && elapsed <= time.Second {
			t.Logf("late joiner's first video frames after %v (tries: %v)", elapsed.Round(time.Millisecond), times)
			return
		}
	}
	t.Fatalf("no late joiner got video from both within 1 s: %v", times)
}

func TestHostEndsMeeting(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	host := meetingtest.Join(t, invite, "Host", client.Options{})
	guest := meetingtest.Join(t, invite, "Guest", client.Options{})
	if err := host.EndMeeting(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-guest.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("guest's session did not end")
	}
	var ended *client.EndedError
	if !errors.As(guest.Err(), &ended) || ended.Reason != signal.EndHostEnded {
		t.Fatalf("guest ended with %v, want host-ended", guest.Err())
	}
}

func TestHostLocksAndRemoves(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	host := meetingtest.Join(t, invite, "Host", client.Options{})
	guest := meetingtest.Join(t, invite, "Guest", client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := guest.SetLocked(ctx, true); signal.CodeOf(err) != signal.CodeDenied {
		t.Errorf("guest locking the room: %v, want denied", err)
	}
	if err := host.SetLocked(ctx, true); err != nil {
		t.Fatalf("host locks: %v", err)
	}
	if _, err := meetingtest.TryJoin(invite, "Late", client.Options{}); signal.CodeOf(err) != signal.CodeDenied {
		t.Errorf("joining a locked room: %v, want denied", err)
	}
	if err := host.Remove(ctx, guest.ID()); err != nil {
		t.Fatalf("host removes guest: %v", err)
	}
	select {
	case <-guest.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("removed guest's session did not end")
	}
	var ended *client.EndedError
	if !errors.As(guest.Err(), &ended) || ended.Reason != signal.EndRemoved {
		t.Errorf("removed guest ended with %v, want removed", guest.Err())
	}
}
