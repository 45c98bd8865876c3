package client

import (
	"sync"

	"parley/backend/signal"
)

// Event is one thing that happened in the room: a server message
// (Message), or the media of a remote track arriving (Track).
type Event struct {
	Message signal.Message
	Track   *RemoteTrack
	// State is our own connection's change: reconnecting when it dropped
	// (the client is resuming the session), connected once resumed (a
	// Welcome with Resumed set precedes it, with the room as it is now).
	State signal.ConnState
}

// eventQueue never blocks the reader: events wait in an unbounded slice
// until the application takes them, so none is lost to a slow consumer.
type eventQueue = fifo[Event]

// fifo is an unbounded queue drained in order through out.
type fifo[T any] struct {
	out    chan T
	mu     sync.Mutex
	items  []T
	wake   chan struct{}
	done   chan struct{}
	closed bool
	pumped chan struct{}
}

func newEventQueue() *eventQueue { return newFIFO[Event]() }

func newFIFO[T any]() *fifo[T] {
	q := &fifo[T]{
		out:    make(chan T),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		pumped: make(chan struct{}),
	}
	go q.pump()
	return q
}

func (q *fifo[T]) push(ev T) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *fifo[T]) pump() {
	defer close(q.pumped)
	defer close(q.out)
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-q.done:
				return
			}
		}
		ev := q.items[0]
		var zero T
		q.items[0] = zero
		q.items = q.items[1:]
		q.mu.Unlock()
		select {
		case q.out <- ev:
		case <-q.done:
			return
		}
	}
}

// close stops delivery; items not yet taken are dropped.
func (q *fifo[T]) close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	q.mu.Unlock()
	close(q.done)
	<-q.pumped
}
