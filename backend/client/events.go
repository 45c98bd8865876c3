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
}

// eventQueue never blocks the reader: events wait in an unbounded slice
// until the application takes them, so none is lost to a slow consumer.
type eventQueue struct {
	out    chan Event
	mu     sync.Mutex
	items  []Event
	wake   chan struct{}
	done   chan struct{}
	closed bool
	pumped chan struct{}
}

func newEventQueue() *eventQueue {
	q := &eventQueue{
		out:    make(chan Event),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		pumped: make(chan struct{}),
	}
	go q.pump()
	return q
}

func (q *eventQueue) push(ev Event) {
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

func (q *eventQueue) pump() {
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
		q.items[0] = Event{}
		q.items = q.items[1:]
		q.mu.Unlock()
		select {
		case q.out <- ev:
		case <-q.done:
			return
		}
	}
}

// close stops delivery; events not yet taken are dropped with the client.
func (q *eventQueue) close() {
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
