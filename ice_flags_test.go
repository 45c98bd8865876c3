package main

import (
	"reflect"
	"testing"

	"parley/backend/signal"
)

func TestParseICEServer(t *testing.T) {
	tests := []struct {
		in   string
		want signal.ICEServer
		ok   bool
	}{
		{"stun:stun.example.com:3478", signal.ICEServer{URLs: []string{"stun:stun.example.com:3478"}}, true},
		{"turn:alice:s3:cret@turn.example.com:3478?transport=udp",
			signal.ICEServer{URLs: []string{"turn:turn.example.com:3478?transport=udp"}, Username: "alice", Credential: "s3:cret"}, true},
		{"turn:turn.example.com:3478", signal.ICEServer{}, false},
		{"http://example.com", signal.ICEServer{}, false},
		{"stun:", signal.ICEServer{}, false},
		{"turn:@host:1", signal.ICEServer{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseICEServer(tc.in)
			if (err == nil) != tc.ok || tc.ok && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseICEServer = %+v, %v; want %+v (ok %v)", got, err, tc.want, tc.ok)
			}
		})
	}
}
