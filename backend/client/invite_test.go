package client

import (
	"errors"
	"strings"
	"testing"
)

func TestParseInvite(t *testing.T) {
	fp := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		raw, wantWS, wantRoom, wantFP string
	}{
		{"https://10.0.0.2:8443/r/meeting#fp=" + fp, "wss://10.0.0.2:8443/ws", "meeting", fp},
		{"https://host/r/team%20sync", "wss://host/ws", "team sync", ""},
		{"http://127.0.0.1:9/r/x/", "ws://127.0.0.1:9/ws", "x", ""},
		{"http://10.0.0.2:8443/r/meeting#fp=" + fp, "wss://10.0.0.2:8443/ws", "meeting", fp},
		{" https://[::1]:8443/r/a#fp=" + strings.ToUpper(fp) + " ", "wss://[::1]:8443/ws", "a", fp},
	}
	for _, tt := range tests {
		inv, err := ParseInvite(tt.raw)
		if err != nil {
			t.Errorf("%q: %v", tt.raw, err)
			continue
		}
		if inv.WebSocketURL() != tt.wantWS || inv.Room != tt.wantRoom || inv.Fingerprint != tt.wantFP {
			t.Errorf("%q: ws %q room %q fp %q", tt.raw, inv.WebSocketURL(), inv.Room, inv.Fingerprint)
		}
	}
	for _, bad := range []string{"", "ftp://h/r/x", "https:///r/x", "https://h/rooms/x", "https://h/r/", "https://h/r/a/b", "https://h/r/x#fp=sha256:00", "https://h/r/x#fp=" + fp[7:]} {
		if _, err := ParseInvite(bad); !errors.Is(err, ErrBadURL) {
			t.Errorf("%q: %v, want ErrBadURL", bad, err)
		}
	}
}
