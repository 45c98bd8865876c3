package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"parley/backend/client"
	"parley/backend/server"
	"parley/testing/meetingtest"
)

// eventLog keeps what Config.OnEvent hears.
type eventLog struct {
	mu     sync.Mutex
	events []server.Event
}

func (l *eventLog) add(ev server.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

// waitFor waits for an event of type typ and returns it.
func (l *eventLog) waitFor(t *testing.T, typ string) server.Event {
	t.Helper()
	var got server.Event
	if !meetingtest.WaitFor(5*time.Second, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, ev := range l.events {
			if ev.Type == typ {
				got = ev
				l.events = l.events[i+1:]
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no %q event in 5 s", typ)
	}
	return got
}

// A LAN listing shows a room's lock: locking and unlocking are events,
// and RoomState, which a listing reads when one comes, says what a joiner
// would meet. A meeting the host ended, or an empty room forgotten after
// its grace period, is unlocked: the next join starts afresh.
func TestRoomStateFollowsLock(t *testing.T) {
	var log eventLog
	srv := meetingtest.StartServer(t, server.Config{OnEvent: log.add, Grace: 50 * time.Millisecond, SweepInterval: 10 * time.Millisecond})
	invite := srv.InviteURL("test")
	if got := srv.RoomState("test"); got != (server.RoomState{}) {
		t.Fatalf("RoomState before anyone joined = %+v, want empty", got)
	}
	host := meetingtest.Join(t, invite, "Ada", client.Options{})
	log.waitFor(t, "join")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	for _, locked := range []bool{true, false, true} {
		if err := host.SetLocked(ctx, locked); err != nil {
			t.Fatalf("SetLocked(%v): %v", locked, err)
		}
		ev := log.waitFor(t, "lock")
		if ev.Locked != locked || ev.Room != "test" || ev.ParticipantID != host.ID() || ev.Participants != 1 {
			t.Errorf("lock event %+v, want Locked=%v by %s with 1 in the room", ev, locked, host.ID())
		}
		if got, want := srv.RoomState("test"), (server.RoomState{Participants: 1, Locked: locked}); got != want {
			t.Errorf("RoomState after SetLocked(%v) = %+v, want %+v", locked, got, want)
		}
	}

	// Ending the meeting ends its lock.
	if err := host.EndMeeting(); err != nil {
		t.Fatalf("end meeting: %v", err)
	}
	if ev := log.waitFor(t, "leave"); ev.Locked || ev.Participants != 0 {
		t.Errorf("leave after the meeting ended %+v, want unlocked and empty", ev)
	}
	if got := srv.RoomState("test"); got != (server.RoomState{}) {
		t.Errorf("RoomState after the meeting ended = %+v, want empty and unlocked", got)
	}

	// A locked room left empty stays locked for its grace period, then is
	// forgotten, and says so.
	guest := meetingtest.Join(t, invite, "Bea", client.Options{})
	if err := guest.SetLocked(ctx, true); err != nil {
		t.Fatalf("SetLocked by the new meeting's host: %v", err)
	}
	log.waitFor(t, "lock")
	if err := guest.Leave(); err != nil {
		t.Fatalf("leave: %v", err)
	}
	if ev := log.waitFor(t, "close"); ev.Room != "test" || ev.Locked {
		t.Errorf("close event %+v, want room test unlocked", ev)
	}
	if got := srv.RoomState("test"); got != (server.RoomState{}) {
		t.Errorf("RoomState after the room closed = %+v, want empty and unlocked", got)
	}
}
