package discovery

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func testService(t *testing.T, name, host string) *service {
	t.Helper()
	fqdn, err := instanceFQDN(name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := testRoom(name).normalize()
	if err != nil {
		t.Fatal(err)
	}
	s := &service{instance: fqdn, host: host, port: uint16(r.Port), ttl: 120}
	s.setTXT(encodeTXT(r))
	return s
}

func query(known []dns.RR, ns []dns.RR, qs ...dns.Question) *dns.Msg {
	m := new(dns.Msg)
	m.Question = qs
	m.Answer = known
	m.Ns = ns
	return m
}

func q(name string, qtype uint16) dns.Question {
	return dns.Question{Name: name, Qtype: qtype, Qclass: dns.ClassINET}
}

func TestServiceMatch(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	ptr := func(ttl uint32) dns.RR {
		return &dns.PTR{Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: s.instance}
	}
	qu := q(serviceName, dns.TypePTR)
	qu.Qclass |= cacheFlush // the "unicast response" bit
	response := query(nil, nil, q(serviceName, dns.TypePTR))
	response.Response = true
	tests := []struct {
		name      string
		msg       *dns.Msg
		want      wants
		wantProbe bool
	}{
		{"browse", query(nil, nil, q(serviceName, dns.TypePTR)), wantPTR, false},
		{"browse, mixed case", query(nil, nil, q("_PARLEY._tcp.Local.", dns.TypePTR)), wantPTR, false},
		{"browse with QU bit", query(nil, nil, qu), wantPTR, false},
		{"browse, known answer", query([]dns.RR{ptr(120)}, nil, q(serviceName, dns.TypePTR)), 0, false},
		{"browse, known answer half expired", query([]dns.RR{ptr(59)}, nil, q(serviceName, dns.TypePTR)), wantPTR, false},
		{"other service", query(nil, nil, q("_http._tcp.local.", dns.TypePTR)), 0, false},
		{"SRV", query(nil, nil, q(s.instance, dns.TypeSRV)), wantSRV, false},
		{"TXT", query(nil, nil, q(s.instance, dns.TypeTXT)), wantTXT, false},
		{"ANY instance", query(nil, nil, q(s.instance, dns.TypeANY)), wantSRV | wantTXT, false},
		{"A of host", query(nil, nil, q("PARLEY-abc.local.", dns.TypeA)), wantAddr, false},
		{"AAAA of host", query(nil, nil, q(s.host, dns.TypeAAAA)), wantAddr, false},
		{"MX of host", query(nil, nil, q(s.host, dns.TypeMX)), 0, false},
		{"service enumeration", query(nil, nil, q(servicesMeta, dns.TypePTR)), wantMeta, false},
		{"probe for our name", query(nil, []dns.RR{&dns.SRV{Hdr: dns.RR_Header{Name: s.instance, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 120}, Target: "x.local."}},
			q(s.instance, dns.TypeANY)), wantSRV | wantTXT, true},
		{"several questions", query(nil, nil, q(serviceName, dns.TypePTR), q(s.host, dns.TypeA)), wantPTR | wantAddr, false},
		{"responses are not queries", response, 0, false},
		{"chaos class", query(nil, nil, dns.Question{Name: serviceName, Qtype: dns.TypePTR, Qclass: dns.ClassCHAOS}), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, probe := s.match(tt.msg)
			if got != tt.want || probe != tt.wantProbe {
				t.Errorf("match = %b, probe %v; want %b, probe %v", got, probe, tt.want, tt.wantProbe)
			}
		})
	}
}

