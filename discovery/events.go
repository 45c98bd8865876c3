package discovery

import (
	"context"
	"net/netip"
	"slices"
	"sync"
)

// Entry is a room found on the network.
type Entry struct {
	// ID identifies the room across updates: its certificate fingerprint
	// and instance name. Two hosts never share it; one room seen on two
	// interfaces or over IPv4 and IPv6 has one.
	ID string `json:"id"`
	// Instance is the room's unique name on the network, sanitised: what a
	// lobby shows. It is Room.Name, or "Room.Name (2)" and so on.
	Instance string `json:"instance"`
	// Room is what the host says about the room, sanitised.
	Room Room `json:"room"`
	// Addrs are the host's addresses, best first (IPv4, then routable
	// IPv6, then link-local ones with their zone).
	Addrs []netip.Addr `json:"addrs"`
	// URL is a ready-to-use invite link to Addrs[0].
	URL string `json:"url"`
	// Interfaces are the local interfaces the room was seen on.
	Interfaces []string `json:"interfaces"`
}

// clone copies the slices, so that what a consumer holds never shares
// memory with the browser's own list.
func (e Entry) clone() Entry {
	e.Addrs = slices.Clone(e.Addrs)
	e.Interfaces = slices.Clone(e.Interfaces)
	return e
}

func (e Entry) equal(o Entry) bool {
	return e.ID == o.ID && e.Instance == o.Instance && e.Room == o.Room && e.URL == o.URL &&
		slices.Equal(e.Addrs, o.Addrs) && slices.Equal(e.Interfaces, o.Interfaces)
}

// EventKind says what happened to a room.
type EventKind int

const (
	// Added: the room appeared.
	Added EventKind = iota + 1
	// Updated: something about the room changed (participants, lock,
	// addresses…).
	Updated
	// Removed: the room ended (goodbye) or expired.
	Removed
)

func (k EventKind) String() string {
	switch k {
	case Added:
		return "added"
	case Updated:
		return "updated"
	case Removed:
		return "removed"
	}
	return "unknown"
}

// MarshalText makes events readable in JSON and logs.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event is one change to the list of rooms. For Removed, Entry is the room
// as it was last seen.
type Event struct {
	Kind  EventKind `json:"kind"`
	Entry Entry     `json:"entry"`
}

// eventQueue hands events to a consumer without ever blocking the
// browser: while the consumer is slow, events for the same room are
// merged, so the queue holds at most one event per room and the consumer
// always ends up with the current list.
type eventQueue struct {
	mu      sync.Mutex
	order   []string // IDs in first-pending order; may hold stale IDs
	pending map[string]Event
	signal  chan struct{}
}

func newEventQueue() *eventQueue {
	return &eventQueue{pending: make(map[string]Event), signal: make(chan struct{}, 1)}
}

func (q *eventQueue) push(ev Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	id := ev.Entry.ID
	prev, ok := q.pending[id]
	switch {
	case !ok:
		q.pending[id] = ev
		q.order = append(q.order, id)
	case prev.Kind == Added && ev.Kind == Removed:
		// The consumer never heard of it.
		delete(q.pending, id)
	case prev.Kind == Added:
		q.pending[id] = Event{Kind: Added, Entry: ev.Entry}
	case prev.Kind == Removed && ev.Kind == Added:
		// The consumer still has the old one: replace it.
		q.pending[id] = Event{Kind: Updated, Entry: ev.Entry}
	default:
		q.pending[id] = ev
	}
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns the pending events in order and empties the queue.
func (q *eventQueue) take() []Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Event, 0, len(q.pending))
	for _, id := range q.order {
		if ev, ok := q.pending[id]; ok {
			out = append(out, ev)
			delete(q.pending, id)
		}
	}
	q.order = q.order[:0]
	return out
}

// deliver sends queued events to out until ctx ends, then closes out.
func (q *eventQueue) deliver(ctx context.Context, out chan<- Event) {
	defer close(out)
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.signal:
		}
		for _, ev := range q.take() {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}
}
