// Package audio is the desktop app's sound: a jitter buffer and Opus
// decoder per remote participant, a mixer, the microphone path through
// echo cancellation and noise suppression to the Opus encoder, and the
// audio devices (miniaudio through malgo; PulseAudio, PipeWire's pulse
// server or ALSA on Linux).
//
// Everything runs at 48 kHz, mono, 16-bit, in 10 ms frames: the device
// callback asks the mixer for 10 ms, plays it, and hands the same 10 ms to
// the echo canceller as the far end of the 10 ms it captured.
package audio

import (
	"sync"
	"time"

	"github.com/pion/rtp"

	"parley/media/opus"
)

// Rate and frame size of everything in this package.
const (
	Rate         = opus.SampleRate
	FrameSamples = Rate / 100 // 10 ms
)

// Jitter buffer limits.
const (
	// MinDelay is the least audio held back before playing: enough for a
	// LAN's jitter and for Go's scheduling of the packet reader (the
	// target grows with measured jitter).
	MinDelay = 30 * time.Millisecond
	// MaxDelay bounds the adaptive delay; beyond it the link is too bad
	// for conversation anyway.
	MaxDelay = 300 * time.Millisecond
	// overshoot is how far above the target the buffer may grow (a burst
	// after a stall) before old packets are skipped to catch up at once.
	overshoot = 80 * time.Millisecond
	// creep: a buffer that stayed more than creep above its target for
	// creepPulls pulls (its minimum over them: the level saw-tooths by a
	// packet) drops one packet, so that a delay picked up once (a stall at
	// the start, a burst) does not stay for the rest of the call.
	creep      = 15 * time.Millisecond
	creepPulls = 50
	// maxPackets bounds the packets held (3 s of 20 ms packets).
	maxPackets = 150
)

// JitterBuffer reorders one participant's Opus packets, decodes them at
// the pace the speaker plays, conceals or rebuilds (FEC) lost ones, and
// adapts its delay to the measured network jitter (RFC 3550 estimate).
// Push and Pull may be called from different goroutines.
type JitterBuffer struct {
	mu      sync.Mutex
	dec     *opus.Decoder
	packets map[uint16][]byte
	next    uint16 // sequence number to play next
	started bool   // next is valid
	newest  uint16
	playing bool          // false while (re)buffering
	pulls   int           // in the current creep window
	least   time.Duration // least buffered in it
	pcm     []int16
	scratch []int16

	// Jitter estimate, in 48 kHz samples.
	jitter     float64
	lastTS     uint32
	lastArrive time.Time
	haveLast   bool

	stats JitterStats
}

// JitterStats count what a JitterBuffer did.
type JitterStats struct {
	Packets   uint64 // received
	Decoded   uint64 // played as sent
	Recovered uint64 // rebuilt from the next packet's FEC
	Concealed uint64 // made up by packet loss concealment
	Late      uint64 // arrived after their turn
	Skipped   uint64 // dropped to bring the delay back down
	Underruns uint64 // times the buffer ran dry while playing
	Delay     time.Duration
	Target    time.Duration
}

// NewJitterBuffer returns an empty buffer with its own decoder.
func NewJitterBuffer() (*JitterBuffer, error) {
	dec, err := opus.NewDecoder()
	if err != nil {
		return nil, err
	}
	return &JitterBuffer{
		dec:     dec,
		packets: make(map[uint16][]byte),
		scratch: make([]int16, opus.MaxFrameSamples),
	}, nil
}

// Close frees the decoder.
func (j *JitterBuffer) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.dec.Close()
	j.packets = nil
}

// Push adds a packet that arrived at now. The packet is copied.
func (j *JitterBuffer) Push(p *rtp.Packet, now time.Time) {
	if len(p.Payload) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.packets == nil {
		return
	}
	j.stats.Packets++
	j.updateJitter(p.Timestamp, now)
	seq := p.SequenceNumber
	if j.started && int16(seq-j.next) < 0 {
		j.stats.Late++
		return
	}
	if !j.started {
		j.next, j.newest, j.started = seq, seq, true
	}
	if int16(seq-j.newest) > 0 {
		j.newest = seq
	}
	// A sender that restarted or jumped far ahead: start over from here.
	if int(uint16(j.newest-j.next)) >= maxPackets {
		clear(j.packets)
		j.next, j.newest, j.playing = seq, seq, false
	}
	j.packets[seq] = append([]byte(nil), p.Payload...)
}

