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
	if _, _, r := m.next(pk(40000, 1, false, ms), b1, true, 90000, false); r != dropNeedKeyframe {
		t.Fatalf("delta frame before key frame: %v", r)
	}
	seq, ts, r := m.next(pk(40001, 900, true, 2*ms), b1, true, 90000, false)
	if r != forward || seq != 1001 || ts != 5000 {
		t.Fatalf("key frame: %d %d %v", seq, ts, r)
	}
	seq, ts, _ = m.next(pk(40003, 3900, false, 40*ms), b1, true, 90000, false)
	if seq != 1003 || ts != 8000 {
		t.Fatalf("after a gap: %d %d (want 1003 8000)", seq, ts)
	}
	// The missing packet, late (retransmitted by the publisher).
	if seq, _, r = m.next(pk(40002, 900, false, 41*ms), b1, true, 90000, false); r != forward || seq != 1002 {
		t.Fatalf("late packet: %d %v", seq, r)
	}
	if _, _, r = m.next(pk(40002, 900, false, 41*ms), b1, true, 90000, false); r != forward {
		t.Logf("duplicate of a late packet: %v", r)
	}
	// Padding only, in order: dropped without a gap.
	if _, _, r = m.next(&packet{seq: 40004, ts: 3900, paddingOnly: true, arrival: 42 * ms}, b1, true, 90000, false); r != drop {
		t.Fatalf("padding: %v", r)
	}
	if seq, _, _ = m.next(pk(40005, 6900, false, 70*ms), b1, true, 90000, false); seq != 1004 {
		t.Fatalf("after padding: %d, want 1004", seq)
	}
	// A new binding (source switch): restart on the next key frame, one
	// sequence number later and the elapsed time later.
	if _, _, r = m.next(pk(7, 123456, false, 100*ms), b2, true, 90000, false); r != dropNeedKeyframe {
		t.Fatalf("switch without key frame: %v", r)
	}
	seq, ts, _ = m.next(pk(8, 123456, true, 170*ms), b2, true, 90000, false)
	if seq != 1005 || ts != 8000+3000+9000 {
		t.Fatalf("after switch: %d %d, want 1005 %d", seq, ts, 8000+3000+9000)
	}
	// A first packet that could not be sent is undone.
	m.notSent(seq)
	seq, _, _ = m.next(pk(9, 123456+3000, true, 200*ms), b2, true, 90000, false)
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
	m.next(pk(100, true), b, true, 90000, false)
	m.next(pk(101, false), b, true, 90000, false)
	// Jump forward by 20000: a new run, at the next key frame, continuous.
	if _, _, r := m.next(pk(20101, false), b, true, 90000, false); r != dropNeedKeyframe {
		t.Fatalf("jump forwarded: %v", r)
	}
	if seq, _, r := m.next(pk(20102, true), b, true, 90000, false); r != forward || seq != 13 {
		t.Fatalf("after jump: %d %v, want 13", seq, r)
	}
	// Jump backward by 5000: not dropped as old forever.
	if seq, _, r := m.next(pk(15102, true), b, true, 90000, false); r != forward || seq != 14 {
		t.Fatalf("after backward jump: %d %v, want 14", seq, r)
	}
}

// TestMungerReferenceOnly feeds frames of two packets, alternately
// reference and non-reference, to a munger asked for reference frames
// only: what it forwards is numbered without gaps, the picture ids' shift
// counts the frames left out, and losses keep their place for
// retransmissions.
func TestMungerReferenceOnly(t *testing.T) {
	b := &binding{}
	m := munger{lastOutSeq: 999}
	ms := int64(time.Millisecond)
	type step struct {
		seq     uint16
		frame   uint32 // the frame's timestamp is frame*3000
		nonRef  bool
		start   bool
		at      int64
		want    mungeResult
		wantSeq uint16 // when forwarded
		shift   uint16 // picShift after the packet
	}
	steps := []struct {
		name string
		step
	}{
		{"keyframe", step{100, 1, false, true, 0, forward, 1000, 0}},
		{"keyframe, second packet", step{101, 1, false, false, 1, forward, 1001, 0}},
		{"non-reference frame left out", step{102, 2, true, true, 33, leaveOutFrame, 0, 1}},
		{"its second packet too", step{103, 2, true, false, 34, leaveOutFrame, 0, 1}},
		{"next reference frame, no gap", step{104, 3, false, true, 66, forward, 1002, 1}},
		{"its second packet", step{105, 3, false, false, 67, forward, 1003, 1}},
		// 107 is lost: it belongs to the frame being left out.
		{"non-reference frame", step{106, 4, true, true, 100, leaveOutFrame, 0, 2}},
		{"its third packet, after a loss", step{108, 4, true, false, 102, leaveOutFrame, 0, 2}},
		{"reference frame after it", step{109, 5, false, true, 133, forward, 1004, 2}},
		{"late packet of the frame left out", step{107, 4, true, false, 134, drop, 0, 2}},
		// 110 is lost: the first packet of a reference frame.
		{"reference frame, first packet lost", step{111, 6, false, false, 166, forward, 1006, 2}},
		{"non-reference frame soon after a loss is kept", step{112, 7, true, true, 200, forward, 1007, 2}},
		{"the lost packet, retransmitted", step{110, 6, false, true, 201, forward, 1005, 2}},
		{"its second packet", step{113, 7, true, false, 202, forward, 1008, 2}},
		{"reference frame", step{114, 8, false, true, 233, forward, 1009, 2}},
		{"a second after the loss, frames are left out again", step{115, 9, true, true, 1200, leaveOutFrame, 0, 3}},
		{"reference frame", step{116, 10, false, true, 1233, forward, 1010, 3}},
	}
	for _, s := range steps {
		p := &packet{seq: s.seq, ts: s.frame * 3000, keyframe: s.frame == 1 && s.start, arrival: s.at * ms,
			payload: []byte{1}}
		p.thin.NonReference, p.thin.FrameStart = s.nonRef, s.start
		seq, _, r := m.next(p, b, true, 90000, true)
		if r != s.want || (r == forward && seq != s.wantSeq) || m.picShift != s.shift {
			t.Fatalf("%s: %v seq %d shift %d, want %v seq %d shift %d", s.name, r, seq, m.picShift, s.want, s.wantSeq, s.shift)
		}
	}
	// Everything again: the next non-reference frame is forwarded, with
	// the shift of the frames left out before.
	p := &packet{seq: 117, ts: 11 * 3000, arrival: 1266 * ms, payload: []byte{1}}
	p.thin.NonReference, p.thin.FrameStart = true, true
	if seq, _, r := m.next(p, b, true, 90000, false); r != forward || seq != 1011 || m.picShift != 3 {
		t.Fatalf("all frames again: %v seq %d shift %d, want forward 1011 shift 3", r, seq, m.picShift)
	}
}
