package sfu

import (
	"testing"
	"time"
)

func TestPacketCache(t *testing.T) {
	c := newPacketCache(100)
	if c.capacity() != 128 {
		t.Fatalf("capacity %d, want 128", c.capacity())
	}
	buf := make([]byte, maxPacketSize)
	for i := range 300 {
		seq := uint16(65500) + uint16(i) // wraps
		pkt := []byte{byte(seq >> 8), byte(seq), 1, 2, 3}
		if !c.store(seq, pkt) {
			t.Fatalf("store %d failed", seq)
		}
	}
	var last uint16 = 65500
	last += 299
	for back := range 128 {
		seq := last - uint16(back)
		n := c.get(seq, buf)
		if n != 5 || buf[0] != byte(seq>>8) || buf[1] != byte(seq) {
			t.Fatalf("get(%d) = %d %v", seq, n, buf[:n])
		}
	}
	if n := c.get(last-128, buf); n != 0 {
		t.Errorf("evicted packet still returned")
	}
	// Too old to store: would overwrite a newer packet.
	if c.store(last-200, []byte{9}) {
		t.Error("stored a packet older than the cache")
	}
	if c.get(last-72, buf) != 5 {
		t.Error("newer packet overwritten")
	}
	if c.store(1, make([]byte, maxPacketSize+1)) {
		t.Error("stored an oversized packet")
	}
}

func TestSpeakerHysteresis(t *testing.T) {
	ms := int64(time.Millisecond)
	d := newSpeakerDetector(50, 200*time.Millisecond, 500*time.Millisecond)
	now := int64(1)
	var events []bool
	step := func(level uint8, dur int64) {
		for end := now + dur; now < end; now += 20 * ms {
			d.observe(level, now)
			// Record state changes (level events repeat the state).
			if s, _, ev := d.tick(now); ev && (len(events) == 0 || events[len(events)-1] != s) {
				events = append(events, s)
			}
		}
	}
	step(30, 100*ms) // a short noise: not speaking
	step(127, 300*ms)
	if len(events) != 0 {
		t.Fatalf("events after 100 ms of noise: %v", events)
	}
	start := now
	step(30, 400*ms)
	if len(events) != 1 || !events[0] {
		t.Fatalf("events %v, want [true]", events)
	}
	if s, _, _ := d.tick(now); !s {
		t.Fatal("not speaking")
	}
	_ = start
	step(127, 100*ms) // a pause between words keeps speaking
	step(30, 100*ms)
	step(127, 400*ms)
	if len(events) != 1 {
		t.Fatalf("stopped during a 400 ms pause: %v", events)
	}
	step(127, 200*ms)
	if len(events) != 2 || events[1] {
		t.Fatalf("events %v, want [true false]", events)
	}
	if d.currentLevel() < 100 {
		t.Errorf("level after silence %d", d.currentLevel())
	}
	// The timer alone ends speaking when packets stop.
	step(20, 300*ms)
	if len(events) != 3 {
		t.Fatalf("events %v", events)
	}
	if events[2] != true {
		t.Fatalf("events %v", events)
	}
	if s, _, ev := d.tick(now + 600*ms); s || !ev {
		t.Errorf("no stop without packets: speaking=%v event=%v", s, ev)
	}
}

func TestMunger(t *testing.T) {
	b1, b2 := &binding{}, &binding{}
	m := munger{lastOutSeq: 1000, lastOutTs: 5000}
	pk := func(seq uint16, ts uint32, key bool, at int64) *packet {
		return &packet{seq: seq, ts: ts, keyframe: key, arrival: at, payload: []byte{1}}
	}
	ms := int64(time.Millisecond)
	// Video waits for a key frame.
	if _, _, r := m.next(pk(40000, 1, false, ms), b1, true, 90000); r != dropNeedKeyframe {
		t.Fatalf("delta frame before key frame: %v", r)
	}
	seq, ts, r := m.next(pk(40001, 900, true, 2*ms), b1, true, 90000)
	if r != forward || seq != 1001 || ts != 5000 {
		t.Fatalf("key frame: %d %d %v", seq, ts, r)
	}
	seq, ts, _ = m.next(pk(40003, 3900, false, 40*ms), b1, true, 90000)
	if seq != 1003 || ts != 8000 {
		t.Fatalf("after a gap: %d %d (want 1003 8000)", seq, ts)
	}
	// The missing packet, late (retransmitted by the publisher).
	if seq, _, r = m.next(pk(40002, 900, false, 41*ms), b1, true, 90000); r != forward || seq != 1002 {
		t.Fatalf("late packet: %d %v", seq, r)
	}
	if _, _, r = m.next(pk(40002, 900, false, 41*ms), b1, true, 90000); r != forward {
		t.Logf("duplicate of a late packet: %v", r)
	}
	// Padding only, in order: dropped without a gap.
	if _, _, r = m.next(&packet{seq: 40004, ts: 3900, paddingOnly: true, arrival: 42 * ms}, b1, true, 90000); r != drop {
		t.Fatalf("padding: %v", r)
	}
	if seq, _, _ = m.next(pk(40005, 6900, false, 70*ms), b1, true, 90000); seq != 1004 {
		t.Fatalf("after padding: %d, want 1004", seq)
	}
	// A new binding (source switch): restart on the next key frame, one
	// sequence number later and the elapsed time later.
	if _, _, r = m.next(pk(7, 123456, false, 100*ms), b2, true, 90000); r != dropNeedKeyframe {
		t.Fatalf("switch without key frame: %v", r)
	}
	seq, ts, _ = m.next(pk(8, 123456, true, 170*ms), b2, true, 90000)
	if seq != 1005 || ts != 8000+3000+9000 {
		t.Fatalf("after switch: %d %d, want 1005 %d", seq, ts, 8000+3000+9000)
	}
	// A first packet that could not be sent is undone.
	m.notSent(seq)
	seq, _, _ = m.next(pk(9, 123456+3000, true, 200*ms), b2, true, 90000)
	if seq != 1005 {
		t.Fatalf("after notSent: %d, want 1005", seq)
	}
}

func TestMungerDiscontinuity(t *testing.T) {
	b := &binding{}
	m := munger{lastOutSeq: 10, lastOutTs: 0}
	pk := func(seq uint16, key bool) *packet {
		return &packet{seq: seq, ts: uint32(seq) * 100, keyframe: key, arrival: int64(seq) * int64(time.Millisecond), payload: []byte{1}}
	}
	m.next(pk(100, true), b, true, 90000)
	m.next(pk(101, false), b, true, 90000)
	// Jump forward by 20000: a new run, at the next key frame, continuous.
	if _, _, r := m.next(pk(20101, false), b, true, 90000); r != dropNeedKeyframe {
		t.Fatalf("jump forwarded: %v", r)
	}
	if seq, _, r := m.next(pk(20102, true), b, true, 90000); r != forward || seq != 13 {
		t.Fatalf("after jump: %d %v, want 13", seq, r)
	}
	// Jump backward by 5000: not dropped as old forever.
	if seq, _, r := m.next(pk(15102, true), b, true, 90000); r != forward || seq != 14 {
		t.Fatalf("after backward jump: %d %v, want 14", seq, r)
	}
}
