package discovery

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/miekg/dns"
)

const (
	// maxCacheTTL caps what a responder may ask us to remember: RFC 6762
	// recommends 75 minutes for the longest-lived records.
	maxCacheTTL = 75 * time.Minute
	// maxCacheRecords bounds memory against a host that announces
	// thousands of rooms; a real LAN has a handful.
	maxCacheRecords = 4096
	// flushGrace is how long records survive a cache-flush from a newer
	// packet (RFC 6762 §10.2), in case they were part of the same burst.
	flushGrace = time.Second
	// refreshQueries is how many times a record is re-queried before it
	// expires, at 80, 85, 90 and 95 % of its TTL (RFC 6762 §5.2).
	refreshQueries = 4
)

// rrKey identifies a cached record. SRV and TXT records are unique per
// instance name (RFC 6763 §6), so their key has no data and a new one
// replaces the old; PTR and address records form sets, keyed by value.
type rrKey struct {
	ifIndex int
	name    string // asciiLower of the presentation name
	rrtype  uint16
	data    string
}

type cachedRR struct {
	rr       dns.RR
	received time.Time
	ttl      time.Duration
	jitter   float64 // 0–2 % of TTL added to refresh times (RFC 6762 §5.2)
	queries  int     // refresh queries sent since received
}

func (c *cachedRR) expires() time.Time { return c.received.Add(c.ttl) }

func (c *cachedRR) nextRefresh() (time.Time, bool) {
	if c.queries >= refreshQueries {
		return time.Time{}, false
	}
	frac := 0.80 + 0.05*float64(c.queries) + c.jitter
	return c.received.Add(time.Duration(frac * float64(c.ttl))), true
}

// cache holds the mDNS records a browser cares about, per interface. It
// does no I/O and takes the time as an argument, so its rules are tested
// without a network or a clock.
type cache struct {
	records map[rrKey]*cachedRR
	limit   int
	dropped int // records refused because the cache was full
}

func newCache(limit int) *cache {
	return &cache{records: make(map[rrKey]*cachedRR), limit: limit}
}

// add takes the records of a received response and reports whether the
// set of rooms may have changed. Only records that can be part of a room
// are kept: PTRs of our service, SRV and TXT of its instances, and
// addresses of hosts those SRVs name.
func (c *cache) add(msg *dns.Msg, ifIndex int, now time.Time, jitter float64) bool {
	if !msg.Response || msg.Opcode != dns.OpcodeQuery || msg.Rcode != dns.RcodeSuccess {
		return false
	}
	rrs := make([]dns.RR, 0, len(msg.Answer)+len(msg.Extra))
	rrs = append(append(rrs, msg.Answer...), msg.Extra...)
	changed := false
	hasAddrs := false
	for _, rr := range rrs {
		h := rr.Header()
		if h.Class&^cacheFlush != dns.ClassINET {
			continue
		}
		name := asciiLower(h.Name)
		switch v := rr.(type) {
		case *dns.PTR:
			if name != serviceName {
				continue
			}
			if _, ok := instanceOf(v.Ptr); ok {
				changed = c.put(rrKey{ifIndex, name, dns.TypePTR, asciiLower(v.Ptr)}, rr, now, jitter) || changed
			}
		case *dns.SRV, *dns.TXT:
			if _, ok := instanceOf(h.Name); ok {
				changed = c.put(rrKey{ifIndex, name, h.Rrtype, ""}, rr, now, jitter) || changed
			}
		case *dns.A, *dns.AAAA:
			hasAddrs = true
		}
	}
	if !hasAddrs {
		return changed
	}
	// Targets named in this packet count too: a goodbye has just removed
	// its SRV, and its addresses must go with it.
	targets := c.targets(ifIndex)
	for _, rr := range rrs {
		if srv, ok := rr.(*dns.SRV); ok {
			if _, ok := instanceOf(srv.Hdr.Name); ok {
				targets[asciiLower(srv.Target)] = true
			}
		}
	}
	flushed := make(map[rrKey]bool)
	for _, rr := range rrs {
		h := rr.Header()
		name := asciiLower(h.Name)
		if h.Class&^cacheFlush != dns.ClassINET || !targets[name] {
			continue
		}
		var ip []byte
		switch v := rr.(type) {
		case *dns.A:
			ip = v.A
		case *dns.AAAA:
			ip = v.AAAA
		default:
			continue
		}
		addr, ok := netip.AddrFromSlice(ip)
		if !ok || !usableAddr(addr.Unmap()) {
			continue
		}
		set := rrKey{ifIndex: ifIndex, name: name, rrtype: h.Rrtype}
		if h.Class&cacheFlush != 0 && !flushed[set] {
			flushed[set] = true
			changed = c.flush(set, now) || changed
		}
		set.data = addr.Unmap().String()
		changed = c.put(set, rr, now, jitter) || changed
	}
	return changed
}

