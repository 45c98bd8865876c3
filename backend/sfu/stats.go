package sfu

import (
	"sync/atomic"
	"time"
)

// ReceiverStats are the counters of one published track. All counters are
// cumulative since the Receiver was created; read them at any time with
// Receiver.Stats (atomic loads, no locks).
type ReceiverStats struct {
	Packets    uint64 // RTP packets received from the publisher
	Bytes      uint64 // RTP bytes (headers included)
	Lost       uint64 // packets missing by sequence number
	Keyframes  uint64 // video key frames received
	PLIsSent   uint64 // keyframe requests sent to the publisher
	REMBsSent  uint64 // bitrate caps sent to the publisher
	REMB       uint64 // last bitrate cap sent, bits per second (0: none yet)
	DownTracks int    // current subscribers
}

type receiverCounters struct {
	packets, bytes, lost, keyframes, plis, rembs, remb atomic.Uint64
}

// DownTrackStats are the counters of one subscription, read with
// DownTrack.Stats.
type DownTrackStats struct {
	Packets          uint64 // RTP packets forwarded (retransmissions not included)
	Bytes            uint64
	Dropped          uint64        // packets not forwarded (waiting for a key frame, not yet negotiated)
	NACKs            uint64        // sequence numbers the subscriber asked for again
	Retransmits      uint64        // packets resent from the cache
	RetransmitMisses uint64        // NACKed packets no longer (or never) in the cache, or too old to resend
	PLIs             uint64        // picture loss indications from the subscriber
	FIRs             uint64        // full intra requests from the subscriber
	Lost             uint64        // cumulative loss the subscriber reports
	FractionLost     float64       // loss in the subscriber's last report, 0..1
	Jitter           time.Duration // interarrival jitter the subscriber reports
	RTT              time.Duration // round trip time from the last report (0: unknown)
	Estimate         uint64        // bits per second the subscriber's downlink takes for this track (0: unknown)
}

type downTrackCounters struct {
	packets, bytes, dropped, nacks, rtx, rtxMiss, plis, firs atomic.Uint64
	leftOut                                                  atomic.Uint64 // payload bytes of frames left out (ForwardReference)
	lost, fractionLost, jitterNs, rttNs, estimate            atomic.Uint64
}
