package room

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"parley/backend/signal"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func seqIDs() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("p%d", n)
	}
}

func newRoom(t *testing.T, cfg Config) *Room {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "standup"
	}
	if cfg.NewID == nil {
		cfg.NewID = seqIDs()
	}
	r, err := New(cfg, t0)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func mustJoin(t *testing.T, r *Room, name string, opts JoinOptions) Participant {
	t.Helper()
	p, _, err := r.Join(name, "", opts, t0)
	if err != nil {
		t.Fatalf("Join(%q): %v", name, err)
	}
	return p
}

func wantCode(t *testing.T, err error, code signal.Code) {
	t.Helper()
	if got := signal.CodeOf(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{Name: "r"}, true},
		{"bad name", Config{Name: "a b"}, false},
		{"empty name", Config{}, false},
		{"negative limit", Config{Name: "r", Limit: -1}, false},
		{"long password", Config{Name: "r", Password: strings.Repeat("x", signal.MaxPasswordBytes+1)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.cfg, t0)
			if (err == nil) != tc.ok {
				t.Fatalf("New = %v, want ok=%v", err, tc.ok)
			}
			if err == nil && (r.Info() != signal.RoomInfo{Name: "r", Limit: DefaultLimit}) {
				t.Fatalf("Info = %+v", r.Info())
			}
		})
	}
}

func TestJoin(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		before   int // participants joined first
		joinName string
		password string
		opts     JoinOptions
		code     signal.Code // "" for success
	}{
		{"ok", Config{}, 0, "Ada", "", JoinOptions{}, ""},
		{"name sanitised", Config{}, 0, "  Ada \n Lovelace ", "", JoinOptions{}, ""},
		{"blank name", Config{}, 0, " \t", "", JoinOptions{}, signal.CodeBadRequest},
		{"password ok", Config{Password: "pw"}, 0, "Ada", "pw", JoinOptions{}, ""},
		{"password wrong", Config{Password: "pw"}, 0, "Ada", "pW", JoinOptions{}, signal.CodeBadPassword},
		{"password missing", Config{Password: "pw"}, 0, "Ada", "", JoinOptions{}, signal.CodeBadPassword},
		{"password prefix", Config{Password: "pw"}, 0, "Ada", "pwx", JoinOptions{}, signal.CodeBadPassword},
		{"password ignored when none set", Config{}, 0, "Ada", "whatever", JoinOptions{}, ""},
		{"host skips password", Config{Password: "pw"}, 0, "Ada", "", JoinOptions{Host: true}, ""},
		{"locked", Config{Locked: true}, 0, "Ada", "", JoinOptions{}, signal.CodeDenied},
		{"host skips lock", Config{Locked: true}, 0, "Ada", "", JoinOptions{Host: true}, ""},
		{"password before lock", Config{Locked: true, Password: "pw"}, 0, "Ada", "x", JoinOptions{}, signal.CodeBadPassword},
		{"password before full", Config{Limit: 1, Password: "pw"}, 1, "Ada", "x", JoinOptions{}, signal.CodeBadPassword},
		{"below limit", Config{Limit: 2}, 1, "Ada", "", JoinOptions{}, ""},
		{"full", Config{Limit: 2}, 2, "Ada", "", JoinOptions{}, signal.CodeRoomFull},
		{"host does not skip limit", Config{Limit: 2}, 2, "Ada", "", JoinOptions{Host: true}, signal.CodeRoomFull},
		{"admitted skips password", Config{Password: "pw"}, 0, "Ada", "", JoinOptions{Admitted: true}, ""},
		{"admitted skips lock", Config{Locked: true}, 0, "Ada", "", JoinOptions{Admitted: true}, ""},
		{"admitted does not skip limit", Config{Limit: 1}, 1, "Ada", "", JoinOptions{Admitted: true}, signal.CodeRoomFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoom(t, tc.cfg)
			for i := range tc.before {
				if _, _, err := r.Join(fmt.Sprint("user", i), "pw", JoinOptions{Host: true}, t0); err != nil {
					t.Fatal(err)
				}
			}
			p, snap, err := r.Join(tc.joinName, tc.password, tc.opts, t0.Add(time.Second))
			if tc.code != "" {
				wantCode(t, err, tc.code)
				if r.Len() != tc.before {
					t.Fatalf("Len = %d after failed join, want %d", r.Len(), tc.before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Join: %v", err)
			}
			if p.Name != signal.SanitizeName(tc.joinName) || !p.JoinedAt.Equal(t0.Add(time.Second)) {
				t.Fatalf("participant = %+v", p)
			}
			if n := len(snap.Participants); n != tc.before+1 || snap.Participants[n-1] != p.Participant {
				t.Fatalf("snapshot participants = %+v, want %d ending with %+v", snap.Participants, tc.before+1, p)
			}
		})
	}
}