// targets returns the SRV targets cached for an interface.
func (c *cache) targets(ifIndex int) map[string]bool {
	out := make(map[string]bool)
	for k, r := range c.records {
		if k.ifIndex == ifIndex && k.rrtype == dns.TypeSRV {
			out[asciiLower(r.rr.(*dns.SRV).Target)] = true
		}
	}
	return out
}

// flush makes the records of one name and type that are older than
// flushGrace expire flushGrace from now: a cache-flush record says they
// are no longer all there is.
func (c *cache) flush(set rrKey, now time.Time) bool {
	changed := false
	for k, r := range c.records {
		if k.ifIndex != set.ifIndex || k.name != set.name || k.rrtype != set.rrtype {
			continue
		}
		if now.Sub(r.received) > flushGrace && r.expires().After(now.Add(flushGrace)) {
			r.ttl = now.Add(flushGrace).Sub(r.received)
			r.queries = refreshQueries // dying: do not re-query
			changed = true
		}
	}
	return changed
}

// put stores or refreshes one record; TTL 0 is a goodbye and removes it.
func (c *cache) put(key rrKey, rr dns.RR, now time.Time, jitter float64) bool {
	ttl := rr.Header().Ttl
	old, ok := c.records[key]
	if ttl == 0 {
		if ok {
			delete(c.records, key)
		}
		return ok
	}
	if !ok && len(c.records) >= c.limit {
		c.dropped++
		return false
	}
	c.records[key] = &cachedRR{
		rr:       rr,
		received: now,
		ttl:      min(time.Duration(ttl)*time.Second, maxCacheTTL),
		jitter:   jitter,
	}
	return !ok || !sameData(old.rr, rr)
}

// sameData compares what a record says, ignoring TTL and class bits.
func sameData(a, b dns.RR) bool {
	switch x := a.(type) {
	case *dns.SRV:
		y, ok := b.(*dns.SRV)
		return ok && x.Port == y.Port && asciiLower(x.Target) == asciiLower(y.Target)
	case *dns.TXT:
		y, ok := b.(*dns.TXT)
		return ok && slices.Equal(x.Txt, y.Txt)
	}
	// PTR and address keys contain their data.
	return true
}

// expire removes records whose TTL ran out and reports whether any did.
func (c *cache) expire(now time.Time) bool {
	changed := false
	for k, r := range c.records {
		if !now.Before(r.expires()) {
			delete(c.records, k)
			changed = true
		}
	}
	return changed
}

// refreshes returns, per interface, the questions for records due for a
// refresh query, and counts those queries as sent.
func (c *cache) refreshes(now time.Time) map[int][]dns.Question {
	out := make(map[int][]dns.Question)
	for k, r := range c.records {
		at, ok := r.nextRefresh()
		if !ok || now.Before(at) {
			continue
		}
		// Count every step that is due, so a stalled loop does not fire
		// a burst of queries for one record.
		for ok && !now.Before(at) {
			r.queries++
			at, ok = r.nextRefresh()
		}
		q := dns.Question{Name: r.rr.Header().Name, Qtype: k.rrtype, Qclass: dns.ClassINET}
		if !slices.ContainsFunc(out[k.ifIndex], func(o dns.Question) bool {
			return o.Qtype == q.Qtype && asciiLower(o.Name) == k.name
		}) {
			out[k.ifIndex] = append(out[k.ifIndex], q)
		}
	}
	return out
}

