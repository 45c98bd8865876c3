package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/signal"
	"parley/testing/netnstest"
)

// The LAN tests run this test binary again inside a network namespace
// as a participant `parley join` cannot play: one that locks the room
// ("locker"), or one that tells at any moment how much video it has
// received ("watcher": `parley join` reports that only when it leaves).
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
	var err error
	switch role {
	case "locker":
		err = runLocker(os.Getenv(urlEnv))
	case "watcher":
		err = runWatcher(os.Getenv(urlEnv))
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, role+":", err)
		return 1
	}
	return 0
}

// runLocker joins the room (first in, so its host), then locks or
// unlocks it for each line on stdin, printing {"event":"locked",…} once
// the server confirmed. It leaves when stdin closes.
func runLocker(invite string) error {
	return serveLines(invite, client.Options{Name: "Locker", ConnectTimeout: 20 * time.Second},
		func(ctx context.Context, c *client.Client, line []byte, enc *json.Encoder) error {
			var cmd lockCommand
			if err := json.Unmarshal(line, &cmd); err != nil {
				return fmt.Errorf("command %q: %w", line, err)
			}
			if err := c.SetLocked(ctx, cmd.Locked); err != nil {
				return fmt.Errorf("set locked %v: %w", cmd.Locked, err)
			}
			if err := enc.Encode(map[string]any{"event": "locked", "locked": cmd.Locked}); err != nil {
				return fmt.Errorf("report locked: %w", err)
			}
			return nil
		})
}

// runWatcher joins the room without publishing and, for each line on
// stdin, prints {"event":"frames","video":{participant id: frames},
// "rttKnown":bool}: the video frames received so far from each
// participant, and whether it knows its round trip to the server. It
// leaves when stdin closes. Its ICE is set up as `parley join` sets up
// its own (every interface, plus loopback), and its log (ICE restarts)
// goes to stderr, which the test shows when it fails.
func runWatcher(invite string) error {
	opts := client.Options{
		Name:           "Watcher",
		ConnectTimeout: 20 * time.Second,
		RTC:            rtcconf.Options{IncludeLoopback: true},
		Log:            slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	return serveLines(invite, opts, func(_ context.Context, c *client.Client, _ []byte, enc *json.Encoder) error {
		video := map[string]uint64{}
		for _, st := range c.ReceivedStats() {
			if st.Kind == signal.KindVideo {
				video[st.ParticipantID] += st.Frames
			}
		}
		_, rttKnown := c.RoundTripTime()
		if err := enc.Encode(map[string]any{"event": "frames", "video": video, "rttKnown": rttKnown}); err != nil {
			return fmt.Errorf("report frames: %w", err)
		}
		return nil
	})
}

// serveLines joins the room as a role, prints {"event":"joined","id":…},
// calls handle for each line on stdin (which prints its answers with
// enc), and leaves when stdin closes.
func serveLines(invite string, opts client.Options, handle func(ctx context.Context, c *client.Client, line []byte, enc *json.Encoder) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, invite, opts)
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
		if err := handle(ctx, c, sc.Bytes(), enc); err != nil {
			return err
		}
	}
	if err := c.Leave(); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	return nil
}
