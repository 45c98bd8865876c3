package app

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"parley/backend/signal"
	"parley/discovery"
)

// LANRoom is a meeting found on the local network, as the lobby lists it.
type LANRoom struct {
	Name         string `json:"name"`
	Host         string `json:"host"`
	Participants int    `json:"participants"`
	Password     bool   `json:"password"`
	Locked       bool   `json:"locked"`
	Lobby        bool   `json:"lobby"`
	URL          string `json:"url"`
}

// LAN is bound to the webview next to App: the lobby's "On this network"
// list. Browsing runs only while the lobby shows it (Rooms starts it,
// Stop ends it), so a meeting in progress sends no mDNS queries.
type LAN struct {
	interfaces []string
	log        *slog.Logger

	mu      sync.Mutex
	browser *discovery.Browser
	cancel  context.CancelFunc
}

// NewLAN returns a LAN browsing on the named interfaces (all usable ones
// when empty).
func NewLAN(interfaces []string, log *slog.Logger) *LAN {
	if log == nil {
		log = slog.Default()
	}
	return &LAN{interfaces: interfaces, log: log}
}

// Rooms starts browsing if needed and returns the meetings seen so far,
// by name.
func (l *LAN) Rooms() ([]LANRoom, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.browser == nil {
		if err := l.startLocked(); err != nil {
			return nil, err
		}
	}
	entries := l.browser.Rooms()
	rooms := make([]LANRoom, 0, len(entries))
	for _, e := range entries {
		rooms = append(rooms, LANRoom{
			Name: e.Instance, Host: e.Room.Host, Participants: e.Room.Participants,
			Password: e.Room.Password, Locked: e.Room.Locked, Lobby: e.Room.Lobby, URL: e.URL,
		})
	}
	sort.Slice(rooms, func(i, j int) bool { return rooms[i].Name < rooms[j].Name })
	return rooms, nil
}

func (l *LAN) startLocked() error {
	ifaces, err := discovery.DefaultInterfaces()
	if len(l.interfaces) > 0 {
		ifaces, err = discovery.InterfacesByName(l.interfaces)
	}
	if err != nil {
		return fmt.Errorf("browse the local network: %w", err)
	}
	if len(ifaces) == 0 {
		return fmt.Errorf("browse the local network: no interface is up and multicast-capable")
	}
	ctx, cancel := context.WithCancel(context.Background())
	b, err := discovery.Browse(ctx, discovery.BrowseOptions{
		Interfaces: ifaces, ProtocolVersions: signal.SupportedVersions(), Logger: l.log,
	})
	if err != nil {
		cancel()
		return fmt.Errorf("browse the local network: %w", err)
	}
	// Rooms reads the browser's list; its event stream is not needed.
	go func() {
		for range b.Events() {
		}
	}()
	l.browser, l.cancel = b, cancel
	return nil
}

// Stop ends browsing (the lobby is hidden, or a meeting starts).
func (l *LAN) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.browser == nil {
		return
	}
	l.cancel()
	if err := l.browser.Close(); err != nil {
		l.log.Debug("stop browsing", "err", err)
	}
	l.browser, l.cancel = nil, nil
}
