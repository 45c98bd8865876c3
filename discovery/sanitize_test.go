package discovery

import (
	"strings"
	"testing"
)

func TestCleanText(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "Team sync", 64, "Team sync"},
		{"controls removed", "Te\x00am\x1b[31m\x7f", 64, "Team[31m"},
		{"bidi overrides removed", "abc\u202egnp.exe\u2066x\u200f", 64, "abcgnp.exex"},
		{"byte order mark removed", "\ufeffroom", 64, "room"},
		{"invalid UTF-8 removed", "a\xffb\xc3", 64, "ab"},
		{"whitespace collapsed and trimmed", "  a \t\n b\u00a0\u2028c  ", 64, "a b c"},
		{"cut to runes", strings.Repeat("é", 70), 64, strings.Repeat("é", 64)},
		{"no trailing space after cut", "abc def", 4, "abc"},
		{"emoji kept", "🎉 party 👩‍💻", 64, "🎉 party 👩\u200d💻"},
		{"nothing visible", "\x00\x01 \u202e", 64, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanText(tt.in, tt.max); got != tt.want {
				t.Errorf("cleanText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestTruncateBytes(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"aé", 2, "a"},
		{"aé", 3, "aé"},
		{"🎉", 3, ""},
	}
	for _, tt := range tests {
		if got := truncateBytes(tt.in, tt.n); got != tt.want {
			t.Errorf("truncateBytes(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	hex := strings.Repeat("0a", 32)
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"sha256:" + hex, "sha256:" + hex, true},
		{"sha256:" + strings.ToUpper(hex), "sha256:" + hex, true},
		{"SHA256:" + hex, "", false},
		{"sha1:" + hex, "", false},
		{"sha256:" + hex[:62], "", false},
		{"sha256:" + hex + "00", "", false},
		{"sha256:" + hex[:62] + "zz", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := normalizeFingerprint(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("normalizeFingerprint(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestValidatePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/r/team-sync", true},
		{"/r/zoë", true},
		{"/r/a%20b", true},
		{"/r/Caf%C3%a9", true},
		{"/r/100%", false},
		{"/r/100%2", false},
		{"/r/100%zz", false},
		{"/r/%%41", false},
		{"", false},
		{"r/x", false},
		{"https://evil/", false},
		{"/r/a b", false},
		{"/r/a?b", false},
		{"/r/a#b", false},
		{"/r/a\\b", false},
		{"/r/\x00", false},
		{"/r/\u202e", false},
		{"/r/\xff", false},
		{"/" + strings.Repeat("a", maxPathBytes), false},
	}
	for _, tt := range tests {
		if err := validatePath(tt.path); (err == nil) != tt.ok {
			t.Errorf("validatePath(%q) = %v, want ok=%v", tt.path, err, tt.ok)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want int
		ok   bool
	}{
		{"0", 5, 0, true},
		{"65535", 5, 65535, true},
		{"007", 5, 7, true},
		{"123456", 5, 0, false},
		{"", 5, 0, false},
		{"-1", 5, 0, false},
		{"+1", 5, 0, false},
		{"1e3", 5, 0, false},
		{" 1", 5, 0, false},
	}
	for _, tt := range tests {
		got, ok := parseDecimal(tt.in, tt.max)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseDecimal(%q, %d) = %d, %v; want %d, %v", tt.in, tt.max, got, ok, tt.want, tt.ok)
		}
	}
}

func TestASCIILower(t *testing.T) {
	for in, want := range map[string]string{
		"Team Sync._Parley._TCP.local.": "team sync._parley._tcp.local.",
		"already.lower.":                "already.lower.",
		"ÄBC":                           "Äbc", // only ASCII folds, as in DNS
	} {
		if got := asciiLower(in); got != want {
			t.Errorf("asciiLower(%q) = %q, want %q", in, got, want)
		}
	}
}