func (j *JitterBuffer) updateJitter(ts uint32, now time.Time) {
	if j.haveLast {
		arrival := float64(now.Sub(j.lastArrive)) * Rate / float64(time.Second)
		d := arrival - float64(int32(ts-j.lastTS))
		if d < 0 {
			d = -d
		}
		j.jitter += (d - j.jitter) / 16
	}
	j.lastTS, j.lastArrive, j.haveLast = ts, now, true
}

// target is the delay to hold: three times the jitter, within bounds.
func (j *JitterBuffer) target() time.Duration {
	t := time.Duration(3 * j.jitter * float64(time.Second) / Rate)
	return min(max(t, MinDelay), MaxDelay)
}

// buffered is the audio waiting: decoded samples plus packets not yet
// played (20 ms each, what every sender Parley knows uses).
func (j *JitterBuffer) buffered() time.Duration {
	d := time.Duration(len(j.pcm)) * time.Second / Rate
	if j.started && len(j.packets) > 0 {
		d += time.Duration(int(uint16(j.newest-j.next))+1) * 20 * time.Millisecond
	}
	return d
}

// Pull fills out with the next samples to play. It returns false (and
// silence) while there is nothing to play: before the first packets,
// while rebuffering after running dry, or when the participant is silent.
func (j *JitterBuffer) Pull(out []int16) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.packets == nil {
		clear(out)
		return false
	}
	target := j.target()
	j.stats.Target = target
	j.stats.Delay = j.buffered()
	if !j.playing {
		if !j.started || j.buffered() < target {
			clear(out)
			return false
		}
		j.playing = true
	}
	// Too far behind (a burst after a stall): skip the oldest packets.
	for j.buffered() > target+overshoot && len(j.packets) > 1 {
		j.skip()
	}
	// A little behind for a while: drop one packet.
	if b := j.buffered(); j.pulls == 0 || b < j.least {
		j.least = b
	}
	if j.pulls++; j.pulls >= creepPulls {
		if j.least > target+creep && len(j.packets) > 1 {
			j.skip()
		}
		j.pulls = 0
	}
	for len(j.pcm) < len(out) {
		if !j.decodeNext() {
			// Ran dry: play what there is, then silence until the buffer
			// refills to the target.
			n := copy(out, j.pcm)
			clear(out[n:])
			j.pcm = j.pcm[:0]
			j.playing = false
			j.stats.Underruns++
			return n > 0
		}
	}
	copy(out, j.pcm)
	j.pcm = append(j.pcm[:0], j.pcm[len(out):]...)
	return true
}

// skip drops the next packet unplayed.
func (j *JitterBuffer) skip() {
	if _, ok := j.packets[j.next]; ok {
		delete(j.packets, j.next)
		j.stats.Skipped++
	}
	j.next++
	j.pcm = j.pcm[:0]
}

// decodeNext appends the next packet's samples (decoded, rebuilt from
// FEC, or concealed) to pcm. It returns false when nothing is left.
func (j *JitterBuffer) decodeNext() bool {
	if len(j.packets) == 0 {
		return false
	}
	pkt, ok := j.packets[j.next]
	var n int
	var err error
	switch {
	case ok:
		delete(j.packets, j.next)
		n, err = j.dec.Decode(pkt, j.scratch)
		if err == nil {
			j.stats.Decoded++
		}
	default:
		// Lost (a later packet is here): rebuild it from the next one's
		// FEC, or conceal.
		if following, ok := j.packets[j.next+1]; ok {
			n, err = j.dec.DecodeFEC(following, j.scratch[:opus.FrameSamples])
			j.stats.Recovered++
		} else {
			n, err = j.dec.Conceal(j.scratch[:opus.FrameSamples])
			j.stats.Concealed++
		}
	}
	j.next++
	if err != nil {
		// A packet the decoder rejects is concealed like a lost one.
		n, _ = j.dec.Conceal(j.scratch[:opus.FrameSamples])
	}
	j.pcm = append(j.pcm, j.scratch[:n]...)
	return true
}

// Stats returns the counters.
func (j *JitterBuffer) Stats() JitterStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.stats
}
