package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"parley/backend/signal"
	"parley/discovery"
)

// ifaceList collects --iface values; each may also be a comma-separated
// list, which InterfacesByName splits.
type ifaceList []string

func (l *ifaceList) String() string     { return strings.Join(*l, ",") }
func (l *ifaceList) Set(v string) error { *l = append(*l, v); return nil }

// discoveredRoom is one JSON line of "parley discover --json".
type discoveredRoom struct {
	Event        string       `json:"event"` // "room" (found or changed) or "removed"
	Name         string       `json:"name"`
	Host         string       `json:"host"`
	Participants int          `json:"participants"`
	Password     bool         `json:"password"`
	Locked       bool         `json:"locked"`
	Lobby        bool         `json:"lobby"`
	URL          string       `json:"url"`
	Fingerprint  string       `json:"fingerprint"`
	Addresses    []netip.Addr `json:"addresses"`
}

func newDiscoveredRoom(event string, e discovery.Entry) discoveredRoom {
	return discoveredRoom{
		Event: event, Name: e.Instance, Host: e.Room.Host, Participants: e.Room.Participants,
		Password: e.Room.Password, Locked: e.Room.Locked, Lobby: e.Room.Lobby, URL: e.URL, Fingerprint: e.Room.Fingerprint,
		Addresses: e.Addrs,
	}
}

// discover lists the meetings advertised on the local network. With
// --json it streams one line per room as soon as it is found (and again
// when it changes or leaves), so scripts need not wait for the timeout;
// otherwise it prints a table when the timeout ends.
func (c *CLI) discover(ctx context.Context, args []string) int {
	fset := c.newFlagSet("parley discover", "parley discover [--timeout 2s] [--json] [--iface NAME]...")
	timeout := fset.Duration("timeout", 2*time.Second, "browse for `DURATION`, then print what was found")
	jsonOut := fset.Bool("json", false, "print one JSON object per line instead of a table")
	var names ifaceList
	fset.Var(&names, "iface", "browse only on network interface `NAME` (repeatable or comma-separated; default: all that are up and multicast-capable)")
	if code, done := c.parse(fset, args); done {
		return code
	}
	if *timeout <= 0 {
		fmt.Fprintln(c.Stderr, "parley discover: --timeout must be positive")
		fset.Usage()
		return exitUsage
	}

	ifaces, err := lanInterfaces(names)
	if err != nil {
		fmt.Fprintln(c.Stderr, "parley discover:", err)
		return exitError
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	b, err := discovery.Browse(ctx, discovery.BrowseOptions{
		Interfaces:       ifaces,
		ProtocolVersions: signal.SupportedVersions(),
		Logger:           c.logger(*jsonOut),
	})
	if err != nil {
		fmt.Fprintln(c.Stderr, "parley discover:", err)
		return exitError
	}
	defer b.Close()

	// Collect until the timeout (or Ctrl-C): Events closes when the
	// browser stops.
	enc := json.NewEncoder(c.Stdout)
	for ev := range b.Events() {
		if !*jsonOut {
			continue
		}
		event := "room"
		if ev.Kind == discovery.Removed {
			event = "removed"
		}
		if err := enc.Encode(newDiscoveredRoom(event, ev.Entry)); err != nil {
			fmt.Fprintln(c.Stderr, "parley discover:", err)
			return exitError
		}
	}
	rooms := b.Rooms()
	if len(rooms) == 0 {
		fmt.Fprintln(c.Stderr, "No meetings found on this network.")
		return exitOK
	}
	if !*jsonOut {
		if err := printRoomTable(c.Stdout, rooms); err != nil {
			fmt.Fprintln(c.Stderr, "parley discover:", err)
			return exitError
		}
	}
	return exitOK
}

func printRoomTable(w io.Writer, rooms []discovery.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tHOST\tPEOPLE\tACCESS\tURL")
	for _, e := range rooms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Instance, orDash(e.Room.Host),
			strconv.Itoa(e.Room.Participants), access(e.Room), e.URL)
	}
	return tw.Flush()
}

// access says what joining takes, the way the lobby's icons do.
func access(r discovery.Room) string {
	switch {
	case r.Locked && r.Password:
		return "locked, password"
	case r.Locked:
		return "locked"
	case r.Password && r.Lobby:
		return "password, waiting room"
	case r.Password:
		return "password"
	case r.Lobby:
		return "waiting room"
	}
	return "open"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
