package vp8

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// fakeFrame is a VP8 frame as far as the assembler can tell: a keyframe
// carries the tag, start code and dimensions; the rest is noise.
func fakeFrame(rng *rand.Rand, key bool, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	if key {
		b[0] &^= 0x01
		copy(b[3:], []byte{0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}) // 640×360
	} else {
		b[0] |= 0x01
	}
	return b
}

type stream struct {
	frames  [][]byte
	packets [][]*rtp.Packet // per frame
}

// newStream packetizes n frames (a keyframe every keyEvery) with a small
// MTU so that frames span several packets.
func newStream(t *testing.T, n, keyEvery int) stream {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	pz := rtp.NewPacketizer(200, 96, 0x1234, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
	var s stream
	for i := 0; i < n; i++ {
		f := fakeFrame(rng, i%keyEvery == 0, 300+rng.IntN(900))
		s.frames = append(s.frames, f)
		s.packets = append(s.packets, pz.Packetize(f, 3000))
	}
	return s
}

func (s stream) flat() []*rtp.Packet {
	var out []*rtp.Packet
	for _, ps := range s.packets {
		out = append(out, ps...)
	}
	return out
}

type feeder struct {
	a   *Assembler
	now time.Time
	out []Frame
}

func (f *feeder) push(p *rtp.Packet) {
	f.now = f.now.Add(time.Millisecond)
	f.out = append(f.out, f.a.Push(p, f.now)...)
}

func checkFrames(t *testing.T, got []Frame, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Data, want[i]) {
			t.Fatalf("frame %d differs (len %d, want %d)", i, len(got[i].Data), len(want[i]))
		}
	}
}

func TestInOrder(t *testing.T) {
	s := newStream(t, 30, 10)
	f := &feeder{a: NewAssembler(nil), now: time.Unix(0, 0)}
	for _, p := range s.flat() {
		f.push(p)
	}
	checkFrames(t, f.out, s.frames)
	if !f.out[0].Keyframe || f.out[0].Width != 640 || f.out[0].Height != 360 {
		t.Errorf("first frame: keyframe=%v %dx%d, want a 640x360 keyframe", f.out[0].Keyframe, f.out[0].Width, f.out[0].Height)
	}
	if f.out[1].Keyframe {
		t.Error("second frame is a delta frame, assembler says keyframe")
	}
	if st := f.a.Stats(); st.Frames != 30 || st.Keyframes != 3 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Packets swapped inside a frame and across neighbouring frames (what
// NACK retransmissions look like) still give every frame in order.
func TestReordered(t *testing.T) {
	s := newStream(t, 30, 10)
	pkts := s.flat()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i+1 < len(pkts); i += 2 {
		if rng.IntN(2) == 0 {
			pkts[i], pkts[i+1] = pkts[i+1], pkts[i]
		}
	}
	// One packet arrives four packets late.
	late := pkts[20]
	copy(pkts[20:], pkts[21:25])
	pkts[24] = late
	f := &feeder{a: NewAssembler(nil), now: time.Unix(0, 0)}
	for _, p := range pkts {
		f.push(p)
	}
	checkFrames(t, f.out, s.frames)
}

// A lost packet breaks its frame, and a frame lost whole leaves a gap in
// the picture ids (none inside any frame): either way the frames after it
// are held back until the next keyframe, instead of being decoded against
// a missing reference, and a keyframe is requested.
func TestLossWaitsForKeyframe(t *testing.T) {
	const lostFrame = 4
	for _, tc := range []struct {
		name  string
		lost  func(frame, packet int) bool
		stats func(Stats) bool
	}{
		{"one packet", func(i, j int) bool { return i == lostFrame && j == 1 }, func(st Stats) bool { return st.Dropped == 1 }},
		{"a whole frame", func(i, _ int) bool { return i == lostFrame }, func(st Stats) bool { return st.Missing == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, 30, 10)
			requests := 0
			f := &feeder{a: NewAssembler(func() { requests++ }), now: time.Unix(0, 0)}
			for i, ps := range s.packets {
				for j, p := range ps {
					if tc.lost(i, j) {
						continue
					}
					f.now = f.now.Add(30 * time.Millisecond) // slower than MaxWait
					f.out = append(f.out, f.a.Push(p, f.now)...)
				}
			}
			want := append(append([][]byte(nil), s.frames[:lostFrame]...), s.frames[10:]...)
			checkFrames(t, f.out, want)
			if requests == 0 {
				t.Error("no keyframe requested after a loss")
			}
			if st := f.a.Stats(); !tc.stats(st) || st.Skipped != 5 {
				t.Errorf("stats %+v, want the loss counted and 5 skipped", st)
			}
		})
	}
}

// A whole frame that arrives after the next one (a retransmission) within
// MaxWait still goes out, in order.
func TestLateWholeFrameInTime(t *testing.T) {
	s := newStream(t, 8, 8)
	f := &feeder{a: NewAssembler(nil), now: time.Unix(0, 0)}
	order := []int{0, 1, 3, 2, 4, 5, 6, 7}
	for _, i := range order {
		for _, p := range s.packets[i] {
			f.push(p)
		}
	}
	checkFrames(t, f.out, s.frames)
	if st := f.a.Stats(); st.Missing != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, want nothing missing or dropped", st)
	}
}

