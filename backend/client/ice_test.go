package client

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func TestICERestarts(t *testing.T) {
	const (
		checking     = webrtc.ICEConnectionStateChecking
		connected    = webrtc.ICEConnectionStateConnected
		disconnected = webrtc.ICEConnectionStateDisconnected
		failed       = webrtc.ICEConnectionStateFailed
	)
	type step struct {
		at    time.Duration
		state webrtc.ICEConnectionState
	}
	for _, tc := range []struct {
		name  string
		steps []step
		want  []time.Duration // when restarts happen
	}{
		{"connected stays", []step{{0, checking}, {time.Second, connected}, {10 * time.Second, connected}}, nil},
		{"lost, retried every 3 s while lost", []step{{0, connected}, {time.Second, disconnected}, {2 * time.Second, disconnected},
			{5 * time.Second, failed}, {6 * time.Second, failed}}, []time.Duration{time.Second, 5 * time.Second}},
		// QA: a restart made while the network was away stayed checking
		// for ~30 s after it came back.
		{"a restart that does not connect is retried", []step{{0, disconnected}, {time.Second, checking},
			{3500 * time.Millisecond, checking}, {4 * time.Second, checking}, {5 * time.Second, connected}, {9 * time.Second, checking}},
			[]time.Duration{0, 3500 * time.Millisecond}},
		{"checking before any restart is left alone", []step{{0, checking}, {10 * time.Second, checking}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			var got []time.Duration
			var now time.Time
			r := iceRestarts{retry: 3 * time.Second, restart: func() { got = append(got, now.Sub(start)) }}
			for _, s := range tc.steps {
				now = start.Add(s.at)
				r.check(s.state, now)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("restarts at %v, want %v", got, tc.want)
			}
		})
	}
}
