package discovery

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"
)

const (
	// Browse queries go out at once, then after 1 s, 2 s, 4 s … up to
	// maxBrowseInterval, and continue for as long as the browser runs
	// (RFC 6762 §5.2). Known-answer lists keep the replies to the rooms
	// we do not know yet.
	firstBrowseInterval = time.Second
	maxBrowseInterval   = time.Minute
	// resolveInterval is the first gap between queries for the missing
	// part of a room (SRV, TXT or addresses that did not come with its
	// PTR); it doubles with each unanswered query.
	resolveInterval = time.Second
	// maxWarned bounds the set of rooms we already logged as invalid.
	maxWarned = 256
)

// BrowseOptions tunes Browse. The zero value browses on DefaultInterfaces
// for rooms of protocol version 1.
type BrowseOptions struct {
	// Interfaces to browse on; nil means DefaultInterfaces.
	Interfaces []net.Interface
	// ProtocolVersions are the versions (TXT v=) this client can join;
	// rooms of other versions are ignored. nil means []int{1}; the app
	// passes its signaling protocol version.
	ProtocolVersions []int
	// Logger receives why rooms were ignored; nil means slog.Default().
	Logger *slog.Logger
}

// Browser keeps a live list of the rooms on the network.
type Browser struct {
	log      *slog.Logger
	conn     *mconn
	ifNames  map[int]string
	versions []int
	queue    *eventQueue
	events   chan Event

	mu    sync.Mutex
	rooms map[string]Entry

	cancel context.CancelFunc
	done   chan struct{}
}