// A lost frame that the sender marked non-reference (every other frame,
// as Track sends an encoder's half-rate layer) costs only itself: the
// frames after it go on, with no keyframe asked for.
func TestLostNonReferenceFrameNeedsNoKeyframe(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pay := &payloader{VP8Payloader: codecs.VP8Payloader{EnablePictureID: true}}
	pz := rtp.NewPacketizer(200, 96, 0x1234, pay, rtp.NewRandomSequencer(), 90000)
	requests := 0
	f := &feeder{a: NewAssembler(func() { requests++ }), now: time.Unix(0, 0)}
	const lost = 5
	var want [][]byte
	for i := range 12 {
		frame := fakeFrame(rng, i == 0, 300+rng.IntN(900))
		pay.nonReference = i%2 == 1
		for j, p := range pz.Packetize(frame, 3000) {
			if i == lost && j == 0 {
				continue
			}
			f.now = f.now.Add(30 * time.Millisecond) // slower than MaxWait
			f.out = append(f.out, f.a.Push(p, f.now)...)
		}
		if i != lost {
			want = append(want, frame)
		}
	}
	checkFrames(t, f.out, want)
	for _, fr := range f.out {
		if wantNonRef := int(fr.Timestamp-f.out[0].Timestamp)/3000%2 == 1; fr.NonReference != wantNonRef {
			t.Errorf("frame at %d: NonReference %v, want %v", fr.Timestamp, fr.NonReference, wantNonRef)
		}
	}
	if requests != 0 {
		t.Errorf("%d keyframe requests for a lost non-reference frame", requests)
	}
	if st := f.a.Stats(); st.Dropped != 1 || st.Skipped != 0 {
		t.Errorf("stats %+v, want 1 dropped and none skipped", st)
	}
}

// A retransmission arriving within MaxWait saves the frame.
func TestRetransmissionInTime(t *testing.T) {
	s := newStream(t, 10, 10)
	pkts := s.flat()
	missing := len(s.packets[0]) + 1 // second packet of frame 1
	rtx := pkts[missing]
	pkts = append(pkts[:missing:missing], pkts[missing+1:]...)
	requests := 0
	f := &feeder{a: NewAssembler(func() { requests++ }), now: time.Unix(0, 0)}
	for i, p := range pkts {
		f.push(p)
		if i == missing+5 {
			f.push(rtx)
		}
	}
	checkFrames(t, f.out, s.frames)
	if requests != 0 {
		t.Errorf("%d keyframe requests, want none", requests)
	}
}

// Joining mid-stream: delta frames before the first keyframe are skipped.
func TestStartsAtKeyframe(t *testing.T) {
	s := newStream(t, 25, 10)
	requests := 0
	f := &feeder{a: NewAssembler(func() { requests++ }), now: time.Unix(0, 0)}
	for _, ps := range s.packets[3:] {
		for _, p := range ps {
			f.now = f.now.Add(200 * time.Millisecond)
			f.out = append(f.out, f.a.Push(p, f.now)...)
		}
	}
	checkFrames(t, f.out, s.frames[10:])
	if requests == 0 {
		t.Error("no keyframe requested while waiting for one")
	}
}

func TestPendingBounded(t *testing.T) {
	s := newStream(t, 40, 40)
	f := &feeder{a: NewAssembler(nil), now: time.Unix(0, 0)}
	for i, ps := range s.packets {
		for j, p := range ps {
			if j == 0 && i > 0 { // every frame after the first misses its start
				continue
			}
			f.push(p)
		}
	}
	if n := len(f.a.pending); n > DefaultMaxPending {
		t.Errorf("%d frames pending, want ≤ %d", n, DefaultMaxPending)
	}
	checkFrames(t, f.out, s.frames[:1])
}

func TestParseKeyframe(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	if k, w, h := ParseKeyframe(fakeFrame(rng, true, 50)); !k || w != 640 || h != 360 {
		t.Errorf("keyframe: %v %dx%d", k, w, h)
	}
	if k, _, _ := ParseKeyframe(fakeFrame(rng, false, 50)); k {
		t.Error("delta frame parsed as keyframe")
	}
	if k, _, _ := ParseKeyframe([]byte{0}); k {
		t.Error("short frame parsed as keyframe")
	}
}

func FuzzAssembler(f *testing.F) {
	f.Add([]byte{0x90, 0x80, 0x01, 0x10, 0x00}, uint16(1), uint32(0), true)
	f.Fuzz(func(t *testing.T, payload []byte, seq uint16, ts uint32, marker bool) {
		a := NewAssembler(func() {})
		now := time.Unix(0, 0)
		for i := 0; i < 3; i++ {
			p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq + uint16(i), Timestamp: ts, Marker: marker && i == 2}, Payload: payload}
			now = now.Add(time.Second)
			for _, fr := range a.Push(p, now) {
				if len(fr.Data) > DefaultMaxFrameBytes {
					t.Fatal("oversized frame released")
				}
			}
		}
	})
}
