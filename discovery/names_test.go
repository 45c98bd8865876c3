package discovery

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/miekg/dns"
)

// TestInstanceNameSurvivesTheWire sends instance names through a packed
// and unpacked DNS message, as a browser on another host receives them.
func TestInstanceNameSurvivesTheWire(t *testing.T) {
	names := []string{
		"Team sync",
		"v1.2 release",
		`back\slash`,
		`quote "me"`,
		"Zoë's room 🎉",
		"semi;colon (paren) @at",
		"ctl\x07char",
		strings.Repeat("x", maxLabelBytes),
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			fqdn, err := instanceFQDN(name)
			if err != nil {
				t.Fatal(err)
			}
			m := new(dns.Msg)
			m.Response = true
			m.Answer = []dns.RR{&dns.PTR{Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 1}, Ptr: fqdn}}
			b, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			var got dns.Msg
			if err := got.Unpack(b); err != nil {
				t.Fatal(err)
			}
			ptr := got.Answer[0].(*dns.PTR).Ptr
			if asciiLower(ptr) != asciiLower(fqdn) {
				t.Errorf("received %q, canonical form was %q", ptr, fqdn)
			}
			raw, ok := instanceOf(ptr)
			if !ok || raw != name {
				t.Errorf("instanceOf(%q) = %q, %v; want %q", ptr, raw, ok, name)
			}
		})
	}
}

func TestInstanceOf(t *testing.T) {
	tests := []struct {
		fqdn string
		want string
		ok   bool
	}{
		{"Team\\ sync._parley._tcp.local.", "Team sync", true},
		{"Room._PARLEY._TCP.LOCAL.", "Room", true},
		{"a\\.b._parley._tcp.local.", "a.b", true},
		{"caf\\195\\169._parley._tcp.local.", "café", true},
		{"a.b._parley._tcp.local.", "", false}, // two labels
		{"Room._http._tcp.local.", "", false},
		{"_parley._tcp.local.", "", false},
		{"._parley._tcp.local.", "", false},
		{"Room._parley._tcp.local", "", false},
		{"bad\\999._parley._tcp.local.", "", false},
		{strings.Repeat("x", 64) + "._parley._tcp.local.", "", false},
	}
	for _, tt := range tests {
		got, ok := instanceOf(tt.fqdn)
		if got != tt.want || ok != tt.ok {
			t.Errorf("instanceOf(%q) = %q, %v; want %q, %v", tt.fqdn, got, ok, tt.want, tt.ok)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		in, raw, rest string
		dot           bool
		wantErr       bool
	}{
		{`plain`, "plain", "", false, false},
		{`a\.b.c.`, "a.b", "c.", true, false},
		{`a\.b.c.`, "a.b.c.", "", false, false},
		{`\065\066`, "AB", "", false, false},
		{`\\\"`, `\"`, "", false, false},
		{`\256`, "", "", false, true},
		{`trailing\`, "", "", false, true},
	}
	for _, tt := range tests {
		raw, rest, err := unescape(tt.in, tt.dot)
		if (err != nil) != tt.wantErr || raw != tt.raw || rest != tt.rest {
			t.Errorf("unescape(%q, %v) = %q, %q, %v; want %q, %q, err=%v", tt.in, tt.dot, raw, rest, err, tt.raw, tt.rest, tt.wantErr)
		}
	}
}

func TestUniqueName(t *testing.T) {
	long := strings.Repeat("a", 70)
	accents := strings.Repeat("é", 40) // 80 bytes
	tests := []struct {
		base string
		n    int
		want string
	}{
		{"Team sync", 1, "Team sync"},
		{"Team sync", 2, "Team sync (2)"},
		{"Team sync", 12, "Team sync (12)"},
		{long, 1, long[:63]},
		{long, 2, long[:59] + " (2)"},
		{accents, 1, strings.Repeat("é", 31)},
		{accents, 3, strings.Repeat("é", 29) + " (3)"},
		{strings.Repeat("a", 58) + " b", 2, strings.Repeat("a", 58) + " (2)"},
	}
	for _, tt := range tests {
		got := uniqueName(tt.base, tt.n)
		if got != tt.want {
			t.Errorf("uniqueName(%.10q…, %d) = %q, want %q", tt.base, tt.n, got, tt.want)
		}
		if len(got) > maxLabelBytes || !utf8.ValidString(got) {
			t.Errorf("uniqueName(%.10q…, %d) = %d bytes, valid UTF-8 %v", tt.base, tt.n, len(got), utf8.ValidString(got))
		}
	}
}

func TestRandomHostName(t *testing.T) {
	a, err := randomHostName()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := randomHostName()
	if a == b || !strings.HasPrefix(a, "parley-") || !strings.HasSuffix(a, ".local.") || len(a) != len("parley-")+12+len(".local.") {
		t.Errorf("host names %q and %q", a, b)
	}
}
