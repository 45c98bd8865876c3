package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"parley/backend/room"
	"parley/backend/signal"
)

// access decides how a hello may enter lr, before the room's own checks:
// an invite token (host or guest) skips the password and the lobby; a room
// that requires a token refuses hellos without one; otherwise the password
// is checked here, under the per-address attempt limit. release undoes a
// one-time token's use if the join fails later.
func (sess *session) access(lr *liveRoom, hello *signal.Hello) (opts room.JoinOptions, release func(), err error) {
	s := sess.srv
	now := time.Now()
	if hello.Token != "" {
		claims, release, err := s.tokens.check(hello.Token, lr.state.Name(), now)
		if err != nil {
			return opts, release, err
		}
		return room.JoinOptions{Host: claims.host, Admitted: !claims.host}, release, nil
	}
	release = func() {}
	if lr.cfg.RequireToken {
		return opts, release, signal.Errorf(signal.CodeBadToken, "room %q is by invitation only: open the invite link the host sent you", lr.state.Name())
	}
	if !lr.state.HasPassword() {
		return opts, release, nil
	}
	ip := sess.currentConn().remoteIP
	if wait, blocked := s.attempts.blocked(ip, now); blocked {
		return opts, release, signal.Errorf(signal.CodeRateLimited,
			"too many wrong passwords from your address: try again in %d s", int(wait.Seconds()+0.999))
	}
	if !lr.state.CheckPassword(hello.Password) {
		s.attempts.fail(ip, now)
		return opts, release, signal.Errorf(signal.CodeBadPassword, "wrong password for room %q", lr.state.Name())
	}
	s.attempts.succeed(ip)
	return opts, release, nil
}

// knock is a joiner waiting in a room's lobby.
type knock struct {
	id, name string
	sess     *session // the knocker's, told when the meeting ends first
	removed  bool     // a host removed this device earlier
	// decided receives the host's verdict once (buffered, so the host
	// never waits for the knocker).
	decided chan bool
}

func (k *knock) public() signal.Knock {
	return signal.Knock{ID: k.id, Name: k.name, Removed: k.removed}
}

func newKnockID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return "k" + hex.EncodeToString(b[:])
}

// knock waits in lr's lobby until a host admits (nil) or denies the
// joiner, the joiner goes away, or Config.LobbyTimeout passes.
func (sess *session) knock(lr *liveRoom, hello *signal.Hello, removed bool) error {
	name := signal.SanitizeName(hello.Name)
	if err := signal.ValidateName(name); err != nil {
		return err
	}
	k := &knock{id: newKnockID(), name: name, sess: sess, removed: removed, decided: make(chan bool, 1)}
	lr.mu.Lock()
	if lr.state.Locked() {
		lr.mu.Unlock()
		return signal.Errorf(signal.CodeDenied, "room %q is locked", lr.state.Name())
	}
	lr.knocks[k.id] = k
	lr.sendLocked(&signal.KnockMsg{Knock: k.public()}, lr.hostsV2)
	lr.mu.Unlock()
	sess.log.Info("knocking", "knock", k.id, "name", name)
	c := sess.currentConn()
	if sess.version >= 2 {
		c.sendNow(&signal.Waiting{ID: hello.ID})
	}

	timer := time.NewTimer(sess.srv.cfg.LobbyTimeout)
	defer timer.Stop()
	for {
		select {
		case admitted := <-k.decided:
			if !admitted {
				return signal.Errorf(signal.CodeDenied, "the host did not let you into %q", lr.state.Name())
			}
			return nil
		case f := <-c.frames:
			if f.err != nil {
				lr.withdraw(k)
				return fmt.Errorf("waiting in the lobby: %w", f.err)
			}
			msg, err := signal.DecodeClient(f.data)
			if _, leaving := msg.(*signal.Leave); err == nil && leaving {
				lr.withdraw(k)
				return errLeft
			}
			// A heartbeat is answered here too: a lobby wait can last
			// minutes, over a link that may die as silently as any other.
			if ping, ok := msg.(*signal.Ping); err == nil && ok && sess.version >= 3 {
				c.sendNow(&signal.Pong{ID: ping.ID})
				continue
			}
			c.sendNow(signal.Errorf(signal.CodeBadRequest, "you are waiting for a host to let you in; only leave is possible"))
		case <-timer.C:
			lr.withdraw(k)
			return signal.Errorf(signal.CodeDenied, "no host let you into %q within %v", lr.state.Name(), sess.srv.cfg.LobbyTimeout)
		case <-sess.ctx.Done():
			lr.withdraw(k)
			return fmt.Errorf("waiting in the lobby: %w", errors.Join(errShutdown, sess.ctx.Err()))
		}
	}
}

// withdraw takes a knock out of the lobby if no host decided on it yet.
func (lr *liveRoom) withdraw(k *knock) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if lr.knocks[k.id] != k {
		return
	}
	delete(lr.knocks, k.id)
	lr.sendLocked(&signal.KnockEnded{KnockID: k.id, Outcome: signal.KnockWithdrawn}, lr.hostsV2)
}

// knockers are the sessions waiting in lr's lobby.
func (lr *liveRoom) knockers() []*session {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	out := make([]*session, 0, len(lr.knocks))
	for _, k := range lr.knocks {
		out = append(out, k.sess)
	}
	return out
}

// knockListLocked is the lobby as a new host sees it in welcome, oldest
// first.
func (lr *liveRoom) knockListLocked() []signal.Knock {
	out := make([]signal.Knock, 0, len(lr.knocks))
	for _, k := range lr.knocks {
		out = append(out, k.public())
	}
	// Knock ids are random; sort for a stable order at least.
	slices.SortFunc(out, func(a, b signal.Knock) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// decide admits or denies a knock on behalf of a host.
func (sess *session) decide(id int64, knockID string, admit bool) error {
	lr := sess.room
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if !lr.state.IsHost(sess.id) {
		return signal.Errorf(signal.CodeDenied, "only a host may admit or deny")
	}
	k := lr.knocks[knockID]
	if k == nil {
		return signal.Errorf(signal.CodeNotFound, "nobody is knocking as %q (maybe another host decided)", knockID)
	}
	delete(lr.knocks, knockID)
	k.decided <- admit
	outcome := signal.KnockDenied
	if admit {
		outcome = signal.KnockAdmitted
	}
	ended := signal.KnockEnded{KnockID: knockID, Outcome: outcome, By: sess.id}
	lr.sendLocked(&ended, func(s *session) bool { return s != sess && lr.hostsV2(s) })
	mine := ended
	mine.ID = id
	sess.queueMsg(&mine)
	sess.log.Info("knock decided", "knock", knockID, "outcome", outcome)
	return nil
}