func TestServiceResponse(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	addrs := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fe80::1%eth0")}

	m := s.response(wantPTR, addrs, nil)
	if len(m.Answer) != 1 || m.Answer[0].Header().Rrtype != dns.TypePTR || len(m.Extra) != 4 {
		t.Fatalf("browse answer: answer %v, extra %v", m.Answer, m.Extra)
	}
	if m.Answer[0].Header().Class&cacheFlush != 0 {
		t.Error("shared PTR record carries the cache-flush bit")
	}
	for _, rr := range m.Extra {
		if rr.Header().Class&cacheFlush == 0 {
			t.Errorf("unique record %v lacks the cache-flush bit", rr)
		}
	}
	if _, err := m.Pack(); err != nil {
		t.Fatal(err)
	}

	legacy := query(nil, nil, q(serviceName, dns.TypePTR))
	legacy.Id = 4242
	m = s.response(wantPTR, addrs, legacy)
	if m.Id != 4242 || len(m.Question) != 1 {
		t.Errorf("legacy answer has id %d and %d questions", m.Id, len(m.Question))
	}
	for _, rr := range append(m.Answer, m.Extra...) {
		if h := rr.Header(); h.Ttl > 10 || h.Class&cacheFlush != 0 {
			t.Errorf("legacy answer record %v: TTL over 10 s or cache-flush set", rr)
		}
	}

	for _, rr := range s.goodbye(addrs).Answer {
		if rr.Header().Ttl != 0 {
			t.Errorf("goodbye record %v has TTL %d", rr, rr.Header().Ttl)
		}
	}
	if got := len(s.announcement(addrs).Answer); got != 5 {
		t.Errorf("announcement has %d records, want PTR, SRV, TXT, A, AAAA", got)
	}
}

func TestServiceConflicts(t *testing.T) {
	s := testService(t, "Team sync", "parley-abc.local.")
	other := testService(t, "Team sync", "parley-def.local.")
	otherTXT := testService(t, "Team sync", "parley-abc.local.")
	otherTXT.setTXT([]string{"v=1", "n=9"})
	elsewhere := testService(t, "Retro", "parley-def.local.")
	addrs := []netip.Addr{netip.MustParseAddr("10.0.0.1")}
	goodbye := other.goodbye(addrs)

	tests := []struct {
		name string
		msg  *dns.Msg
		want bool
	}{
		{"our own records", s.announcement(addrs), false},
		{"another host, same name", other.announcement(addrs), true},
		{"same host name, other TXT", otherTXT.response(wantTXT, nil, nil), true},
		{"another name", elsewhere.announcement(addrs), false},
		{"a goodbye", goodbye, false},
		{"a query", other.probe(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.conflicts(tt.msg); got != tt.want {
				t.Errorf("conflicts = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestServiceTieBreak(t *testing.T) {
	a := testService(t, "Team sync", "parley-aaa.local.")
	b := testService(t, "Team sync", "parley-bbb.local.")
	if got := a.tieBreak(a.probe()); got != 0 {
		t.Errorf("own probe: %d, want 0", got)
	}
	ab, ba := a.tieBreak(b.probe()), b.tieBreak(a.probe())
	if ab == 0 || ba == 0 || (ab < 0) == (ba < 0) {
		t.Errorf("exactly one must win: a vs b %d, b vs a %d", ab, ba)
	}
	// The SRV target decides here ("aaa" < "bbb"); TXT is identical.
	if ab >= 0 {
		t.Errorf("a (lexicographically earlier) won the tie-break")
	}
	if got := a.tieBreak(testService(t, "Retro", "parley-bbb.local.").probe()); got != 0 {
		t.Errorf("probe for another name: %d, want 0", got)
	}
	if got := a.tieBreak(b.announcement(nil)); got != 0 {
		t.Errorf("a response is not a probe: %d, want 0", got)
	}
}

func TestRdata(t *testing.T) {
	srv := &dns.SRV{Hdr: dns.RR_Header{Name: "x.local.", Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 5}, Port: 0x1234, Target: "a."}
	// priority, weight, port, then the target "a." uncompressed.
	want := []byte{0, 0, 0, 0, 0x12, 0x34, 1, 'a', 0}
	if got := rdata(srv); string(got) != string(want) {
		t.Errorf("rdata = %v, want %v", got, want)
	}
	if !strings.HasPrefix(srv.Hdr.Name, "x") {
		t.Error("rdata changed the record it was given")
	}
}
