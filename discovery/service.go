package discovery

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"

	"github.com/miekg/dns"
)

// service is the set of records one advertiser owns, and the rules for
// answering queries about them. It does no I/O, so it is tested without a
// network.
type service struct {
	instance string // service instance name, canonical presentation form
	host     string // SRV target, "parley-<hex>.local."
	port     uint16
	txt      []string // presentation form, as miekg/dns wants it
	ttl      uint32
}

// wants is the set of records a query asks for.
type wants uint8

const (
	wantPTR wants = 1 << iota
	wantSRV
	wantTXT
	wantAddr
	wantMeta // the _services._dns-sd._udp enumeration PTR
	wantAll  = wantPTR | wantSRV | wantTXT | wantAddr
)

// cacheFlush is the top bit of the class of a unique record (RFC 6762
// §10.2): receivers replace what they had for that name and type.
const cacheFlush = 1 << 15

func (s *service) setTXT(raw []string) {
	s.txt = make([]string, len(raw))
	for i, t := range raw {
		s.txt[i] = escapeTXT(t)
	}
}

func hdr(name string, rrtype uint16, ttl uint32, flush bool) dns.RR_Header {
	class := uint16(dns.ClassINET)
	if flush {
		class |= cacheFlush
	}
	return dns.RR_Header{Name: name, Rrtype: rrtype, Class: class, Ttl: ttl}
}

func (s *service) ptr(ttl uint32) dns.RR {
	// PTR records are shared (many hosts own one each), so never
	// cache-flush.
	return &dns.PTR{Hdr: hdr(serviceName, dns.TypePTR, ttl, false), Ptr: s.instance}
}

func (s *service) srv(ttl uint32, flush bool) dns.RR {
	return &dns.SRV{Hdr: hdr(s.instance, dns.TypeSRV, ttl, flush), Port: s.port, Target: s.host}
}

func (s *service) txtRR(ttl uint32, flush bool) dns.RR {
	return &dns.TXT{Hdr: hdr(s.instance, dns.TypeTXT, ttl, flush), Txt: s.txt}
}

func (s *service) addrRRs(addrs []netip.Addr, ttl uint32, flush bool) []dns.RR {
	out := make([]dns.RR, 0, len(addrs))
	for _, a := range addrs {
		if a.Is4() {
			out = append(out, &dns.A{Hdr: hdr(s.host, dns.TypeA, ttl, flush), A: a.AsSlice()})
		} else {
			out = append(out, &dns.AAAA{Hdr: hdr(s.host, dns.TypeAAAA, ttl, flush), AAAA: a.WithZone("").AsSlice()})
		}
	}
	return out
}

func metaPTR(ttl uint32) dns.RR {
	return &dns.PTR{Hdr: hdr(servicesMeta, dns.TypePTR, ttl, false), Ptr: serviceName}
}

// response answers the records in w, adding what a browser needs next as
// additional records (RFC 6763 §12): a PTR answer brings SRV, TXT and
// addresses; an SRV answer brings addresses. query is non-nil for a legacy
// unicast reply (RFC 6762 §6.7), which echoes the ID and question, caps
// TTLs at 10 s and carries no cache-flush bits.
func (s *service) response(w wants, addrs []netip.Addr, query *dns.Msg) *dns.Msg {
	ttl, flush := s.ttl, true
	m := new(dns.Msg)
	if query != nil {
		ttl, flush = min(ttl, 10), false
		m.Id = query.Id
		m.Question = query.Question
	}
	m.Response = true
	m.Authoritative = true
	m.Compress = true
	add := func(asked bool, rrs ...dns.RR) {
		if asked {
			m.Answer = append(m.Answer, rrs...)
		} else {
			m.Extra = append(m.Extra, rrs...)
		}
	}
	if w&wantMeta != 0 {
		add(true, metaPTR(ttl))
	}
	if w&wantPTR != 0 {
		add(true, s.ptr(ttl))
	}
	if w&(wantPTR|wantSRV) != 0 {
		add(w&wantSRV != 0, s.srv(ttl, flush))
	}
	if w&(wantPTR|wantTXT) != 0 {
		add(w&wantTXT != 0, s.txtRR(ttl, flush))
	}
	if w&(wantPTR|wantSRV|wantAddr) != 0 {
		add(w&wantAddr != 0, s.addrRRs(addrs, ttl, flush)...)
	}
	return m
}

// announcement is the unsolicited response sent after claiming the name and
// after every change (RFC 6762 §8.3): everything, in the answer section.
func (s *service) announcement(addrs []netip.Addr) *dns.Msg {
	m := s.response(wantAll, addrs, nil)
	m.Answer = append(m.Answer, m.Extra...)
	m.Extra = nil
	return m
}

// goodbye is the announcement with TTL 0 (RFC 6762 §10.1): caches drop the
// records at once.
func (s *service) goodbye(addrs []netip.Addr) *dns.Msg {
	m := s.announcement(addrs)
	for _, rr := range m.Answer {
		rr.Header().Ttl = 0
	}
	return m
}

