package app

import (
	"context"
	"crypto/tls"
	"sync"
	"testing"
	"time"

	"parley/backend/server"
	"parley/discovery"
	"parley/testing/meetingtest"
)

// fakeAdvert records what a LAN listing would announce: the room's state
// as its Refresh reads it, as the real advertisement (cmd_lan.go) does.
type fakeAdvert struct {
	state func() server.RoomState

	mu     sync.Mutex
	last   server.RoomState
	closed bool
}

func (f *fakeAdvert) Refresh() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = f.state()
}

func (f *fakeAdvert) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
}

func (f *fakeAdvert) listed() server.RoomState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// TestListingFollowsLock: when the host locks the meeting the window
// hosts, its LAN listing is refreshed and says so, and says so no more
// when it unlocks; until now only joins and leaves refreshed it, and the
// lobbies of others kept offering a locked room.
func TestListingFollowsLock(t *testing.T) {
	adverts := make(chan *fakeAdvert, 1)
	dir := t.TempDir()
	a, _ := newTestAppWith(t, Options{
		Source:      SourceNone,
		Certificate: func() (tls.Certificate, error) { return server.LoadOrCreateCert(dir) },
		Advertise: func(_ context.Context, room discovery.Room, state func() server.RoomState) (RoomAdvert, error) {
			f := &fakeAdvert{state: state}
			f.Refresh()
			adverts <- f
			return f, nil
		},
	})
	defer func() {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	if _, err := a.Host(HostOptions{Name: "Alice", Room: "standup"}); err != nil {
		t.Fatalf("host: %v", err)
	}
	var adv *fakeAdvert
	select {
	case adv = <-adverts:
	case <-time.After(10 * time.Second):
		t.Fatal("the hosted meeting was not listed")
	}
	if got := adv.listed(); got != (server.RoomState{Participants: 1}) {
		t.Fatalf("listed %+v at first, want the host alone and unlocked", got)
	}
	for _, locked := range []bool{true, false} {
		if err := a.SetLocked(locked); err != nil {
			t.Fatalf("SetLocked(%v): %v", locked, err)
		}
		want := server.RoomState{Participants: 1, Locked: locked}
		if !meetingtest.WaitFor(5*time.Second, func() bool { return adv.listed() == want }) {
			t.Fatalf("after SetLocked(%v) the listing says %+v, want %+v", locked, adv.listed(), want)
		}
	}
	if err := a.Leave(); err != nil {
		t.Fatalf("leave: %v", err)
	}
	adv.mu.Lock()
	defer adv.mu.Unlock()
	if !adv.closed {
		t.Error("leaving the meeting did not withdraw its listing")
	}
}

// TestHostDoesNotWaitForTheListing: listing a room first probes the LAN
// for its name, about a second; the window opens the meeting without
// waiting for it (Host waited until now), and leaving stops the probing.
func TestHostDoesNotWaitForTheListing(t *testing.T) {
	probing := make(chan context.Context, 1)
	dir := t.TempDir()
	a, _ := newTestAppWith(t, Options{
		Source:      SourceNone,
		Certificate: func() (tls.Certificate, error) { return server.LoadOrCreateCert(dir) },
		Advertise: func(ctx context.Context, _ discovery.Room, _ func() server.RoomState) (RoomAdvert, error) {
			probing <- ctx
			<-ctx.Done() // a name that takes for ever to claim
			return nil, ctx.Err()
		},
	})
	defer func() {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	hosted := make(chan error, 1)
	go func() {
		_, err := a.Host(HostOptions{Name: "Alice", Room: "standup"})
		hosted <- err
	}()
	select {
	case err := <-hosted:
		if err != nil {
			t.Fatalf("host: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Host waited for the LAN listing")
	}
	var ctx context.Context
	select {
	case ctx = <-probing:
	case <-time.After(10 * time.Second):
		t.Fatal("the hosted meeting was never listed")
	}
	if err := a.Leave(); err != nil {
		t.Fatalf("leave: %v", err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("leaving the meeting did not stop its listing")
	}
}
