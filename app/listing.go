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
}

// start lists the room, when the app is to (Options.Advertise) and a link
// can pin the server's certificate (a room without a fingerprint is not
// listed). A failure to list is logged, not fatal: the invite link still
// works.
func (l *lanListing) start(a *App, srv *server.Server, room discovery.Room) {
	if a.opts.Advertise == nil || srv.Fingerprint() == "" {
		return
	}
	// Under the lock: an event the server reports meanwhile waits, then
	// refreshes the listing this makes.
	l.mu.Lock()
	defer l.mu.Unlock()
	room.Port = srv.Port()
	room.Path, room.Fingerprint = server.RoomPath(room.Name), srv.Fingerprint()
	name := room.Name
	adv, err := a.opts.Advertise(context.Background(), room, func() server.RoomState { return srv.RoomState(name) })
	if err != nil {
		a.opts.Log.Warn("not listed on the local network", "err", err)
		return
	}
	l.advert = adv
}

// refresh follows a change in the room (any server event).
func (l *lanListing) refresh() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.advert != nil {
		l.advert.Refresh()
	}
}

// close withdraws the listing (others' lists drop the room at once).
// Safe on nil and more than once.
func (l *lanListing) close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.advert != nil {
		l.advert.Close()
		l.advert = nil
	}
}
