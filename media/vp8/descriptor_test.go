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

func TestReadThinning(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    Thinning
	}{
		{"frame start, 15-bit id", []byte{0x90, 0x80, 0x81, 0x23, 0x00}, Thinning{FrameStart: true, PictureIDBits: 15}},
		{"non-reference start, 15-bit id", []byte{0xb0, 0x80, 0x81, 0x23, 0x00}, Thinning{NonReference: true, FrameStart: true, PictureIDBits: 15}},
		{"non-reference middle, 7-bit id", []byte{0xa0, 0x80, 0x12, 0x00}, Thinning{NonReference: true, PictureIDBits: 7}},
		{"second partition start", []byte{0x11, 0x00}, Thinning{}},
		{"no picture id", []byte{0x30, 0x00}, Thinning{NonReference: true, FrameStart: true}},
		{"truncated 15-bit id", []byte{0x90, 0x80, 0x81}, Thinning{FrameStart: true}},
		{"empty", nil, Thinning{}},
	} {
		if got := ReadThinning(tc.payload); got != tc.want {
			t.Errorf("%s: got %+v want %+v", tc.name, got, tc.want)
		}
	}
}

func TestShiftPictureID(t *testing.T) {
	for _, tc := range []struct {
		name     string
		payload  []byte
		bits     uint8
		by       uint16
		want     pictureID
		wantHead []byte // the bytes before the id, unchanged
	}{
		{"15-bit", []byte{0x90, 0x80, 0x81, 0x23, 0x9d}, 15, 3, pictureID{id: 0x0120, bits: 15}, []byte{0x90, 0x80}},
		{"15-bit wraps", []byte{0xb0, 0x80, 0x80, 0x01, 0x9d}, 15, 2, pictureID{id: 0x7fff, bits: 15}, []byte{0xb0, 0x80}},
		{"7-bit", []byte{0x90, 0x80, 0x12, 0x9d}, 7, 2, pictureID{id: 0x10, bits: 7}, []byte{0x90, 0x80}},
		{"7-bit wraps", []byte{0x90, 0x80, 0x01, 0x9d}, 7, 3, pictureID{id: 0x7e, bits: 7}, []byte{0x90, 0x80}},
		{"no shift", []byte{0x90, 0x80, 0x81, 0x23, 0x9d}, 15, 0, pictureID{id: 0x0123, bits: 15}, []byte{0x90, 0x80}},
	} {
		last := tc.payload[len(tc.payload)-1]
		ShiftPictureID(tc.payload, tc.bits, tc.by)
		if got := readPictureID(tc.payload); got != tc.want {
			t.Errorf("%s: picture id %+v, want %+v", tc.name, got, tc.want)
		}
		if string(tc.payload[:2]) != string(tc.wantHead) || tc.payload[len(tc.payload)-1] != last {
			t.Errorf("%s: bytes around the id changed: % x", tc.name, tc.payload)
		}
	}
}
