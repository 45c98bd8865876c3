package client

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// RoundTripTime is the current round-trip time to the server on the
// subscribe connection (from ICE consent checks); false until measured.
func (c *Client) RoundTripTime() (time.Duration, bool) {
	for _, st := range c.sub.GetStats() {
		pair, ok := st.(webrtc.ICECandidatePairStats)
		if ok && pair.Nominated && pair.State == webrtc.StatsICECandidatePairStateSucceeded && pair.CurrentRoundTripTime > 0 {
			return time.Duration(pair.CurrentRoundTripTime * float64(time.Second)), true
		}
	}
	return 0, false
}
