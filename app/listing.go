package app

import (
	"context"
	"sync"

	"parley/backend/server"
	"parley/discovery"
)

// RoomAdvert keeps a hosted room listed on the LAN (mDNS) until Close.
type RoomAdvert interface {
	// Refresh re-announces what changed in the room's state (its head
	// count, its lock) since the last announcement.
	Refresh()
	Close()
}

// lanListing is the LAN listing of the meeting this app hosts, if it is
// listed: the server's events (joins, leaves, locks) refresh it, and
// leaving the meeting withdraws it.
type lanListing struct {
	mu     sync.Mutex
	advert RoomAdvert
	closed bool
	// stop and done belong to a start under way: probing the LAN for the
	// room's name takes about a second, which hosting does not wait for.
	stop context.CancelFunc
	done chan struct{}
}

// start lists the room in the background, when the app is to
// (Options.Advertise) and a link can pin the server's certificate (a room
// without a fingerprint is not listed). A failure to list is logged, not
// fatal: the invite link still works.
func (l *lanListing) start(a *App, srv *server.Server, room discovery.Room) {
	if a.opts.Advertise == nil || srv.Fingerprint() == "" {
		return
	}
	room.Port = srv.Port()
	room.Path, room.Fingerprint = server.RoomPath(room.Name), srv.Fingerprint()
	name := room.Name
	state := func() server.RoomState { return srv.RoomState(name) }
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		stop()
		return
	}
	l.stop, l.done = stop, done
	go func() {
		defer close(done)
		adv, err := a.opts.Advertise(ctx, room, state)
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case l.closed && err == nil:
			adv.Close()
		case l.closed:
		case err != nil:
			a.opts.Log.Warn("not listed on the local network", "err", err)
		default:
			l.advert = adv
			// The room may have changed while the name was probed.
			adv.Refresh()
		}
	}()
}

// refresh follows a change in the room (any server event).
func (l *lanListing) refresh() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.advert != nil {
		l.advert.Refresh()
	}
}

// close withdraws the listing (others' lists drop the room at once), or
// stops it being made. Safe on nil and more than once.
func (l *lanListing) close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.closed = true
	adv, stop, done := l.advert, l.stop, l.done
	l.advert = nil
	l.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	if adv != nil {
		adv.Close()
	}
}