// probe asks whether anyone owns the instance name, proposing our records
// in the authority section (RFC 6762 §8.1).
func (s *service) probe() *dns.Msg {
	m := new(dns.Msg)
	m.Question = []dns.Question{{Name: s.instance, Qtype: dns.TypeANY, Qclass: dns.ClassINET}}
	m.Ns = []dns.RR{s.srv(s.ttl, false), s.txtRR(s.ttl, false)}
	m.Compress = true
	return m
}

// match reports which of our records a query asks for, and whether it is
// a probe for one of our names (to be defended at once). A PTR the querier
// already knows with at least half its TTL left is not repeated
// (known-answer suppression, RFC 6762 §7.1).
func (s *service) match(q *dns.Msg) (w wants, probe bool) {
	if q.Response || q.Opcode != dns.OpcodeQuery {
		return 0, false
	}
	instance, host := asciiLower(s.instance), asciiLower(s.host)
	for _, question := range q.Question {
		if c := question.Qclass &^ cacheFlush; c != dns.ClassINET && c != dns.ClassANY {
			continue
		}
		t := question.Qtype
		switch asciiLower(question.Name) {
		case serviceName:
			if t == dns.TypePTR || t == dns.TypeANY {
				w |= wantPTR
			}
		case instance:
			switch t {
			case dns.TypeSRV:
				w |= wantSRV
			case dns.TypeTXT:
				w |= wantTXT
			case dns.TypeANY:
				w |= wantSRV | wantTXT
			}
			probe = probe || len(q.Ns) > 0
		case host:
			if t == dns.TypeA || t == dns.TypeAAAA || t == dns.TypeANY {
				w |= wantAddr
			}
			probe = probe || len(q.Ns) > 0
		case servicesMeta:
			if t == dns.TypePTR || t == dns.TypeANY {
				w |= wantMeta
			}
		}
	}
	if w&wantPTR != 0 {
		for _, rr := range q.Answer {
			if p, ok := rr.(*dns.PTR); ok && asciiLower(p.Hdr.Name) == serviceName &&
				asciiLower(p.Ptr) == instance && p.Hdr.Ttl >= s.ttl/2 {
				w &^= wantPTR
			}
		}
	}
	return w, probe && w != 0
}

// conflicts reports whether a response claims our instance name with
// records that are not ours: someone else owns the name.
func (s *service) conflicts(m *dns.Msg) bool {
	if !m.Response {
		return false
	}
	instance := asciiLower(s.instance)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			if h.Ttl == 0 || asciiLower(h.Name) != instance {
				continue
			}
			switch v := rr.(type) {
			case *dns.SRV:
				if v.Port != s.port || asciiLower(v.Target) != asciiLower(s.host) {
					return true
				}
			case *dns.TXT:
				if !slices.Equal(v.Txt, s.txt) {
					return true
				}
			}
		}
	}
	return false
}

// tieBreak compares another host's probe for our name with ours (RFC 6762
// §8.2): records are sorted by class, type and raw rdata and compared in
// turn; the lexicographically later set wins. It returns a negative number
// if we lose, positive if we win, and 0 if the probe is not about our name
// or proposes exactly our records (it is our own, looped back).
func (s *service) tieBreak(m *dns.Msg) int {
	if m.Response {
		return 0
	}
	instance := asciiLower(s.instance)
	var theirs []dns.RR
	for _, rr := range m.Ns {
		if asciiLower(rr.Header().Name) == instance {
			theirs = append(theirs, rr)
		}
	}
	if len(theirs) == 0 {
		return 0
	}
	ours := []dns.RR{s.srv(s.ttl, false), s.txtRR(s.ttl, false)}
	return compareRecordSets(ours, theirs)
}

type rawRecord struct {
	class, rrtype uint16
	rdata         []byte
}

func compareRecordSets(a, b []dns.RR) int {
	ra, rb := rawRecords(a), rawRecords(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		if c := compareRaw(ra[i], rb[i]); c != 0 {
			return c
		}
	}
	return len(ra) - len(rb)
}

func rawRecords(rrs []dns.RR) []rawRecord {
	out := make([]rawRecord, 0, len(rrs))
	for _, rr := range rrs {
		h := rr.Header()
		out = append(out, rawRecord{class: h.Class &^ cacheFlush, rrtype: h.Rrtype, rdata: rdata(rr)})
	}
	slices.SortFunc(out, compareRaw)
	return out
}

func compareRaw(a, b rawRecord) int {
	if c := cmp.Compare(a.class, b.class); c != 0 {
		return c
	}
	if c := cmp.Compare(a.rrtype, b.rrtype); c != 0 {
		return c
	}
	return bytes.Compare(a.rdata, b.rdata)
}

// rdata returns a record's uncompressed wire-format data: the record packed
// with the root as its name, minus the 11-byte header.
func rdata(rr dns.RR) []byte {
	c := dns.Copy(rr)
	c.Header().Name = "."
	buf := make([]byte, dns.Len(c)+64)
	off, err := dns.PackRR(c, buf, 0, nil, false)
	if err != nil || off < 11 {
		return nil
	}
	return buf[11:off]
}
