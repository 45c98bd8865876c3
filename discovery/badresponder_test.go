package discovery

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// goodFP is a well-formed fingerprint for test rooms.
var goodFP = "sha256:" + strings.Repeat("ab", 32)

// badInstance is a room the hand-crafted responder announces, and whether
// a browser must list it.
type badInstance struct {
	label  string   // presentation format
	txt    []string // raw strings, packed byte for byte
	port   uint16
	addr   string // "" for none
	listed bool
}

func validTXT(extra ...string) []string {
	return append([]string{"v=1", "room=r", "host=h", "n=2", "pw=0", "lk=0", "port=8443", "path=/r/x", "fp=" + goodFP}, extra...)
}

// withTXT returns validTXT with one key replaced (value "" with drop set
// removes it).
func withTXT(key, value string, drop bool) []string {
	var out []string
	for _, s := range validTXT() {
		if strings.HasPrefix(s, key+"=") {
			if drop {
				continue
			}
			s = key + "=" + value
		}
		out = append(out, s)
	}
	return out
}

// sanitisedHost is what the browser must show for the sanitised room's
// host= value: controls, bidi overrides and invalid UTF-8 removed, cut to
// 64 runes.
var sanitisedHost = "Mallory[31m" + strings.Repeat("é", MaxNameRunes-len("Mallory[31m"))

func badInstances() []badInstance {
	return []badInstance{
		{label: "Good one", txt: validTXT(), port: 8443, addr: "self", listed: true},
		{label: `Sanitised\007\ name`, port: 8443, addr: "self", listed: true,
			txt: append(withTXT("host", "", true), "host=Mallory\x1b[31m\u202e\xff\xfe"+strings.Repeat("é", 110))},
		{label: "No port", txt: withTXT("port", "", true), port: 8443, addr: "self"},
		{label: "Bad fp", txt: withTXT("fp", "md5:0123", false), port: 8443, addr: "self"},
		{label: "Short fp", txt: withTXT("fp", "sha256:abcd", false), port: 8443, addr: "self"},
		{label: "Future", txt: withTXT("v", "99", false), port: 8443, addr: "self"},
		{label: "Bad path", txt: withTXT("path", "javascript:alert(1)", false), port: 8443, addr: "self"},
		{label: "Port mismatch", txt: validTXT(), port: 443, addr: "self"},
		{label: "Zero port", txt: withTXT("port", "0", false), port: 0, addr: "self"},
		{label: "Bad count", txt: withTXT("n", "-5", false), port: 8443, addr: "self"},
		{label: "Bad flag", txt: withTXT("pw", "yes", false), port: 8443, addr: "self"},
		{label: "No address", txt: validTXT(), port: 8443},
		{label: "Loopback", txt: validTXT(), port: 8443, addr: "127.0.0.1"},
		{label: "Multicast", txt: validTXT(), port: 8443, addr: "224.0.0.1"},
		{label: "Too many strings", txt: validTXT(strings.Split(strings.Repeat("x=1,", 40), ",")...), port: 8443, addr: "self"},
		{label: "Too big", txt: validTXT(strings.Repeat("y", 255), strings.Repeat("z", 255), strings.Repeat("w", 255),
			strings.Repeat("q", 255), strings.Repeat("k", 255), strings.Repeat("j", 255), strings.Repeat("u", 255),
			strings.Repeat("o", 255)), port: 8443, addr: "self"},
	}
}

// rawTXT builds a TXT record from raw bytes, so that no codec of ours or
// miekg/dns's tidies up what goes on the wire.
func rawTXT(name string, strs []string) dns.RR {
	var rd []byte
	for _, s := range strs {
		rd = append(rd, byte(len(s)))
		rd = append(rd, s...)
	}
	return &dns.RFC3597{
		Hdr:   dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 120},
		Rdata: hex.EncodeToString(rd),
	}
}

// craftedPackets returns what the bad responder sends for each query: a
// response per instance (so one broken record cannot spoil the others'
// packet), a response mixing a PTR to a foreign name, and garbage.
func craftedPackets(self net.IP) ([][]byte, error) {
	var out [][]byte
	for i, bi := range badInstances() {
		fqdn := bi.label + "." + serviceName
		host := "bad" + string(rune('a'+i)) + ".local."
		m := new(dns.Msg)
		m.Response = true
		m.Answer = []dns.RR{
			&dns.PTR{Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 120}, Ptr: fqdn},
			&dns.SRV{Hdr: dns.RR_Header{Name: fqdn, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 120}, Port: bi.port, Target: host},
			rawTXT(fqdn, bi.txt),
		}
		switch bi.addr {
		case "":
		case "self":
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: host, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 120}, A: self})
		default:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: host, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 120}, A: net.ParseIP(bi.addr)})
		}
		b, err := m.Pack()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}

	foreign := new(dns.Msg)
	foreign.Response = true
	foreign.Answer = []dns.RR{
		&dns.PTR{Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 120}, Ptr: "evil.example.com."},
		&dns.PTR{Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 120}, Ptr: "a.b." + serviceName},
	}
	b, err := foreign.Pack()
	if err != nil {
		return nil, err
	}
	out = append(out, b)

	// Garbage: random-looking bytes, a valid packet cut short, and a name
	// whose compression pointer points at itself.
	out = append(out, []byte(strings.Repeat("\xde\xad\xbe\xef", 50)), out[0][:len(out[0])/2])
	loop := make([]byte, 12, 32)
	binary.BigEndian.PutUint16(loop[2:], 0x8400) // response, authoritative
	binary.BigEndian.PutUint16(loop[6:], 1)      // one answer
	loop = append(loop, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 120, 0, 4, 10, 0, 0, 1)
	out = append(out, loop)
	return out, nil
}

// roleBadResponder answers every browse query for _parley._tcp with the
// crafted packets, on eth0 over IPv4.
func roleBadResponder(ctx context.Context, out *reporter) error {
	ifi, err := net.InterfaceByName("eth0")
	if err != nil {
		return err
	}
	self, err := firstIPv4(ifi)
	if err != nil {
		return err
	}
	packets, err := craftedPackets(self)
	if err != nil {
		return err
	}
	group := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: mdnsPort}
	conn, err := net.ListenMulticastUDP("udp4", ifi, group)
	if err != nil {
		return err
	}
	defer conn.Close()
	p := ipv4.NewPacketConn(conn)
	if err := errors.Join(p.SetMulticastInterface(ifi), p.SetMulticastTTL(255)); err != nil {
		return err
	}
	go func() {
		// Stop when the parent closes stdin (or the role times out).
		for range commands() {
		}
		conn.Close()
	}()
	context.AfterFunc(ctx, func() { conn.Close() })
	out.send(report{Event: "ready"})

	buf := make([]byte, maxPacket)
	for {
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		var q dns.Msg
		if q.Unpack(buf[:n]) != nil || q.Response {
			continue
		}
		asked := false
		for _, question := range q.Question {
			asked = asked || (strings.EqualFold(question.Name, serviceName) && question.Qtype == dns.TypePTR)
		}
		if !asked {
			continue
		}
		time.Sleep(10 * time.Millisecond)
		for _, b := range packets {
			if _, err := conn.WriteToUDP(b, group); err != nil {
				return err
			}
		}
	}
}
