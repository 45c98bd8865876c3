package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"
)

// DefaultTTL is how long other hosts keep a room listed after its host
// stops answering (a crash): long enough not to flood the LAN with
// refreshes, short enough that dead rooms leave lobbies within minutes.
const DefaultTTL = 120 * time.Second

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("discovery: advertiser closed")

const (
	probeCount    = 3
	probeInterval = 250 * time.Millisecond
	// maxNameAttempts bounds "Name (2)" … "Name (32)"; a LAN with that many
	// same-named rooms is a loop, not a meeting.
	maxNameAttempts = 32
	// minReplyInterval bounds multicast answers per interface and family.
	// RFC 6762 §6 asks for one second between repeats of a record; a
	// quarter of that still keeps a room to four sub-kilobyte packets a
	// second under any query load, and lets a lobby opened just after
	// another one fill within a second instead of waiting out the limit.
	minReplyInterval = 250 * time.Millisecond
	// goodbyeRepeat is the gap between the two goodbye packets: a second
	// copy covers one lost packet for a fraction of Close's time.
	goodbyeRepeat = 100 * time.Millisecond
)

// AdvertiseOptions tunes Advertise. The zero value advertises on
// DefaultInterfaces with DefaultTTL.
type AdvertiseOptions struct {
	// Interfaces to advertise on; nil means DefaultInterfaces.
	Interfaces []net.Interface
	// TTL of the records, rounded up to whole seconds; 0 means DefaultTTL.
	TTL time.Duration
	// Logger receives what happened to the advertisement; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Advertiser keeps one room advertised until Close.
type Advertiser struct {
	log      *slog.Logger
	conn     *mconn
	base     string // the room's normalised name
	instance string // the claimed instance name; set before Advertise returns

	mu      sync.Mutex
	pending *Room // latest Update the loop has not taken yet
	closed  bool
	wake    chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// Advertise claims a unique instance name for room on the network (probing
// takes about a second; see the package documentation) and then answers
// queries for it until Close is called or ctx is cancelled; both send a
// goodbye so the room vanishes from other lobbies at once.
func Advertise(ctx context.Context, room Room, opts AdvertiseOptions) (*Advertiser, error) {
	r, err := room.normalize()
	if err != nil {
		return nil, fmt.Errorf("advertise room: %w", err)
	}
	ifaces := opts.Interfaces
	if ifaces == nil {
		if ifaces, err = DefaultInterfaces(); err != nil {
			return nil, fmt.Errorf("advertise room %q: %w", r.Name, err)
		}
	}
	if len(ifaces) == 0 {
		return nil, fmt.Errorf("advertise room %q: no network interface is up and multicast-capable", r.Name)
	}
	ttl := opts.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	host, err := randomHostName()
	if err != nil {
		return nil, fmt.Errorf("advertise room %q: %w", r.Name, err)
	}
	conn, err := listenMulticast(ctx, ifaces, log)
	if err != nil {
		return nil, fmt.Errorf("advertise room %q: %w", r.Name, err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	a := &Advertiser{
		log:    log.With("room", r.Name),
		conn:   conn,
		base:   r.Name,
		wake:   make(chan struct{}, 1),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	svc := &service{
		host: host,
		port: uint16(r.Port),
		ttl:  uint32(math.Ceil(min(ttl, 24*time.Hour).Seconds())),
	}
	svc.setTXT(encodeTXT(r))
	claimed := make(chan claimResult, 1)
	go a.run(runCtx, svc, claimed)

	select {
	case c := <-claimed:
		if c.err != nil {
			a.Close()
			return nil, fmt.Errorf("advertise room %q: %w", r.Name, c.err)
		}
		a.instance = c.name
		return a, nil
	case <-ctx.Done():
		a.Close()
		return nil, fmt.Errorf("advertise room %q: %w", r.Name, ctx.Err())
	}
}

// Instance returns the instance name the room is advertised under: the
// room's name, or "Name (2)" and so on when another host had it first.
func (a *Advertiser) Instance() string { return a.instance }

// Update publishes new room details (participant count, lock, password…)
// to browsers at once. The name cannot change: Close and Advertise again.
func (a *Advertiser) Update(room Room) error {
	r, err := room.normalize()
	if err != nil {
		return fmt.Errorf("update room: %w", err)
	}
	if r.Name != a.base {
		return fmt.Errorf("update room %q: cannot rename to %q; close and advertise again", a.base, r.Name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	a.pending = &r
	select {
	case a.wake <- struct{}{}:
	default: // a wake-up is already pending; it will take the latest room
	}
	return nil
}

// Close sends the goodbye and stops answering. It waits for the
// advertiser's goroutines and is safe to call more than once.
func (a *Advertiser) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	<-a.done
	return nil
}

// claimResult is the outcome of probing: the instance name we own, or
// why there is none.
type claimResult struct {
	name string
	err  error
}

// run owns the sockets and the service: it probes for a name, reports the
// outcome on claimed, then answers and announces until ctx ends, and
// finally says goodbye.
func (a *Advertiser) run(ctx context.Context, svc *service, claimed chan<- claimResult) {
	defer close(a.done)
	ctx, cancel := context.WithCancel(ctx)
	packets := make(chan packet, 16)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		a.conn.run(ctx, packets)
	}()
	defer func() {
		// Cancel first: a reader blocked delivering a packet must not
		// wait for a loop that has returned.
		cancel()
		a.conn.close()
		<-readDone
	}()

	name, err := a.claim(ctx, svc, packets)
	claimed <- claimResult{name, err}
	if err != nil {
		return
	}
	a.log.Info("advertising room", "instance", name, "port", svc.port, "ttl", svc.ttl)
	a.serve(ctx, svc, packets)

	// Goodbye twice: a lost goodbye would leave the room listed for a TTL.
	a.conn.sendAllPerInterface(svc.goodbye)
	time.Sleep(goodbyeRepeat)
	a.conn.sendAllPerInterface(svc.goodbye)
	a.log.Info("stopped advertising room", "instance", name)
}

// claim probes for base, "base (2)", … until one is free (RFC 6762 §8.1,
// §8.2).
func (a *Advertiser) claim(ctx context.Context, svc *service, packets <-chan packet) (string, error) {
	attempt := 1
	name := uniqueName(a.base, attempt)
	if err := setInstance(svc, name); err != nil {
		return "", err
	}
	sent := 0
	// A random first delay keeps hosts that start together (after a power
	// cut, say) from probing in lockstep.
	timer := time.NewTimer(rand.N(probeInterval))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case p := <-packets:
			switch {
			case svc.conflicts(p.msg):
				attempt++
				if attempt > maxNameAttempts {
					return "", fmt.Errorf("no free instance name after %d attempts", maxNameAttempts)
				}
				taken := name
				name = uniqueName(a.base, attempt)
				if err := setInstance(svc, name); err != nil {
					return "", err
				}
				a.log.Info("room name taken on this network, trying another", "taken", taken, "next", name)
				sent = 0
				timer.Reset(0)
			case svc.tieBreak(p.msg) < 0:
				// Another host probed for the same name at the same time
				// and won; after a second its answers will tell us to
				// move on, or the name is ours after all.
				sent = 0
				timer.Reset(time.Second)
			}
		case <-timer.C:
			if sent == probeCount {
				return name, nil
			}
			a.conn.sendAll(svc.probe())
			sent++
			timer.Reset(probeInterval)
		}
	}
}

func setInstance(svc *service, name string) error {
	fqdn, err := instanceFQDN(name)
	if err != nil {
		return fmt.Errorf("instance name %q: %w", name, err)
	}
	svc.instance = fqdn
	return nil
}

// sendKey identifies where a multicast answer goes.
type sendKey struct {
	ifIndex int
	v6      bool
}

type pendingReply struct {
	at   time.Time
	want wants
}

// serve answers queries and sends announcements until ctx ends.
func (a *Advertiser) serve(ctx context.Context, svc *service, packets <-chan packet) {
	lastSent := make(map[sendKey]time.Time)
	replies := make(map[sendKey]*pendingReply)
	// RFC 6762 §8.3: announce at least twice, a second apart.
	now := time.Now()
	announce := []time.Time{now, now.Add(time.Second)}
	var lastAnnounce time.Time

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := time.Now()
		if len(announce) > 0 && !now.Before(announce[0]) {
			announce = announce[1:]
			a.conn.sendAllPerInterface(svc.announcement)
			lastAnnounce = now
			for idx := range a.conn.ifaces {
				lastSent[sendKey{idx, false}] = now
				lastSent[sendKey{idx, true}] = now
			}
		}
		for key, r := range replies {
			if now.Before(r.at) {
				continue
			}
			delete(replies, key)
			a.reply(svc, key, r.want)
			lastSent[key] = now
		}

		next := now.Add(time.Hour)
		if len(announce) > 0 {
			next = announce[0]
		}
		for _, r := range replies {
			if r.at.Before(next) {
				next = r.at
			}
		}
		timer.Reset(next.Sub(now))

		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-a.wake:
			if a.applyUpdate(svc) {
				// Coalesce bursts (people joining together) into one
				// announcement, repeated once a second later.
				first := later(now, lastAnnounce.Add(minReplyInterval))
				announce = []time.Time{first, first.Add(time.Second)}
			}
		case p := <-packets:
			want, probe := svc.match(p.msg)
			if want == 0 {
				continue
			}
			key := sendKey{p.ifIndex, p.v6}
			switch {
			case p.src.Port() != mdnsPort:
				// A one-shot resolver (dig, nslookup) listening on its
				// own port: answer it directly (RFC 6762 §6.7).
				resp := svc.response(want, interfaceAddrs(a.conn.ifaces[p.ifIndex]), p.msg)
				if err := a.conn.sendUnicast(resp, p.src, p.v6); err != nil {
					a.log.Debug("legacy unicast answer failed", "err", err)
				}
			case probe:
				// Defend our name at once, whatever the rate limit.
				a.reply(svc, key, want)
				lastSent[key] = now
			default:
				at := now
				if want&(wantPTR|wantMeta) != 0 {
					// Shared records: wait 20–120 ms so answers from many
					// hosts do not collide (RFC 6762 §6).
					at = at.Add(20*time.Millisecond + rand.N(100*time.Millisecond))
				}
				if last, ok := lastSent[key]; ok {
					at = later(at, last.Add(minReplyInterval))
				}
				if r := replies[key]; r != nil {
					r.want |= want
				} else {
					replies[key] = &pendingReply{at: at, want: want}
				}
			}
		}
	}
}

// applyUpdate takes the latest Update into svc and reports whether the
// records changed.
func (a *Advertiser) applyUpdate(svc *service) bool {
	a.mu.Lock()
	r := a.pending
	a.pending = nil
	a.mu.Unlock()
	if r == nil {
		return false
	}
	old := slices.Clone(svc.txt)
	oldPort := svc.port
	svc.setTXT(encodeTXT(*r))
	svc.port = uint16(r.Port)
	return oldPort != svc.port || !slices.Equal(old, svc.txt)
}

func (a *Advertiser) reply(svc *service, key sendKey, want wants) {
	msg := svc.response(want, interfaceAddrs(a.conn.ifaces[key.ifIndex]), nil)
	if err := a.conn.sendMulticast(msg, key.ifIndex, key.v6); err != nil {
		a.log.Debug("mDNS answer failed", "err", err)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
