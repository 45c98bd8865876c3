package signal

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ada", "Ada"},
		{"  Ada   Lovelace \t", "Ada Lovelace"},
		{"Ada\nLovelace", "Ada Lovelace"},
		{"A\u0000d\u0007a", "Ada"},
		{"\u202eadA", "adA"},
		{"a \u0000 b", "a b"},
		{"a\u00a0\u2028b", "a b"},
		{"\xffAda\xfe", "Ada"},
		{"", ""},
		{" \t\n ", ""},
		{"👩‍💻 dev", "👩‍💻 dev"},
		{strings.Repeat("x", 70), strings.Repeat("x", MaxNameRunes)},
		// A space is never left dangling where the cut falls.
		{strings.Repeat("x", MaxNameRunes-1) + " yz", strings.Repeat("x", MaxNameRunes-1)},
		{strings.Repeat("x", MaxNameRunes-2) + " yz", strings.Repeat("x", MaxNameRunes-2) + " y"},
	}
	for _, tc := range tests {
		if got := SanitizeName(tc.in); got != tc.want {
			t.Errorf("SanitizeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"Ada", " a  b ", "\u202e\u0000x", strings.Repeat("é ", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SanitizeName(s)
		if again := SanitizeName(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
		if utf8.RuneCountInString(got) > MaxNameRunes || strings.TrimSpace(got) != got || strings.Contains(got, "  ") {
			t.Fatalf("SanitizeName(%q) = %q is not canonical", s, got)
		}
		// Sanitised names are either valid or have nothing visible.
		if err := ValidateName(got); err != nil && !strings.Contains(err.Error(), "empty") {
			t.Fatalf("ValidateName(SanitizeName(%q)) = %v", s, err)
		}
	})
}

func TestSanitizeChatText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hi", "hi"},
		{"a\r\nb\rc\n\td", "a\nb\nc\n\td"},
		{"a\u0000b\u001b[31m", "ab[31m"},
		{"\u200fשלום", "\u200fשלום"},
	}
	for _, tc := range tests {
		got := SanitizeChatText(tc.in)
		if got != tc.want {
			t.Errorf("SanitizeChatText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err := ValidateChatText(got); err != nil {
			t.Errorf("ValidateChatText(%q) = %v", got, err)
		}
	}
}

func TestValidateID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"a", true},
		{"0f3a9c", true},
		{"{8e1f1d3c-1b55-4b5e-a0b4-5b1c7e6a2d01}", true},
		{strings.Repeat("a", MaxIDBytes), true},
		{strings.Repeat("a", MaxIDBytes+1), false},
		{"", false},
		{"a b", false},
		{"a\"b", false},
		{"a/b", false},
		{"ä", false},
	}
	for _, tc := range tests {
		if err := ValidateID("id", tc.id); (err == nil) != tc.ok {
			t.Errorf("ValidateID(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
	}
}

func TestValidateRoomName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"standup", true},
		{"Team-3_room.v2", true},
		{"café", true},
		{"会议", true},
		{"", false},
		{".hidden", false},
		{"a b", false},
		{"a/b", false},
		{"a%20b", false},
		{strings.Repeat("r", MaxRoomNameRunes), true},
		{strings.Repeat("r", MaxRoomNameRunes+1), false},
	}
	for _, tc := range tests {
		if err := ValidateRoomName(tc.name); (err == nil) != tc.ok {
			t.Errorf("ValidateRoomName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestErrors(t *testing.T) {
	base := Errorf(CodeRoomFull, "room %q is full", "r")
	wrapped := fmt.Errorf("join: %w", base)
	tests := []struct {
		name string
		err  error
		code Code
		text string
	}{
		{"nil", nil, "", ""},
		{"direct", base, CodeRoomFull, `room "r" is full`},
		{"wrapped", wrapped, CodeRoomFull, `room "r" is full`},
		{"foreign", errors.New("disk on fire"), CodeInternal, "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CodeOf(tc.err); got != tc.code {
				t.Fatalf("CodeOf = %q, want %q", got, tc.code)
			}
			if tc.err == nil {
				return
			}
			e := AsError(tc.err, 42)
			if e.Code != tc.code || e.ID != 42 || e.Message != tc.text {
				t.Fatalf("AsError = %+v", e)
			}
		})
	}
	if base.ID != 0 {
		t.Fatal("AsError mutated the original error")
	}
	if got := base.Error(); got != `room-full: room "r" is full` {
		t.Fatalf("Error() = %q", got)
	}
}
