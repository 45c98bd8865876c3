package audio

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// soundCard plays and records one frame per 10 ms tick, as a sound card
// does, and runs a farRing the way Stream's two loops do. It knows, for
// every frame recorded, how many frames the speaker had played by then:
// the truth the reference must keep a fixed distance from.
type soundCard struct {
	ring      *farRing
	queued    int     // frames written, not yet played
	played    int64   // frames played (underrun silence not counted)
	recorded  []int64 // per recorded frame: played when it was recorded
	delivered int     // recorded frames read by the capture loop
	offsets   []int64 // per captured frame: reference position minus truth
	// unwritten counts frames whose reference was not written yet while
	// the speaker was playing: echo cancelled against silence.
	unwritten int
	// fills: the speaker's pump plays a frame of silence whenever the
	// play loop leaves its queue empty, and tells the loop of them with
	// its next request, after the loop's next frame (parley_pump_run).
	fills bool
	// pending counts the frames of silence played that the loop has not
	// heard of yet: they come before the frame it writes next.
	pending int
}

// tick advances 10 ms. The play loop keeps queue frames queued (none
// while playStalled); the microphone records unless micOff (a source not
// delivering yet); the capture loop reads everything recorded unless
// readStalled.
func (s *soundCard) tick(queue int, playStalled, micOff, readStalled bool) {
	if s.queued > 0 {
		s.queued--
		s.played++
	}
	frame := make([]int16, FrameSamples)
	for !playStalled && s.queued < queue {
		s.ring.write(frame)
		s.queued++
		if s.pending > 0 {
			s.ring.fillBeforeLast(int64(s.pending) * FrameSamples)
			s.pending = 0
		}
	}
	if s.fills && s.queued == 0 {
		s.queued++
		s.pending++
	}
	if !micOff {
		s.recorded = append(s.recorded, s.played)
	}
	far := make([]int16, FrameSamples)
	for !readStalled && s.delivered < len(s.recorded) {
		if why := s.ring.needsAnchor(); why != "" {
			s.ring.anchor(FrameSamples, why)
		}
		ref := s.ring.captured + s.ring.shift
		s.offsets = append(s.offsets, ref-s.recorded[s.delivered]*FrameSamples)
		// (Silence the pump played and the loop has not heard of yet is
		// past what was written, and is what the reference reads there.)
		if ref+FrameSamples > s.ring.written && s.queued > 0 && s.pending == 0 {
			s.unwritten++
		}
		s.ring.aligned(far)
		s.delivered++
	}
}

// The reference keeps its place relative to the echo when one stream
// slips against the other (frames that never came, an underrun), and
// does not move for jitter or for a capture loop that fell behind and
// caught up (nothing was lost). It does not ask for samples not written
// yet while the speaker plays (but for a few frames after an underrun),
// even when the writer keeps less queued.
func TestFarRingFollowsSlips(t *testing.T) {
	type events struct {
		queue                            func(tick int) int
		playStalled, micOff, readStalled func(tick int) bool
		pumpFills                        bool
	}
	never := func(int) bool { return false }
	four := func(int) int { return 4 }
	between := func(from, to int) func(int) bool {
		return func(tick int) bool { return tick >= from && tick < to }
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A steady card's reference sits this far from the truth.
	steady := &soundCard{ring: newFarRing(2*Rate, quiet)}
	for range 100 {
		steady.tick(4, false, false, false)
	}
	want := steady.offsets[len(steady.offsets)-1]
	for _, tc := range []struct {
		name string
		ev   events
	}{
		{"steady", events{four, never, never, never, false}},
		{"bursty loops", events{four, func(tick int) bool { return tick%3 == 1 }, never, func(tick int) bool { return tick%2 == 1 }, false}},
		{"microphone delivers nothing for 500 ms after its first frames", events{four, never, between(2, 52), never, false}},
		{"microphone loses 250 ms mid-call", events{four, never, between(200, 225), never, false}},
		{"speaker underruns for 300 ms", events{four, between(200, 230), never, never, false}},
		{"capture loop stalls 300 ms and catches up", events{four, never, never, between(200, 230), false}},
		{"writer keeps two frames queued from 1 s on", events{func(tick int) int { return 4 - 2*min(tick/100, 1) }, never, never, never, false}},
		{"play loop stalls 300 ms, the pump plays silence", events{four, between(200, 230), never, never, true}},
		{"play loop stalls 3 s, longer than the ring", events{four, between(200, 500), never, never, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &soundCard{ring: newFarRing(2*Rate, quiet), fills: tc.ev.pumpFills}
			for tick := range 600 {
				s.tick(tc.ev.queue(tick), tc.ev.playStalled(tick), tc.ev.micOff(tick), tc.ev.readStalled(tick))
			}
			// After an underrun, a few frames pass before the new lead
			// is taken for a slip.
			if s.unwritten > slipHoldUnwritten {
				t.Errorf("%d frames referred to samples not written yet while the speaker played", s.unwritten)
			}
			for i, got := range s.offsets[len(s.offsets)-100:] {
				if d := got - want; d > 2*FrameSamples || d < -2*FrameSamples {
					t.Fatalf("frame %d from the end: reference %d ms from where it belongs", 100-i, d*1000/Rate)
				}
			}
		})
	}
}

// slipLog counts the slips a farRing logs, by level.
type slipLog struct {
	info, debug int
	counted     int64 // the "slips" the Info lines account for
}

func (l *slipLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *slipLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *slipLog) WithGroup(string) slog.Handler            { return l }
func (l *slipLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "echo reference followed a slip" {
		return nil
	}
	if r.Level < slog.LevelInfo {
		l.debug++
		return nil
	}
	l.info++
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "slips" {
			l.counted += a.Value.Int64()
		}
		return true
	})
	return nil
}

// A speaker that underruns twice a second (an overloaded machine) has
// every slip followed, and the reference stays on the echo; but only one
// slip in 10 s is logged at Info, with the count of those since the last
// one (each at Info filled the log with a line a second).
func TestFarRingLogsSlipsAtARate(t *testing.T) {
	log := &slipLog{}
	s := &soundCard{ring: newFarRing(2*Rate, slog.New(log))}
	steady := &soundCard{ring: newFarRing(2*Rate, slog.New(slog.DiscardHandler))}
	const ticks = 1500 // 15 s
	for tick := range ticks {
		// 60 ms without a frame written every 500 ms from 1 s on: the
		// speaker runs dry for about 20 ms each time.
		s.tick(4, tick >= 100 && tick%50 < 6, false, false)
		steady.tick(4, false, false, false)
	}
	follows := log.info + log.debug
	if follows < 20 {
		t.Fatalf("%d slips followed in 14 s of underruns twice a second", follows)
	}
	t.Logf("%d slips followed, %d logged at Info", follows, log.info)
	if log.info > 2 {
		t.Errorf("%d of %d slips logged at Info in 15 s, want at most 2 (one per 10 s)", log.info, follows)
	}
	if log.counted > int64(follows) || log.counted < int64(follows)/2 {
		t.Errorf("the Info lines account for %d slips of %d followed", log.counted, follows)
	}
	want := steady.offsets[len(steady.offsets)-1]
	if got := s.offsets[len(s.offsets)-1]; got-want > 2*FrameSamples || got-want < -2*FrameSamples {
		t.Errorf("reference %d ms from where it belongs after the underruns", (got-want)*1000/Rate)
	}
}