// Browse starts browsing and returns at once; the first rooms typically
// arrive within a fraction of a second. It stops when ctx is cancelled or
// Close is called.
func Browse(ctx context.Context, opts BrowseOptions) (*Browser, error) {
	ifaces := opts.Interfaces
	if ifaces == nil {
		var err error
		if ifaces, err = DefaultInterfaces(); err != nil {
			return nil, fmt.Errorf("browse: %w", err)
		}
	}
	if len(ifaces) == 0 {
		return nil, fmt.Errorf("browse: no network interface is up and multicast-capable")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	versions := opts.ProtocolVersions
	if versions == nil {
		versions = []int{1}
	}
	conn, err := listenMulticast(ctx, ifaces, log)
	if err != nil {
		return nil, fmt.Errorf("browse: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	b := &Browser{
		log:      log,
		conn:     conn,
		ifNames:  make(map[int]string, len(ifaces)),
		versions: slices.Clone(versions),
		queue:    newEventQueue(),
		events:   make(chan Event, 16),
		rooms:    make(map[string]Entry),
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	for _, ifi := range ifaces {
		b.ifNames[ifi.Index] = ifi.Name
	}
	go b.run(ctx)
	return b, nil
}

// Events delivers Added, Updated and Removed as the list changes. The
// browser never waits for the consumer: while it is slow, events for one
// room are merged. The channel is closed when browsing stops.
func (b *Browser) Events() <-chan Event { return b.events }

// Rooms returns the current list, sorted by instance name.
func (b *Browser) Rooms() []Entry {
	b.mu.Lock()
	out := make([]Entry, 0, len(b.rooms))
	for _, e := range b.rooms {
		out = append(out, e.clone())
	}
	b.mu.Unlock()
	slices.SortFunc(out, func(x, y Entry) int {
		return cmp.Or(cmp.Compare(x.Instance, y.Instance), cmp.Compare(x.ID, y.ID))
	})
	return out
}

// Close stops browsing and waits for the browser's goroutines; Events is
// closed by then. It is safe to call more than once.
func (b *Browser) Close() error {
	b.cancel()
	<-b.done
	return nil
}

// browseState is what the browser's loop owns.
type browseState struct {
	cache    *cache
	warned   map[string]bool  // "instance\x00reason" already logged
	asked    map[string]asked // resolve questions sent
	interval time.Duration
	nextQ    time.Time
}

// asked records resolve queries for one record: a responder that never
// answers them is asked again after 1 s, 2 s, 4 s … up to about a minute.
type asked struct {
	at time.Time
	n  int
}

func (b *Browser) run(ctx context.Context) {
	defer close(b.done)
	packets := make(chan packet, 16)
	var wg sync.WaitGroup
	wg.Go(func() { b.conn.run(ctx, packets) })
	wg.Go(func() { b.queue.deliver(ctx, b.events) })
	defer func() {
		b.cancel()
		b.conn.close()
		wg.Wait()
	}()

	st := &browseState{
		cache:    newCache(maxCacheRecords),
		warned:   make(map[string]bool),
		asked:    make(map[string]asked),
		interval: firstBrowseInterval,
		nextQ:    time.Now(),
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := time.Now()
		changed := st.cache.expire(now)
		questions := st.cache.refreshes(now)
		browse := !now.Before(st.nextQ)
		if browse {
			st.nextQ = now.Add(st.interval)
			st.interval = min(st.interval*2, maxBrowseInterval)
		}
		if changed || browse {
			// Re-assembling after a browse query also retries rooms that
			// are missing a record.
			b.publish(st, now, questions)
		}
		b.query(st, now, questions, browse)

		next := st.nextQ
		if d := st.cache.nextDeadline(); !d.IsZero() && d.Before(next) {
			next = d
		}
		timer.Reset(next.Sub(now))

		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case p := <-packets:
			now := time.Now()
			dropped := st.cache.dropped
			if st.cache.add(p.msg, p.ifIndex, now, rand.Float64()*0.02) {
				// Ask at once for whatever this packet left incomplete.
				questions := make(map[int][]dns.Question)
				b.publish(st, now, questions)
				b.query(st, now, questions, false)
			}
			if dropped == 0 && st.cache.dropped > 0 {
				b.log.Warn("too many mDNS records on the network; ignoring new ones", "limit", maxCacheRecords)
			}
		}
	}
}

// publish recomputes the room list, emits the differences, logs rooms it
// must ignore (once each) and adds to questions the queries for rooms that
// are missing a record, backing off for records nobody supplies.
func (b *Browser) publish(st *browseState, now time.Time, questions map[int][]dns.Question) {
	v := st.cache.assemble(b.ifNames, b.versions)
	for _, p := range v.problems {
		key := p.instance + "\x00" + p.reason
		if st.warned[key] {
			continue
		}
		if len(st.warned) >= maxWarned {
			clear(st.warned)
		}
		st.warned[key] = true
		b.log.Warn("ignoring room advertised on the network", "instance", p.instance, "reason", p.reason)
	}
	for idx, qs := range v.missing {
		for _, q := range qs {
			key := fmt.Sprint(idx, "\x00", asciiLower(q.Name), "\x00", q.Qtype)
			a := st.asked[key]
			if a.n > 0 && now.Sub(a.at) < resolveInterval<<min(a.n-1, 6) {
				continue
			}
			st.asked[key] = asked{at: now, n: a.n + 1}
			questions[idx] = append(questions[idx], q)
		}
	}
	for key, a := range st.asked {
		if now.Sub(a.at) > 5*time.Minute {
			delete(st.asked, key)
		}
	}

	b.mu.Lock()
	old := b.rooms
	b.rooms = v.entries
	b.mu.Unlock()

	var events []Event
	for id, e := range v.entries {
		if prev, ok := old[id]; !ok {
			events = append(events, Event{Kind: Added, Entry: e})
		} else if !prev.equal(e) {
			events = append(events, Event{Kind: Updated, Entry: e})
		}
	}
	for id, e := range old {
		if _, ok := v.entries[id]; !ok {
			events = append(events, Event{Kind: Removed, Entry: e})
		}
	}
	slices.SortFunc(events, func(x, y Event) int { return cmp.Compare(x.Entry.ID, y.Entry.ID) })
	for _, ev := range events {
		b.log.Debug("room "+ev.Kind.String(), "instance", ev.Entry.Instance, "url", ev.Entry.URL)
		ev.Entry = ev.Entry.clone()
		b.queue.push(ev)
	}
}

// query sends, per interface, one message with the browse question (when
// browse is set, with known answers) and any refresh or resolve questions.
func (b *Browser) query(st *browseState, now time.Time, questions map[int][]dns.Question, browse bool) {
	for idx := range b.ifNames {
		qs := questions[idx]
		if !browse && len(qs) == 0 {
			continue
		}
		msg := new(dns.Msg)
		msg.Compress = true
		if browse && !slices.ContainsFunc(qs, func(q dns.Question) bool {
			return q.Qtype == dns.TypePTR && asciiLower(q.Name) == serviceName
		}) {
			qs = append(qs, dns.Question{Name: serviceName, Qtype: dns.TypePTR, Qclass: dns.ClassINET})
		}
		msg.Question = qs
		for _, q := range qs {
			if q.Qtype == dns.TypePTR && asciiLower(q.Name) == serviceName {
				msg.Answer = st.cache.knownAnswers(idx, now)
				break
			}
		}
		for _, v6 := range []bool{false, true} {
			if err := b.conn.sendMulticast(msg, idx, v6); err != nil {
				b.log.Debug("mDNS query failed", "err", err)
			}
		}
	}
}
