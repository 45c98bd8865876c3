package app

import (
	"context"
	"sync"

	"parley/backend/server"
	"parley/discovery"
)

// RoomAdvert keeps a hosted room listed on the LAN (mDNS) until Close.
type RoomAdvert interface {
	SetParticipants(n int)
	Close()
}

// lanListing is the LAN listing of the meeting this app hosts, if it is
// listed: the server's joins and leaves update its head count, and leaving
// the meeting withdraws it.
type lanListing struct {
	mu     sync.Mutex
	advert RoomAdvert
	people int
}

// start lists the room, when the app is to (Options.Advertise) and a link
// can pin the server's certificate (a room without a fingerprint is not
// listed). A failure to list is logged, not fatal: the invite link still
// works.
func (l *lanListing) start(a *App, srv *server.Server, room discovery.Room) {
	if a.opts.Advertise == nil || srv.Fingerprint() == "" {
		return
	}
	// Under the lock: a join the server reports meanwhile waits, then
	// updates the listing this makes.
	l.mu.Lock()
	defer l.mu.Unlock()
	room.Port, room.Participants = srv.Port(), l.people
	room.Path, room.Fingerprint = server.RoomPath(room.Name), srv.Fingerprint()
	adv, err := a.opts.Advertise(context.Background(), room)
	if err != nil {
		a.opts.Log.Warn("not listed on the local network", "err", err)
		return
	}
	l.advert = adv
}

func (l *lanListing) setParticipants(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.people = n
	if l.advert != nil {
		l.advert.SetParticipants(n)
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