func TestJoinEndedRoom(t *testing.T) {
	r := newRoom(t, Config{})
	r.Close()
	_, _, err := r.Join("Ada", "", JoinOptions{Host: true}, t0)
	wantCode(t, err, signal.CodeNotFound)
}

func TestErrorsCarryContext(t *testing.T) {
	r := newRoom(t, Config{Limit: 1})
	mustJoin(t, r, "Ada", JoinOptions{})
	_, _, err := r.Join("Bob", "", JoinOptions{}, t0)
	if !strings.Contains(err.Error(), "room standup: join:") {
		t.Fatalf("error %q lacks context", err)
	}
	if e := signal.AsError(err, 1); strings.Contains(e.Message, "join:") || e.Code != signal.CodeRoomFull {
		t.Fatalf("wire error %+v leaks log context", e)
	}
}

func TestIDs(t *testing.T) {
	t.Run("random ids are unique and valid", func(t *testing.T) {
		r, err := New(Config{Name: "r"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for range 50 {
			p := mustJoin(t, r, "x", JoinOptions{})
			if err := signal.ValidateID("id", p.ID); err != nil || len(p.ID) != 12 || seen[p.ID] {
				t.Fatalf("bad or repeated id %q: %v", p.ID, err)
			}
			seen[p.ID] = true
		}
	})
	t.Run("collisions retried", func(t *testing.T) {
		ids := []string{"a", "a", "a", "b"}
		r := newRoom(t, Config{NewID: func() string { id := ids[0]; ids = ids[1:]; return id }})
		if p := mustJoin(t, r, "x", JoinOptions{}); p.ID != "a" {
			t.Fatalf("id = %q", p.ID)
		}
		if p := mustJoin(t, r, "y", JoinOptions{}); p.ID != "b" {
			t.Fatalf("id = %q", p.ID)
		}
	})
	t.Run("stuck generator", func(t *testing.T) {
		r := newRoom(t, Config{NewID: func() string { return "same" }})
		mustJoin(t, r, "x", JoinOptions{})
		_, _, err := r.Join("y", "", JoinOptions{}, t0)
		wantCode(t, err, signal.CodeInternal)
	})
	t.Run("invalid generator", func(t *testing.T) {
		r := newRoom(t, Config{NewID: func() string { return "not an id" }})
		_, _, err := r.Join("y", "", JoinOptions{}, t0)
		wantCode(t, err, signal.CodeInternal)
	})
}

// roles returns "id:role" for everyone, in join order.
func roles(r *Room) string {
	var out []string
	for _, p := range r.Snapshot().Participants {
		out = append(out, p.ID+":"+string(p.Role))
	}
	return strings.Join(out, " ")
}

func TestRoles(t *testing.T) {
	type step struct {
		join     string // name to join, or
		host     bool   // join with JoinOptions{Host: true}
		leave    string // id to leave
		promoted string // expected promoted ids after leave, space separated
	}
	tests := []struct {
		name     string
		explicit bool
		steps    []step
		want     string
	}{
		{"first is host", false, []step{{join: "a"}, {join: "b"}}, "p1:host p2:guest"},
		{"flagged host joins later", false, []step{{join: "a"}, {join: "b", host: true}}, "p1:host p2:host"},
		{"host leaves, oldest promoted", false,
			[]step{{join: "a"}, {join: "b"}, {join: "c"}, {leave: "p1", promoted: "p2"}}, "p2:host p3:guest"},
		{"guest leaves, nobody promoted", false,
			[]step{{join: "a"}, {join: "b"}, {leave: "p2"}}, "p1:host"},
		{"one of two hosts leaves, nobody promoted", false,
			[]step{{join: "a"}, {join: "b", host: true}, {join: "c"}, {leave: "p1"}}, "p2:host p3:guest"},
		{"room emptied, next joiner is host", false,
			[]step{{join: "a"}, {leave: "p1"}, {join: "b"}}, "p2:host"},
		{"explicit: first joiner is guest", true, []step{{join: "a"}, {join: "b", host: true}}, "p1:guest p2:host"},
		{"explicit: no promotion", true,
			[]step{{join: "a", host: true}, {join: "b"}, {leave: "p1"}}, "p2:guest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoom(t, Config{ExplicitHosts: tc.explicit})
			for _, s := range tc.steps {
				if s.join != "" {
					mustJoin(t, r, s.join, JoinOptions{Host: s.host})
					continue
				}
				d, err := r.Leave(s.leave, t0)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, p := range d.Promoted {
					got = append(got, p.ID)
					if p.Role != signal.RoleHost {
						t.Fatalf("promoted %+v is not host", p)
					}
				}
				if strings.Join(got, " ") != s.promoted {
					t.Fatalf("promoted = %v, want %q", got, s.promoted)
				}
			}
			if got := roles(r); got != tc.want {
				t.Fatalf("roles = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHostActions(t *testing.T) {
	tests := []struct {
		name string
		by   string // p1 is host, p2 guest
		do   func(r *Room, by string) error
		code signal.Code
	}{
		{"host locks", "p1", func(r *Room, by string) error { _, err := r.SetLocked(by, true); return err }, ""},
		{"guest locks", "p2", func(r *Room, by string) error { _, err := r.SetLocked(by, true); return err }, signal.CodeDenied},
		{"stranger locks", "p9", func(r *Room, by string) error { _, err := r.SetLocked(by, true); return err }, signal.CodeNotFound},
		{"host removes", "p1", func(r *Room, by string) error { _, err := r.Remove(by, "p2", t0); return err }, ""},
		{"guest removes", "p2", func(r *Room, by string) error { _, err := r.Remove(by, "p1", t0); return err }, signal.CodeDenied},
		{"remove unknown", "p1", func(r *Room, by string) error { _, err := r.Remove(by, "p9", t0); return err }, signal.CodeNotFound},
		{"host sets limit", "p1", func(r *Room, by string) error { _, err := r.SetLimit(by, 2); return err }, ""},
		{"limit below count", "p1", func(r *Room, by string) error { _, err := r.SetLimit(by, 1); return err }, signal.CodeBadRequest},
		{"limit above ceiling", "p1", func(r *Room, by string) error { _, err := r.SetLimit(by, 11); return err }, signal.CodeBadRequest},
		{"guest sets limit", "p2", func(r *Room, by string) error { _, err := r.SetLimit(by, 5); return err }, signal.CodeDenied},
		{"host ends", "p1", func(r *Room, by string) error { _, err := r.End(by); return err }, ""},
		{"guest ends", "p2", func(r *Room, by string) error { _, err := r.End(by); return err }, signal.CodeDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoom(t, Config{Limit: 10})
			mustJoin(t, r, "host", JoinOptions{})
			mustJoin(t, r, "guest", JoinOptions{})
			before := r.Snapshot()
			err := tc.do(r, tc.by)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code)
			if after := r.Snapshot(); !reflect.DeepEqual(before, after) || r.Ended() {
				t.Fatalf("failed action changed the room: %+v -> %+v", before, after)
			}
		})
	}
}

func TestLockAndLimitAffectJoin(t *testing.T) {
	r := newRoom(t, Config{Limit: 3})
	host := mustJoin(t, r, "host", JoinOptions{})
	info, err := r.SetLocked(host.ID, true)
	if err != nil || !info.Locked {
		t.Fatalf("SetLocked = %+v, %v", info, err)
	}
	_, _, err = r.Join("x", "", JoinOptions{}, t0)
	wantCode(t, err, signal.CodeDenied)
	if _, err := r.SetLocked(host.ID, false); err != nil {
		t.Fatal(err)
	}
	if info, err = r.SetLimit(host.ID, 2); err != nil || info.Limit != 2 {
		t.Fatalf("SetLimit = %+v, %v", info, err)
	}
	mustJoin(t, r, "x", JoinOptions{})
	_, _, err = r.Join("y", "", JoinOptions{}, t0)
	wantCode(t, err, signal.CodeRoomFull)
}

func TestEnd(t *testing.T) {
	r := newRoom(t, Config{})
	host := mustJoin(t, r, "host", JoinOptions{})
	guest := mustJoin(t, r, "guest", JoinOptions{})
	if _, err := r.AddChat(guest.ID, "hi", t0); err != nil {
		t.Fatal(err)
	}
	gone, err := r.End(host.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(gone) != 2 || gone[0].ID != host.ID || gone[1].ID != guest.ID {
		t.Fatalf("End returned %+v", gone)
	}
	if !r.Ended() || !r.ShouldClose(t0) || r.Len() != 0 || len(r.Snapshot().Chat) != 0 {
		t.Fatalf("room not ended cleanly: ended=%v len=%d", r.Ended(), r.Len())
	}
	_, err = r.Leave(guest.ID, t0)
	wantCode(t, err, signal.CodeNotFound)
}

func TestLeave(t *testing.T) {
	r := newRoom(t, Config{})
	a := mustJoin(t, r, "a", JoinOptions{})
	b := mustJoin(t, r, "b", JoinOptions{})
	for _, id := range []string{"mic", "cam"} {
		if _, err := r.AddTrack(a.ID, signal.Track{ID: id, Kind: signal.KindAudio}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.AddTrack(b.ID, signal.Track{ID: "mic", Kind: signal.KindAudio}); err != nil {
		t.Fatal(err)
	}
	d, err := r.Leave(a.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Participant.ID != a.ID || len(d.Tracks) != 2 || d.Tracks[0].ID != "mic" || d.Tracks[1].ID != "cam" {
		t.Fatalf("departure = %+v", d)
	}
	snap := r.Snapshot()
	if len(snap.Tracks) != 1 || snap.Tracks[0].ParticipantID != b.ID {
		t.Fatalf("tracks after leave = %+v", snap.Tracks)
	}
	_, err = r.Leave(a.ID, t0)
	wantCode(t, err, signal.CodeNotFound)
	if d, err := r.Leave(b.ID, t0); err != nil || d.Tracks == nil || d.Promoted != nil {
		t.Fatalf("Leave = %+v, %v", d, err)
	}
}

func TestTracks(t *testing.T) {
	audio := func(id string) signal.Track { return signal.Track{ID: id, Kind: signal.KindAudio} }
	tests := []struct {
		name      string
		maxTracks int
		existing  []string
		pid       string
		track     signal.Track
		code      signal.Code
	}{
		{"ok", 0, nil, "p1", audio("mic"), ""},
		{"owner overwritten", 0, nil, "p1", signal.Track{ID: "mic", ParticipantID: "p2", Kind: signal.KindAudio}, ""},
		{"fourth of four", 0, []string{"a", "b", "c"}, "p1", audio("d"), ""},
		{"fifth of four", 0, []string{"a", "b", "c", "d"}, "p1", audio("e"), signal.CodeDenied},
		{"custom limit", 1, []string{"a"}, "p1", audio("b"), signal.CodeDenied},
		{"receive only", -1, nil, "p1", audio("a"), signal.CodeDenied},
		{"duplicate id", 0, []string{"mic"}, "p1", audio("mic"), signal.CodeBadRequest},
		{"same id, other participant", 0, []string{"mic"}, "p2", audio("mic"), ""},
		{"bad kind", 0, nil, "p1", signal.Track{ID: "x", Kind: "data"}, signal.CodeBadRequest},
		{"bad id", 0, nil, "p1", signal.Track{ID: "a b", Kind: signal.KindVideo}, signal.CodeBadRequest},
		{"unknown participant", 0, nil, "p9", audio("mic"), signal.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoom(t, Config{MaxTracks: tc.maxTracks})
			mustJoin(t, r, "a", JoinOptions{})
			mustJoin(t, r, "b", JoinOptions{})
			for _, id := range tc.existing {
				if _, err := r.AddTrack("p1", audio(id)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := r.AddTrack(tc.pid, tc.track)
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			want := tc.track
			want.ParticipantID = tc.pid
			if err != nil || got != want {
				t.Fatalf("AddTrack = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}

func TestMuteAndUnpublish(t *testing.T) {
	r := newRoom(t, Config{})
	p := mustJoin(t, r, "a", JoinOptions{})
	if _, err := r.AddTrack(p.ID, signal.Track{ID: "mic", Kind: signal.KindAudio}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		muted   bool
		changed bool
	}{{true, true}, {true, false}, {false, true}}
	for _, s := range steps {
		tr, changed, err := r.SetMuted(p.ID, "mic", s.muted)
		if err != nil || tr.Muted != s.muted || changed != s.changed || tr.ParticipantID != p.ID {
			t.Fatalf("SetMuted(%v) = %+v, %v, %v", s.muted, tr, changed, err)
		}
	}
	_, _, err := r.SetMuted(p.ID, "cam", true)
	wantCode(t, err, signal.CodeNotFound)
	_, _, err = r.SetMuted("p9", "mic", true)
	wantCode(t, err, signal.CodeNotFound)

	if tr, err := r.RemoveTrack(p.ID, "mic"); err != nil || tr.ID != "mic" {
		t.Fatalf("RemoveTrack = %+v, %v", tr, err)
	}
	_, err = r.RemoveTrack(p.ID, "mic")
	wantCode(t, err, signal.CodeNotFound)
	_, err = r.RemoveTrack("p9", "mic")
	wantCode(t, err, signal.CodeNotFound)
}

func TestChat(t *testing.T) {
	r := newRoom(t, Config{ChatHistory: 3})
	a := mustJoin(t, r, "Ada", JoinOptions{})
	for i := 1; i <= 5; i++ {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		c, err := r.AddChat(a.ID, fmt.Sprint("msg ", i), now)
		if err != nil {
			t.Fatal(err)
		}
		want := signal.ChatMessage{Seq: int64(i), From: a.ID, Name: "Ada", Text: fmt.Sprint("msg ", i), TS: now.UnixMilli()}
		if c != want {
			t.Fatalf("AddChat = %+v, want %+v", c, want)
		}
	}
	var seqs []int64
	for _, c := range r.Snapshot().Chat {
		seqs = append(seqs, c.Seq)
	}
	if !reflect.DeepEqual(seqs, []int64{3, 4, 5}) {
		t.Fatalf("history seqs = %v, want [3 4 5]", seqs)
	}

	rejects := []struct {
		name, pid, text string
		code            signal.Code
	}{
		{"empty", a.ID, "", signal.CodeBadRequest},
		{"blank", a.ID, " \n", signal.CodeBadRequest},
		{"too long", a.ID, strings.Repeat("x", signal.MaxChatRunes+1), signal.CodeBadRequest},
		{"control", a.ID, "a\x00", signal.CodeBadRequest},
		{"stranger", "p9", "hi", signal.CodeNotFound},
	}
	for _, tc := range rejects {
		_, err := r.AddChat(tc.pid, tc.text, t0)
		if signal.CodeOf(err) != tc.code {
			t.Errorf("%s: AddChat error = %v, want %s", tc.name, err, tc.code)
		}
	}
	// A rejected message consumes no seq.
	if c, _ := r.AddChat(a.ID, "next", t0); c.Seq != 6 {
		t.Fatalf("seq after rejections = %d, want 6", c.Seq)
	}
	// A zero clock still yields a valid message.
	if c, _ := r.AddChat(a.ID, "old", time.Time{}); c.Validate() != nil {
		t.Fatalf("chat with zero time is invalid: %+v", c)
	}
}

func TestChatDefaultHistoryAndNone(t *testing.T) {
	tests := []struct {
		history, want int
	}{{0, DefaultChatHistory}, {-1, 0}}
	for _, tc := range tests {
		r := newRoom(t, Config{ChatHistory: tc.history})
		p := mustJoin(t, r, "a", JoinOptions{})
		for range DefaultChatHistory + 10 {
			if _, err := r.AddChat(p.ID, "x", t0); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(r.Snapshot().Chat); got != tc.want {
			t.Errorf("ChatHistory %d: kept %d, want %d", tc.history, got, tc.want)
		}
	}
}

func TestGracePeriod(t *testing.T) {
	type step struct {
		at     time.Duration // since t0
		op     string        // "join", "leave", "check", "closeIfIdle"
		closes bool          // for check and closeIfIdle
	}
	tests := []struct {
		name  string
		grace time.Duration
		steps []step
	}{
		{"never joined", 0, []step{
			{9 * time.Second, "check", false},
			{10 * time.Second, "check", true},
		}},
		{"occupied room stays", 0, []step{
			{0, "join", false},
			{time.Hour, "check", false},
		}},
		{"grace after last leaves", 0, []step{
			{0, "join", false},
			{time.Minute, "leave", false},
			{time.Minute + 9*time.Second, "check", false},
			{time.Minute + 10*time.Second, "check", true},
		}},
		{"join during grace cancels", 0, []step{
			{0, "join", false},
			{time.Minute, "leave", false},
			{time.Minute + 5*time.Second, "join", false},
			{time.Minute + 20*time.Second, "check", false},
			{time.Minute + 30*time.Second, "leave", false},
			{time.Minute + 39*time.Second, "check", false},
			{time.Minute + 40*time.Second, "check", true},
		}},
		{"custom grace", time.Second, []step{
			{999 * time.Millisecond, "check", false},
			{time.Second, "check", true},
		}},
		{"no grace", -1, []step{
			{0, "check", true},
		}},
		{"closeIfIdle too early", 0, []step{
			{5 * time.Second, "closeIfIdle", false},
			{6 * time.Second, "join", false},
		}},
		{"closeIfIdle then join fails", 0, []step{
			{10 * time.Second, "closeIfIdle", true},
			{10 * time.Second, "join-fails", true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoom(t, Config{Grace: tc.grace})
			var ids []string
			for _, s := range tc.steps {
				now := t0.Add(s.at)
				switch s.op {
				case "join":
					p, _, err := r.Join("x", "", JoinOptions{}, now)
					if err != nil {
						t.Fatalf("at %v: join: %v", s.at, err)
					}
					ids = append(ids, p.ID)
				case "join-fails":
					_, _, err := r.Join("x", "", JoinOptions{}, now)
					wantCode(t, err, signal.CodeNotFound)
				case "leave":
					if _, err := r.Leave(ids[0], now); err != nil {
						t.Fatal(err)
					}
					ids = ids[1:]
					if since, ok := r.EmptySince(); len(ids) == 0 && (!ok || !since.Equal(now)) {
						t.Fatalf("EmptySince = %v, %v; want %v", since, ok, now)
					}
				case "check":
					if got := r.ShouldClose(now); got != s.closes {
						t.Fatalf("at %v: ShouldClose = %v, want %v", s.at, got, s.closes)
					}
				case "closeIfIdle":
					if got := r.CloseIfIdle(now); got != s.closes || r.Ended() != s.closes {
						t.Fatalf("at %v: CloseIfIdle = %v, Ended = %v, want %v", s.at, got, r.Ended(), s.closes)
					}
				}
			}
		})
	}
}

func TestEmptySinceWhileOccupied(t *testing.T) {
	r := newRoom(t, Config{})
	if since, ok := r.EmptySince(); !ok || !since.Equal(t0) {
		t.Fatalf("new room EmptySince = %v, %v", since, ok)
	}
	mustJoin(t, r, "a", JoinOptions{})
	if _, ok := r.EmptySince(); ok {
		t.Fatal("occupied room reports empty")
	}
}

func TestSnapshotWelcome(t *testing.T) {
	r := newRoom(t, Config{})
	a := mustJoin(t, r, "a", JoinOptions{})
	if _, err := r.AddTrack(a.ID, signal.Track{ID: "mic", Kind: signal.KindAudio}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddChat(a.ID, "hi", t0); err != nil {
		t.Fatal(err)
	}
	b, snap, err := r.Join("b", "", JoinOptions{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	w := snap.Welcome(b.ID, nil)
	data, err := signal.Encode(w)
	if err != nil {
		t.Fatalf("Encode(welcome): %v", err)
	}
	for _, want := range []string{`"iceServers":[]`, `"tracks":[{"id":"mic","participantId":"p1"`, `"chat":[{"seq":1`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("welcome %s lacks %s", data, want)
		}
	}
	// The snapshot is a copy: mutating it must not touch the room.
	snap.Participants[0].Name = "mallory"
	snap.Chat[0].Text = "forged"
	if s := r.Snapshot(); s.Participants[0].Name != "a" || s.Chat[0].Text != "hi" {
		t.Fatal("snapshot aliases room state")
	}
	empty := newRoom(t, Config{}).Snapshot()
	if empty.Participants == nil || empty.Tracks == nil || empty.Chat == nil {
		t.Fatalf("empty snapshot has nil slices: %+v", empty)
	}
}

func TestParticipantLookup(t *testing.T) {
	r := newRoom(t, Config{})
	a := mustJoin(t, r, "a", JoinOptions{})
	if got, ok := r.Participant(a.ID); !ok || got != a {
		t.Fatalf("Participant = %+v, %v", got, ok)
	}
	if _, ok := r.Participant("p9"); ok {
		t.Fatal("found unknown participant")
	}
	if r.Name() != "standup" {
		t.Fatalf("Name = %q", r.Name())
	}
}

func TestMuteOther(t *testing.T) {
	r := newRoom(t, Config{})
	host := mustJoin(t, r, "host", JoinOptions{})
	guest := mustJoin(t, r, "guest", JoinOptions{})
	for _, p := range []Participant{host, guest} {
		if _, err := r.AddTrack(p.ID, signal.Track{ID: "mic", Kind: signal.KindAudio}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		by, pid  string
		muted    bool
		changed  bool
		wantCode signal.Code
	}{
		{"host mutes guest", host.ID, guest.ID, true, true, ""},
		{"again is no change", host.ID, guest.ID, true, false, ""},
		{"host may not unmute", host.ID, guest.ID, false, false, signal.CodeDenied},
		{"guest may not mute host", guest.ID, host.ID, true, false, signal.CodeDenied},
		{"unknown target", host.ID, "p9", true, false, signal.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, changed, err := r.MuteOther(tc.by, tc.pid, "mic", tc.muted)
			if tc.wantCode != "" {
				wantCode(t, err, tc.wantCode)
				return
			}
			if err != nil || !tr.Muted || changed != tc.changed {
				t.Fatalf("MuteOther = %+v, %v, %v", tr, changed, err)
			}
		})
	}
	// The participant may unmute themselves.
	if tr, changed, err := r.SetMuted(guest.ID, "mic", false); err != nil || tr.Muted || !changed {
		t.Fatalf("SetMuted(false) = %+v, %v, %v", tr, changed, err)
	}
}

func TestChatLengthLimit(t *testing.T) {
	r := newRoom(t, Config{MaxChatRunes: 5})
	p := mustJoin(t, r, "a", JoinOptions{})
	if _, err := r.AddChat(p.ID, "héllo", t0); err != nil {
		t.Fatalf("5 runes: %v", err)
	}
	_, err := r.AddChat(p.ID, "hello!", t0)
	wantCode(t, err, signal.CodeBadRequest)
	if !r.IsHost(p.ID) || r.IsHost("p9") {
		t.Fatal("IsHost wrong")
	}
}
