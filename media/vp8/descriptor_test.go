package vp8

import "testing"

func TestKeyframeStart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"key, short descriptor", []byte{0x10, 0x00, 0x00, 0x9d}, true},
		{"delta", []byte{0x10, 0x01, 0x00}, false},
		{"not start", []byte{0x00, 0x00}, false},
		{"other partition", []byte{0x11, 0x00}, false},
		{"key, 15-bit picture id", []byte{0x90, 0x80, 0x81, 0x23, 0x00}, true},
		{"delta, 7-bit picture id", []byte{0x90, 0x80, 0x12, 0x01}, false},
		{"key, pid+tl0+tid", []byte{0x90, 0xe0, 0x12, 0x05, 0x40, 0x00}, true},
		{"truncated", []byte{0x90, 0x80}, false},
		{"empty", nil, false},
	} {
		if got := KeyframeStart(tc.payload); got != tc.want {
			t.Errorf("%s: got %v want %v", tc.name, got, tc.want)
		}
	}
}
