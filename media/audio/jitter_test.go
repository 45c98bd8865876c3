package audio

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"

	"parley/media/audio/pulsetest"
	"parley/media/opus"
)

// packets encodes seconds of a 440 Hz tone as 20 ms RTP packets.
func packets(t *testing.T, seconds float64) []*rtp.Packet {
	t.Helper()
	enc, err := opus.NewEncoder(32000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pcm := pulsetest.Tone(440, seconds, 0.25)
	var out []*rtp.Packet
	for i := 0; i+opus.FrameSamples <= len(pcm); i += opus.FrameSamples {
		data, err := enc.Encode(pcm[i : i+opus.FrameSamples])
		if err != nil {
			t.Fatal(err)
		}
		n := len(out)
		out = append(out, &rtp.Packet{
			Header:  rtp.Header{SequenceNumber: uint16(65500 + n), Timestamp: uint32(n * opus.FrameSamples)},
			Payload: append([]byte(nil), data...),
		})
	}
	return out
}

// player pulls 10 ms frames as a sound card would and records them.
type player struct {
	j      *JitterBuffer
	out    []int16
	on     []bool
	delays []time.Duration // buffered before each pull
}

func (p *player) pull() {
	buf := make([]int16, FrameSamples)
	p.on = append(p.on, p.j.Pull(buf))
	p.out = append(p.out, buf...)
	p.delays = append(p.delays, p.j.Stats().Delay)
}

// run delivers packets (arrival order, arrival times) and plays in step
// with the clock.
func run(t *testing.T, pkts []*rtp.Packet, arrive func(i int) time.Duration, extra time.Duration) *player {
	t.Helper()
	j, err := NewJitterBuffer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	p := &player{j: j}
	base := time.Unix(0, 0)
	type ev struct {
		at time.Duration
		i  int
	}
	var evs []ev
	last := time.Duration(0)
	for i := range pkts {
		a := arrive(i)
		if a < 0 {
			continue // lost
		}
		evs = append(evs, ev{a, i})
		last = max(last, a)
	}
	for clock := time.Duration(0); clock <= last+extra; clock += 10 * time.Millisecond {
		for k := range evs {
			if evs[k].at >= clock-10*time.Millisecond && evs[k].at < clock {
				j.Push(pkts[evs[k].i], base.Add(evs[k].at))
			}
		}
		p.pull()
	}
	return p
}

func TestJitterBufferSteady(t *testing.T) {
	pkts := packets(t, 2)
	p := run(t, pkts, func(i int) time.Duration { return time.Duration(i) * 20 * time.Millisecond }, 200*time.Millisecond)
	// Playback starts after MinDelay and then never stops.
	first := -1
	for i, on := range p.on {
		if on && first < 0 {
			first = i
		}
		if first >= 0 && !on && i < len(pkts)*2 {
			t.Fatalf("silent at frame %d after starting at %d", i, first)
		}
	}
	// (Packets count 20 ms each as they arrive: MinDelay is buffered when
	// the packet that completes it arrives.)
	if d := time.Duration(first) * 10 * time.Millisecond; d < MinDelay-20*time.Millisecond || d > MinDelay+30*time.Millisecond {
		t.Errorf("playback started after %v, want about %v", d, MinDelay)
	}
	st := p.j.Stats()
	if st.Decoded != uint64(len(pkts)) || st.Concealed != 0 || st.Underruns != 1 {
		t.Errorf("stats %+v (one underrun: the end of the stream)", st)
	}
	if f := pulsetest.DominantFrequency(p.out[Rate/2:Rate], 100, 2000); math.Abs(f-440) > 2 {
		t.Errorf("played %.1f Hz, want 440", f)
	}
}

// Reordered packets (within the delay) play in order; a lost one is
// rebuilt from FEC; nothing goes silent.
func TestJitterBufferReorderAndLoss(t *testing.T) {
	pkts := packets(t, 2)
	lost := 50
	arrive := func(i int) time.Duration {
		d := time.Duration(i) * 20 * time.Millisecond
		if i%7 == 3 {
			d += 25 * time.Millisecond // late, overtaken by the next one
		}
		if i == lost {
			return -1
		}
		return d
	}
	p := run(t, pkts, arrive, 200*time.Millisecond)
	st := p.j.Stats()
	if st.Recovered != 1 || st.Late != 0 {
		t.Errorf("stats %+v, want the lost packet recovered and none late", st)
	}
	started := false
	for i, on := range p.on[:len(pkts)*2] {
		started = started || on
		if started && !on {
			t.Fatalf("silent at frame %d", i)
		}
	}
}

// A stall followed by a burst: the buffer catches up by skipping instead
// of keeping the extra delay for the rest of the call.
func TestJitterBufferCatchesUp(t *testing.T) {
	pkts := packets(t, 4)
	arrive := func(i int) time.Duration {
		d := time.Duration(i) * 20 * time.Millisecond
		if i >= 50 && i < 75 {
			d = 75 * 20 * time.Millisecond // 500 ms stall, then all at once
		}
		return d
	}
	p := run(t, pkts, arrive, 300*time.Millisecond)
	st := p.j.Stats()
	if st.Underruns == 0 || st.Skipped == 0 {
		t.Errorf("stats %+v, want an underrun during the stall and skips after it", st)
	}
	if st.Delay > MaxDelay {
		t.Errorf("delay %v after catching up", st.Delay)
	}
}

// A delay picked up once (here: a burst at the start, then packets on
// time) is worked off, instead of staying for the rest of the call.
func TestJitterBufferDrainsExtraDelay(t *testing.T) {
	pkts := packets(t, 4)
	arrive := func(i int) time.Duration {
		if i < 5 {
			return 0 // a burst at the start: 100 ms buffered at once
		}
		return time.Duration(i-2) * 20 * time.Millisecond
	}
	p := run(t, pkts, arrive, 0)
	// At 3 s (frame 300), well before the end drains the buffer.
	if d := p.delays[300]; d > MinDelay+creep {
		t.Errorf("delay %v after 3 s, want it back near the %v target (stats %+v)", d, MinDelay, p.j.Stats())
	}
}
