package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"parley/backend/client"
	"parley/backend/server"
	"parley/testing/meetingtest"
)

// The sweeper walks every room once per SweepInterval while joins and
// leaves change them. A sweep every millisecond makes any lock-order
// mistake between the two (a join holding the room while it registers
// its resume token, the sweeper holding the server while it looks into
// the room) a hang: joins stop and Shutdown never returns.
func TestJoinsAndLeavesRaceTheSweeper(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{SweepInterval: time.Millisecond})
	invite := srv.InviteURL("test")
	stay := meetingtest.Join(t, invite, "Ada", client.Options{})
	for i := range 12 {
		c, err := meetingtest.TryJoin(invite, fmt.Sprintf("Guest %d", i), client.Options{})
		if err != nil {
			t.Fatalf("join %d while the sweeper runs: %v", i, err)
		}
		if err := c.Leave(); err != nil {
			t.Fatalf("leave %d: %v", i, err)
		}
		_ = c.Close()
	}
	if stay.ID() == "" {
		t.Fatal("Ada lost her place")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown after the joins: %v", err)
	}
}
