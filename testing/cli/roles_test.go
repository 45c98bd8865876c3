package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"parley/backend/client"
	"parley/testing/netnstest"
)

// The LAN tests run this test binary again inside a network namespace
// as a participant `parley join` cannot play: one that locks the room.
// roleEnv names the role and urlEnv the invite link.
const (
	roleEnv = "PARLEY_CLI_TEST_ROLE"
	urlEnv  = "PARLEY_CLI_TEST_URL"
)

// lockCommand is one line the "locker" role reads on stdin.
type lockCommand struct {
	Locked bool `json:"locked"`
}

// runRole plays role and returns the exit status.
func runRole(role string) int {
	if err := netnstest.CheckIsolated(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if role != "locker" {
		fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
		return 1
	}
	if err := runLocker(os.Getenv(urlEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "locker:", err)
		return 1
	}
	return 0
}

// runLocker joins the room (first in, so its host), then locks or
// unlocks it for each line on stdin, printing {"event":"locked",…} once
// the server confirmed. It leaves when stdin closes.
func runLocker(invite string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, invite, client.Options{Name: "Locker", ConnectTimeout: 20 * time.Second})
	if err != nil {
		return fmt.Errorf("join %s: %w", invite, err)
	}
	defer c.Close()
	// Nobody reads the room's events; drain them so the client's queue
	// does not grow until the role ends.
	go func() {
		for range c.Events() {
		}
	}()
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(map[string]any{"event": "joined", "id": c.ID()}); err != nil {
		return fmt.Errorf("report joined: %w", err)
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var cmd lockCommand
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			return fmt.Errorf("command %q: %w", sc.Text(), err)
		}
		if err := c.SetLocked(ctx, cmd.Locked); err != nil {
			return fmt.Errorf("set locked %v: %w", cmd.Locked, err)
		}
		if err := enc.Encode(map[string]any{"event": "locked", "locked": cmd.Locked}); err != nil {
			return fmt.Errorf("report locked: %w", err)
		}
	}
	if err := c.Leave(); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	return nil
}