// nextDeadline returns when the cache next needs attention (an expiry or
// a refresh query), or the zero time if it is empty.
func (c *cache) nextDeadline() time.Time {
	var next time.Time
	for _, r := range c.records {
		t := r.expires()
		if at, ok := r.nextRefresh(); ok && at.Before(t) {
			t = at
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

// knownAnswers returns the PTRs we hold for ifIndex with more than half
// their TTL left, to list in a browse query so their owners stay quiet
// (RFC 6762 §7.1).
func (c *cache) knownAnswers(ifIndex int, now time.Time) []dns.RR {
	var out []dns.RR
	for k, r := range c.records {
		if k.ifIndex != ifIndex || k.rrtype != dns.TypePTR {
			continue
		}
		left := r.expires().Sub(now)
		if left <= r.ttl/2 {
			continue
		}
		ptr := *r.rr.(*dns.PTR)
		ptr.Hdr.Ttl = uint32(left / time.Second)
		ptr.Hdr.Class = dns.ClassINET
		out = append(out, &ptr)
	}
	// Sorted so that queries are reproducible.
	slices.SortFunc(out, func(a, b dns.RR) int { return cmp.Compare(a.(*dns.PTR).Ptr, b.(*dns.PTR).Ptr) })
	return out
}

// problem is a room we cannot list, and why.
type problem struct {
	instance string // sanitised, for the log
	reason   string
}

// view is what the cache currently says about rooms.
type view struct {
	entries map[string]Entry
	// problems are rooms with invalid records.
	problems []problem
	// missing are records needed to complete a room (SRV and TXT of an
	// instance, addresses of a host), per interface: worth a query.
	missing map[int][]dns.Question
}

// assemble joins the cached records into rooms: PTR → SRV and TXT → the
// target's addresses. The same room seen on several interfaces or over
// both address families is one Entry, keyed by fingerprint and name.
// ifNames maps interface indexes to names (for IPv6 zones), versions are
// the protocol versions we can join.
func (c *cache) assemble(ifNames map[int]string, versions []int) view {
	type nameKey struct {
		ifIndex int
		name    string
	}
	srvs := make(map[nameKey]*cachedRR)
	txts := make(map[nameKey]*cachedRR)
	addrs := make(map[nameKey][]netip.Addr)
	var ptrs []rrKey
	for k, r := range c.records {
		nk := nameKey{k.ifIndex, k.name}
		switch k.rrtype {
		case dns.TypePTR:
			ptrs = append(ptrs, k)
		case dns.TypeSRV:
			srvs[nk] = r
		case dns.TypeTXT:
			txts[nk] = r
		case dns.TypeA, dns.TypeAAAA:
			if a, err := netip.ParseAddr(k.data); err == nil {
				if a.Is6() && a.IsLinkLocalUnicast() {
					a = a.WithZone(ifNames[k.ifIndex])
				}
				addrs[nk] = append(addrs[nk], a)
			}
		}
	}
	// Interface order decides ties below, so iterate deterministically.
	slices.SortFunc(ptrs, func(a, b rrKey) int {
		return cmp.Or(cmp.Compare(a.ifIndex, b.ifIndex), cmp.Compare(a.data, b.data))
	})

	v := view{entries: make(map[string]Entry), missing: make(map[int][]dns.Question)}
	txtTime := make(map[string]time.Time) // when the TXT an entry uses arrived
	for _, pk := range ptrs {
		target := c.records[pk].rr.(*dns.PTR).Ptr
		raw, _ := instanceOf(target)
		instance := cleanText(raw, MaxNameRunes)
		nk := nameKey{pk.ifIndex, pk.data}
		srv, txt := srvs[nk], txts[nk]
		if srv == nil || txt == nil {
			v.missing[pk.ifIndex] = append(v.missing[pk.ifIndex],
				dns.Question{Name: target, Qtype: dns.TypeSRV, Qclass: dns.ClassINET},
				dns.Question{Name: target, Qtype: dns.TypeTXT, Qclass: dns.ClassINET})
			continue
		}
		srvRR := srv.rr.(*dns.SRV)
		hostAddrs := addrs[nameKey{pk.ifIndex, asciiLower(srvRR.Target)}]
		if len(hostAddrs) == 0 {
			v.missing[pk.ifIndex] = append(v.missing[pk.ifIndex],
				dns.Question{Name: srvRR.Target, Qtype: dns.TypeA, Qclass: dns.ClassINET},
				dns.Question{Name: srvRR.Target, Qtype: dns.TypeAAAA, Qclass: dns.ClassINET})
			continue
		}
		if instance == "" {
			v.problems = append(v.problems, problem{"", "instance name is empty once sanitised"})
			continue
		}
		room, err := decodeTXTRecord(txt.rr.(*dns.TXT), versions)
		if err != nil {
			v.problems = append(v.problems, problem{instance, err.Error()})
			continue
		}
		if int(srvRR.Port) != room.Port {
			v.problems = append(v.problems, problem{instance,
				fmt.Sprintf("SRV port %d differs from TXT port=%d", srvRR.Port, room.Port)})
			continue
		}
		if room.Name == "" {
			room.Name = instance
		}
		id := room.Fingerprint + " " + instance
		e, seen := v.entries[id]
		if !seen || txt.received.After(txtTime[id]) {
			e.Room = room
			txtTime[id] = txt.received
		}
		e.ID, e.Instance = id, instance
		e.Addrs = append(e.Addrs, hostAddrs...)
		if name := ifNames[pk.ifIndex]; !slices.Contains(e.Interfaces, name) {
			e.Interfaces = append(e.Interfaces, name)
		}
		v.entries[id] = e
	}
	for id, e := range v.entries {
		sortAddrs(e.Addrs)
		e.Addrs = slices.Compact(e.Addrs)
		slices.Sort(e.Interfaces)
		e.URL = InviteURL(e.Addrs[0], e.Room.Port, e.Room.Path, e.Room.Fingerprint)
		v.entries[id] = e
	}
	return v
}

// decodeTXTRecord turns a received TXT record (presentation format, as
// miekg/dns unpacks it) into a Room.
func decodeTXTRecord(t *dns.TXT, versions []int) (Room, error) {
	if len(t.Txt) > maxTXTStrings {
		return Room{}, fmt.Errorf("TXT record has %d strings, the limit is %d", len(t.Txt), maxTXTStrings)
	}
	raw := make([]string, len(t.Txt))
	for i, s := range t.Txt {
		r, _, err := unescape(s, false)
		if err != nil {
			return Room{}, fmt.Errorf("TXT string %d: %w", i, err)
		}
		raw[i] = r
	}
	return decodeTXT(raw, versions)
}
