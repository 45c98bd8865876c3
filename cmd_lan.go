package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"parley/backend/server"
	"parley/backend/signal"
	"parley/discovery"
)

// lanInterfaces resolves --iface names, or picks every interface that can
// carry mDNS when none are given.
func lanInterfaces(names []string) ([]net.Interface, error) {
	if len(names) > 0 {
		return discovery.InterfacesByName(names)
	}
	ifaces, err := discovery.DefaultInterfaces()
	if err == nil && len(ifaces) == 0 {
		err = errors.New("no network interface is up and multicast-capable")
	}
	return ifaces, err
}

// lanAdvert keeps a hosted room's mDNS advertisement current.
type lanAdvert struct {
	mu    sync.Mutex
	adv   *discovery.Advertiser
	room  discovery.Room
	state func() server.RoomState
	log   *slog.Logger
}

// advertiseRoom announces the room on the LAN, with what state says of
// it now, and Refresh keeps that current. It is for hosts others can
// reach: a server bound to loopback, or without TLS (no fingerprint to
// pin), is not advertised.
func advertiseRoom(ctx context.Context, room discovery.Room, state func() server.RoomState, names []string, log *slog.Logger) (*lanAdvert, error) {
	ifaces, err := lanInterfaces(names)
	if err != nil {
		return nil, fmt.Errorf("advertise %q: %w", room.Name, err)
	}
	if room.Host == "" {
		room.Host, _ = os.Hostname()
	}
	room.ProtocolVersion = signal.ClientVersion
	st := state()
	room.Participants, room.Locked = st.Participants, st.Locked
	adv, err := discovery.Advertise(ctx, room, discovery.AdvertiseOptions{Interfaces: ifaces, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("advertise %q: %w", room.Name, err)
	}
	return &lanAdvert{adv: adv, room: room, state: state, log: log}, nil
}

// Refresh re-announces the room if what it lists has changed (its head
// count, its lock): call it on each of the server's events. Safe on nil.
func (a *lanAdvert) Refresh() {
	if a == nil {
		return
	}
	// The state is read under the lock, not taken from the event: events
	// reach us out of order, and the last Refresh must announce the
	// latest state.
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.state()
	if st.Participants == a.room.Participants && st.Locked == a.room.Locked {
		return
	}
	a.room.Participants, a.room.Locked = st.Participants, st.Locked
	if err := a.adv.Update(a.room); err != nil {
		a.log.Warn("update LAN advertisement", "err", err)
	}
}

// Close sends the goodbye, so the room vanishes from others' lists at once.
func (a *lanAdvert) Close() {
	if a == nil {
		return
	}
	if err := a.adv.Close(); err != nil {
		a.log.Warn("withdraw LAN advertisement", "err", err)
	}
}

// findRoom browses the LAN for a room by its listed name and returns its
// invite link.
func findRoom(ctx context.Context, name string, names []string, timeout time.Duration, log *slog.Logger) (string, error) {
	ifaces, err := lanInterfaces(names)
	if err != nil {
		return "", fmt.Errorf("look for %q on this network: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b, err := discovery.Browse(ctx, discovery.BrowseOptions{
		Interfaces: ifaces, ProtocolVersions: signal.SupportedVersions(), Logger: log,
	})
	if err != nil {
		return "", fmt.Errorf("look for %q on this network: %w", name, err)
	}
	defer b.Close()
	// The name is the one lobbies and `parley discover` list: unique on
	// the network ("Team sync (2)" when two hosts chose "Team sync").
	for ev := range b.Events() {
		if ev.Kind != discovery.Removed && strings.EqualFold(ev.Entry.Instance, name) {
			return ev.Entry.URL, nil
		}
	}
	return "", fmt.Errorf("no meeting called %q found on this network within %v", name, timeout)
}
