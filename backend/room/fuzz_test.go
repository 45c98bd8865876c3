package room

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"parley/backend/signal"
)

// FuzzRoom drives a room through a random sequence of operations, one per
// input byte pair, and checks its invariants after each. Seeds live in
// testdata/fuzz/FuzzRoom.
func FuzzRoom(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 2, 3, 0, 3, 1, 6, 0, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		cfg := Config{
			Name:          "fuzz",
			Password:      "pw",
			Limit:         3,
			MaxTracks:     2,
			ChatHistory:   4,
			Grace:         10 * time.Second,
			ExplicitHosts: data[0]&1 == 1,
			NewID:         seqIDs(),
		}
		data = data[1:]
		now := t0
		r, err := New(cfg, now)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string // everyone ever admitted, so ops also hit departed ids
		var lastSeq int64
		pick := func(b byte) string {
			if len(ids) == 0 || int(b)%(len(ids)+1) == len(ids) {
				return "nobody"
			}
			return ids[int(b)%len(ids)]
		}
		for len(data) >= 2 {
			op, arg := data[0], data[1]
			data = data[2:]
			switch op % 12 {
			case 0:
				pw := [...]string{"pw", "", "nope"}[arg%3]
				p, _, err := r.Join(fmt.Sprint("user", arg), pw, JoinOptions{Host: arg&0x80 != 0}, now)
				if err == nil {
					ids = append(ids, p.ID)
				}
			case 1:
				_, _ = r.Leave(pick(arg), now)
			case 2:
				_, _ = r.Remove(pick(arg), pick(arg>>4), now)
			case 3:
				kind := [...]signal.Kind{signal.KindAudio, signal.KindVideo, signal.KindScreen, "bogus"}[arg>>6]
				_, _ = r.AddTrack(pick(arg), signal.Track{ID: fmt.Sprint("t", arg>>4&3), Kind: kind})
			case 4:
				_, _ = r.RemoveTrack(pick(arg), fmt.Sprint("t", arg>>4&3))
			case 5:
				_, _, _ = r.SetMuted(pick(arg), fmt.Sprint("t", arg>>4&3), arg&0x80 != 0)
			case 6:
				c, err := r.AddChat(pick(arg), [...]string{"hi", "", "x\x00"}[arg>>6%3], now)
				if err == nil {
					if c.Seq <= lastSeq {
						t.Fatalf("chat seq %d after %d", c.Seq, lastSeq)
					}
					lastSeq = c.Seq
				}
			case 7:
				_, _ = r.SetLocked(pick(arg), arg&0x80 != 0)
			case 8:
				_, _ = r.SetLimit(pick(arg), int(arg>>5))
			case 9:
				now = now.Add(time.Duration(arg) * 100 * time.Millisecond)
			case 10:
				_ = r.CloseIfIdle(now)
			case 11:
				_, _ = r.End(pick(arg))
			}
			if err := r.check(now); err != nil {
				t.Fatalf("after op %d(%d): %v", op%12, arg, err)
			}
		}
	})
}

// check verifies the room's invariants.
func (r *Room) check(now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.members); n > r.limit || r.limit > r.maxLimit || r.limit < 1 {
		return fmt.Errorf("%d participants, limit %d, ceiling %d", n, r.limit, r.maxLimit)
	}
	if len(r.byID) != len(r.members) {
		return fmt.Errorf("index has %d entries for %d participants", len(r.byID), len(r.members))
	}
	hosts := 0
	for i, m := range r.members {
		if r.byID[m.p.ID] != m {
			return fmt.Errorf("participant %s missing from index", m.p.ID)
		}
		if err := m.p.Participant.Validate(); err != nil {
			return fmt.Errorf("participant %+v: %w", m.p, err)
		}
		if i > 0 && m.p.JoinedAt.Before(r.members[i-1].p.JoinedAt) {
			return fmt.Errorf("participants out of join order")
		}
		if m.p.Role == signal.RoleHost {
			hosts++
		}
		if len(m.tracks) > r.maxTracks {
			return fmt.Errorf("%s has %d tracks, limit %d", m.p.ID, len(m.tracks), r.maxTracks)
		}
		seen := map[string]bool{}
		for _, tr := range m.tracks {
			if tr.ParticipantID != m.p.ID || seen[tr.ID] {
				return fmt.Errorf("bad or duplicate track %+v of %s", tr, m.p.ID)
			}
			if err := tr.Validate(); err != nil {
				return fmt.Errorf("track %+v: %w", tr, err)
			}
			seen[tr.ID] = true
		}
	}
	if !r.explicit && len(r.members) > 0 && hosts == 0 {
		return fmt.Errorf("occupied room has no host")
	}
	if r.ended && (len(r.members) > 0 || len(r.chat) > 0) {
		return fmt.Errorf("ended room still has %d participants, %d chat", len(r.members), len(r.chat))
	}
	if len(r.chat) > r.historyLen {
		return fmt.Errorf("chat history %d exceeds %d", len(r.chat), r.historyLen)
	}
	for i, c := range r.chat {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("chat %+v: %w", c, err)
		}
		if i > 0 && c.Seq != r.chat[i-1].Seq+1 {
			return fmt.Errorf("chat seqs not consecutive: %d after %d", c.Seq, r.chat[i-1].Seq)
		}
	}
	if n := len(r.chat); n > 0 && r.chat[n-1].Seq != r.seq {
		return fmt.Errorf("last kept seq %d, room seq %d", r.chat[n-1].Seq, r.seq)
	}
	if len(r.members) == 0 && !r.ended && r.emptySince.IsZero() {
		return fmt.Errorf("empty room has no emptySince")
	}
	if len(r.members) > 0 && r.shouldClose(now) {
		return fmt.Errorf("occupied room wants to close")
	}
	// What the server sends must always be encodable.
	s := r.snapshot()
	for _, p := range s.Participants {
		if _, err := signal.Encode(s.Welcome(p.ID, nil)); err != nil {
			return fmt.Errorf("welcome for %s: %w", p.ID, err)
		}
	}
	return nil
}

// TestConcurrentUse is meant for -race: sessions hammer one room at once.
func TestConcurrentUse(t *testing.T) {
	r := newRoom(t, Config{Limit: 1000})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				p, _, err := r.Join(fmt.Sprint("g", g), "", JoinOptions{}, t0)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = r.AddTrack(p.ID, signal.Track{ID: "mic", Kind: signal.KindAudio})
				_, _ = r.AddChat(p.ID, fmt.Sprint(i), t0)
				_ = r.Snapshot()
				if _, err := r.Leave(p.ID, t0); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := r.check(t0); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d after everyone left", r.Len())
	}
}
