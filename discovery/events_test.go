package discovery

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func ev(kind EventKind, id string, participants int) Event {
	return Event{Kind: kind, Entry: Entry{ID: id, Room: Room{Participants: participants}}}
}

func TestEventQueueCoalesces(t *testing.T) {
	tests := []struct {
		name string
		push []Event
		want []Event
	}{
		{"in order", []Event{ev(Added, "a", 1), ev(Added, "b", 1)}, []Event{ev(Added, "a", 1), ev(Added, "b", 1)}},
		{"added then updated", []Event{ev(Added, "a", 1), ev(Updated, "a", 2)}, []Event{ev(Added, "a", 2)}},
		{"updates merge", []Event{ev(Updated, "a", 1), ev(Updated, "a", 2)}, []Event{ev(Updated, "a", 2)}},
		{"added then removed vanishes", []Event{ev(Added, "a", 1), ev(Added, "b", 1), ev(Removed, "a", 1)}, []Event{ev(Added, "b", 1)}},
		{"updated then removed", []Event{ev(Updated, "a", 1), ev(Removed, "a", 1)}, []Event{ev(Removed, "a", 1)}},
		{"removed then added is an update", []Event{ev(Removed, "a", 1), ev(Added, "a", 3)}, []Event{ev(Updated, "a", 3)}},
		{"vanished then back", []Event{ev(Added, "a", 1), ev(Removed, "a", 1), ev(Added, "a", 2)}, []Event{ev(Added, "a", 2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newEventQueue()
			for _, e := range tt.push {
				q.push(e)
			}
			got := q.take()
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
			if again := q.take(); len(again) != 0 {
				t.Errorf("second take: %v", again)
			}
		})
	}
}

func TestEventQueueDelivers(t *testing.T) {
	q := newEventQueue()
	out := make(chan Event)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		q.deliver(ctx, out)
		close(done)
	}()
	q.push(ev(Added, "a", 1))
	select {
	case got := <-out:
		if got.Kind != Added || got.Entry.ID != "a" {
			t.Errorf("got %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event delivered")
	}
	// A consumer that stops reading must not block pushes.
	for i := range 1000 {
		q.push(ev(Updated, "a", i))
	}
	cancel()
	<-done
	if _, ok := <-out; ok {
		t.Error("events channel not closed after the browser stopped")
	}
}

func TestEventKindText(t *testing.T) {
	for k, want := range map[EventKind]string{Added: "added", Updated: "updated", Removed: "removed", 0: "unknown"} {
		if b, _ := k.MarshalText(); string(b) != want {
			t.Errorf("%d: %q, want %q", k, b, want)
		}
	}
}
