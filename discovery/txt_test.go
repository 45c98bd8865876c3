package discovery

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTXTRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		room Room
	}{
		{"plain", Room{Name: "Team sync", Host: "Ada", Participants: 3, Port: 8443, Path: "/r/team-sync", Fingerprint: goodFP, ProtocolVersion: 1}},
		{"flags", Room{Name: "Board", Host: "", Password: true, Locked: true, Port: 1, Path: "/", Fingerprint: goodFP, ProtocolVersion: 2}},
		{"waiting room", Room{Name: "Clinic", Host: "Dr B", Lobby: true, Port: 8443, Path: "/r/clinic", Fingerprint: goodFP, ProtocolVersion: 2}},
		{"unicode and equals", Room{Name: "Zoë = 🎉", Host: "Jürgen \\ \"x\"", Port: 65535, Path: "/r/zoë", Fingerprint: goodFP, ProtocolVersion: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := tt.room.normalize()
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeTXT(encodeTXT(want), []int{1, 2})
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("decoded %+v, want %+v", got, want)
			}
		})
	}
}

func TestEncodeTXTKeepsStringsShort(t *testing.T) {
	r, err := Room{Name: strings.Repeat("é", 200), Host: strings.Repeat("🎉", 200), Port: 1, Path: "/", Fingerprint: goodFP, ProtocolVersion: 1}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range encodeTXT(r) {
		if len(s) > maxTXTString || !utf8.ValidString(s) {
			t.Errorf("TXT string of %d bytes (valid UTF-8: %v): %.20q…", len(s), utf8.ValidString(s), s)
		}
	}
	if n := utf8.RuneCountInString(r.Host); n != MaxNameRunes {
		t.Errorf("host cut to %d runes, want %d", n, MaxNameRunes)
	}
}

func TestDecodeTXT(t *testing.T) {
	base := func(replace ...string) []string {
		out := []string{"v=1", "room=Team sync", "host=Ada", "n=4", "pw=1", "lk=0", "port=8443", "path=/r/team", "fp=" + goodFP}
		for i := 0; i+1 < len(replace); i += 2 {
			key, value := replace[i], replace[i+1]
			for j, s := range out {
				if strings.HasPrefix(s, key+"=") {
					if value == "-" {
						out = append(out[:j], out[j+1:]...)
					} else {
						out[j] = key + "=" + value
					}
					break
				}
			}
		}
		return out
	}
	full := Room{Name: "Team sync", Host: "Ada", Participants: 4, Password: true, Port: 8443, Path: "/r/team", Fingerprint: goodFP, ProtocolVersion: 1}
	tests := []struct {
		name    string
		txt     []string
		want    Room
		wantErr string
	}{
		{"valid", base(), full, ""},
		{"optional keys absent", []string{"v=1", "port=8443", "path=/r/team", "fp=" + goodFP},
			Room{Port: 8443, Path: "/r/team", Fingerprint: goodFP, ProtocolVersion: 1}, ""},
		{"uppercase keys and fingerprint hex", append([]string{"V=1", "PORT=8443", "Path=/r/team"}, "fp=sha256:"+strings.Repeat("AB", 32)),
			Room{Port: 8443, Path: "/r/team", Fingerprint: goodFP, ProtocolVersion: 1}, ""},
		{"first key wins", append([]string{"port=8443"}, base("port", "9999")...), Room{}, ""},
		{"flag without value is true", append(base("pw", "-"), "pw"), full, ""},
		{"waiting room", append(base(), "lb=1"), func() Room { r := full; r.Lobby = true; return r }(), ""},
		{"bad waiting room flag", append(base(), "lb=yes"), Room{}, "invalid lb"},
		{"unknown keys ignored", append(base(), "future=yes", "=novalue", ""), full, ""},
		{"names sanitised", base("room", "Team\x00\u202e sync\x1b", "host", "A\tda \xff"),
			Room{Name: "Team sync", Host: "A da", Participants: 4, Password: true, Port: 8443, Path: "/r/team", Fingerprint: goodFP, ProtocolVersion: 1}, ""},
		{"no version", base("v", "-"), Room{}, "no protocol version"},
		{"unknown version", base("v", "2"), Room{}, "unsupported protocol version 2"},
		{"bad version", base("v", "1.0"), Room{}, "invalid protocol version"},
		{"no port", base("port", "-"), Room{}, "no port"},
		{"port zero", base("port", "0"), Room{}, "invalid port"},
		{"port too big", base("port", "65536"), Room{}, "invalid port"},
		{"port signed", base("port", "+443"), Room{}, "invalid port"},
		{"no path", base("path", "-"), Room{}, "no path"},
		{"relative path", base("path", "r/team"), Room{}, "does not start with '/'"},
		{"path with fragment", base("path", "/r/x#y"), Room{}, "path contains '#'"},
		{"path with newline", base("path", "/r/x\ny"), Room{}, "path contains"},
		{"no fingerprint", base("fp", "-"), Room{}, "no certificate fingerprint"},
		{"md5 fingerprint", base("fp", "md5:00"), Room{}, "invalid certificate fingerprint"},
		{"short fingerprint", base("fp", "sha256:abcd"), Room{}, "invalid certificate fingerprint"},
		{"non-hex fingerprint", base("fp", "sha256:"+strings.Repeat("zz", 32)), Room{}, "invalid certificate fingerprint"},
		{"negative count", base("n", "-1"), Room{}, "invalid participant count"},
		{"huge count", base("n", "123456789"), Room{}, "invalid participant count"},
		{"bad flag", base("lk", "true"), Room{}, "invalid lk="},
		{"too many strings", append(base(), strings.Split(strings.Repeat("x,", 30), ",")...), Room{}, "strings, the limit is 32"},
		{"too many bytes", append(base(), strings.Repeat("a", 255), strings.Repeat("b", 255), strings.Repeat("c", 255),
			strings.Repeat("d", 255), strings.Repeat("e", 255), strings.Repeat("f", 255), strings.Repeat("g", 255), strings.Repeat("h", 255)),
			Room{}, "bytes, the limit is 2048"},
		{"string over 255 bytes", append(base(), strings.Repeat("a", 256)), Room{}, "longer than 255 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeTXT(tt.txt, []int{1})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "first key wins" {
				if got.Port != 8443 {
					t.Errorf("port %d, want the first one, 8443", got.Port)
				}
				return
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRoomNormalize(t *testing.T) {
	ok := Room{Name: "r", Port: 1, Path: "/", Fingerprint: goodFP, ProtocolVersion: 1}
	with := func(f func(*Room)) Room { r := ok; f(&r); return r }
	tests := []struct {
		name    string
		room    Room
		wantErr string
	}{
		{"valid", ok, ""},
		{"empty name", with(func(r *Room) { r.Name = " \x00\u202e " }), "room name is empty"},
		{"negative participants", with(func(r *Room) { r.Participants = -1 }), "participant count"},
		{"no port", with(func(r *Room) { r.Port = 0 }), "port 0 out of range"},
		{"bad path", with(func(r *Room) { r.Path = "r" }), "room path"},
		{"long path", with(func(r *Room) { r.Path = "/" + strings.Repeat("a", maxPathBytes) }), "room path"},
		{"bad fingerprint", with(func(r *Room) { r.Fingerprint = "abc" }), "fingerprint"},
		{"no version", with(func(r *Room) { r.ProtocolVersion = 0 }), "protocol version 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.room.normalize()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}
