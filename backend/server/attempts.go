package server

import (
	"sync"
	"time"
)

// attempts counts wrong passwords per remote address: after limit
// failures the address must wait lockout before trying again, which turns
// guessing a room password online into years of work.
type attempts struct {
	limit   int
	lockout time.Duration

	mu    sync.Mutex
	addrs map[string]*attemptState
}

type attemptState struct {
	fails        int
	blockedUntil time.Time
	last         time.Time
}

// maxAttemptAddrs bounds the table; past it, entries idle the longest are
// not worth keeping, so prune runs early.
const maxAttemptAddrs = 50_000

func newAttempts(limit int, lockout time.Duration) *attempts {
	return &attempts{limit: limit, lockout: lockout, addrs: make(map[string]*attemptState)}
}

// blocked reports how long addr must still wait, if it must.
func (a *attempts) blocked(addr string, now time.Time) (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.addrs[addr]
	if st == nil || !now.Before(st.blockedUntil) {
		return 0, false
	}
	return st.blockedUntil.Sub(now), true
}

// fail records a wrong password from addr.
func (a *attempts) fail(addr string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.addrs) >= maxAttemptAddrs {
		a.pruneLocked(now)
	}
	st := a.addrs[addr]
	if st == nil {
		st = &attemptState{}
		a.addrs[addr] = st
	}
	st.last = now
	st.fails++
	if st.fails >= a.limit {
		st.fails = 0
		st.blockedUntil = now.Add(a.lockout)
	}
}

// succeed forgets addr's failures.
func (a *attempts) succeed(addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.addrs, addr)
}

// prune drops addresses that are not blocked and were quiet for a while.
func (a *attempts) prune(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pruneLocked(now)
}

func (a *attempts) pruneLocked(now time.Time) {
	for addr, st := range a.addrs {
		if !now.Before(st.blockedUntil) && now.Sub(st.last) > 10*a.lockout {
			delete(a.addrs, addr)
		}
	}
}
