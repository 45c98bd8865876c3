package nat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"parley/backend/bot"
	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/server"
	psignal "parley/backend/signal"

	"parley/testing/netnstest"
)

// TestChild is the entry point of re-executed children; it does nothing
// in a normal test run.
func TestChild(t *testing.T) {
	role := os.Getenv(roleEnv)
	if role == "" {
		t.Skip("only runs as a child process of the namespace tests")
	}
	if err := netnstest.CheckIsolated(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch role {
	case "server":
		err = runServer(ctx)
	case "bot":
		err = runBot(ctx)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		// On stderr: the parent keeps only JSON lines of stdout, and
		// prints a failed child's stderr.
		fmt.Fprintf(os.Stderr, "%s: %v\n", role, err)
		t.FailNow()
	}
}

// out prints one JSON line; children talk to the test only this way.
var outMu sync.Mutex

func out(v map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	v["t"] = time.Now().UnixMilli()
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// stdinClosed is closed when the test closes our stdin: time to go.
func readCommands(handle func(map[string]any)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			var cmd map[string]any
			if json.Unmarshal(sc.Bytes(), &cmd) == nil {
				handle(cmd)
			}
		}
	}()
	return done
}

func runServer(ctx context.Context) error {
	cfg := server.Config{
		Addr:          os.Getenv("PARLEY_NAT_ADDR"),
		AdvertiseHost: os.Getenv("PARLEY_NAT_ADVERTISE"),
		Assets:        fstest.MapFS{"index.html": {Data: []byte("<title>Parley</title>")}},
		Log:           logger(),
		OpenRooms:     true,
		RTC:           rtcconf.Options{Interfaces: []string{"eth0"}},
	}
	// A browser guest needs the real frontend, over HTTPS (no camera on
	// plain HTTP off localhost).
	if dir := os.Getenv("PARLEY_NAT_ASSETS"); dir != "" {
		cfg.Assets = os.DirFS(dir)
	}
	if dir := os.Getenv("PARLEY_NAT_CERT_DIR"); dir != "" {
		cert, err := server.LoadOrCreateCert(dir)
		if err != nil {
			return err
		}
		cfg.Certificate = &cert
	}
	if port := os.Getenv("PARLEY_NAT_TURN_PORT"); port != "" {
		p, err := strconv.Atoi(port)
		if err != nil {
			return err
		}
		cfg.TURN = &server.TURNConfig{Port: p}
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	out(map[string]any{"url": srv.InviteURL("nat")})
	select {
	case <-readCommands(func(map[string]any) {}):
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func runBot(ctx context.Context) error {
	media, err := bot.EncodeMedia()
	if err != nil {
		return err
	}
	opts := client.Options{
		Name: os.Getenv("PARLEY_NAT_NAME"),
		Log:  logger(),
		RTC:  rtcconf.Options{Interfaces: []string{"eth0"}},
		// A bot that must not use the relay shows whether a direct path
		// exists.
		NoRelay:   os.Getenv("PARLEY_NAT_NO_RELAY") != "",
		RelayOnly: os.Getenv("PARLEY_NAT_RELAY_ONLY") != "",
	}
	// One retry: a hello through the NAT routers once went unanswered
	// for 15 s (not understood yet); a user would press Join again. The
	// first failure stays on stderr for the record.
	var c *client.Client
	for attempt := 1; ; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		c, err = client.Dial(dctx, os.Getenv("PARLEY_NAT_URL"), opts)
		cancel()
		if err == nil || attempt == 2 || ctx.Err() != nil {
			break
		}
		fmt.Fprintf(os.Stderr, "join attempt %d: %v; retrying\n", attempt, err)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	pub, err := bot.Publish(ctx, c, media)
	if err != nil {
		return err
	}
	defer pub.Stop()
	out(map[string]any{"joined": c.ID()})
	stdin := readCommands(func(cmd map[string]any) {
		if text, ok := cmd["chat"].(string); ok {
			if err := c.SendChat(text); err != nil {
				out(map[string]any{"error": err.Error()})
			}
		}
	})
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	tick := 0
	for {
		select {
		case <-stdin:
			return c.Leave()
		case <-ctx.Done():
			return nil
		case <-c.Done():
			return fmt.Errorf("session ended: %w", c.Err())
		case <-ticker.C:
			frames := map[string]uint64{}
			for _, st := range c.Stats() {
				if st.Kind == psignal.KindVideo {
					frames[st.ParticipantID] += st.Frames
				}
			}
			line := map[string]any{"frames": frames}
			if tick++; tick%10 == 0 {
				line["candidates"] = c.SelectedCandidates()
			}
			out(line)
		case ev := <-c.Events():
			switch m := ev.Message.(type) {
			case *psignal.ParticipantLeft:
				out(map[string]any{"event": "left", "participant": m.ParticipantID})
			case *psignal.ParticipantState:
				out(map[string]any{"event": "state", "participant": m.ParticipantID, "state": m.State})
			case *psignal.Chat:
				out(map[string]any{"event": "chat", "text": m.Text, "seq": m.Seq})
			}
			if ev.State != "" {
				out(map[string]any{"event": "own-state", "state": ev.State})
			}
		}
	}
}
