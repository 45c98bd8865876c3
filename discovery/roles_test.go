package discovery

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"parley/testing/netnstest"
)

// The LAN tests run this test binary again inside network namespaces; the
// environment says which role the copy plays. Roles report JSON lines on
// stdout and take JSON commands on stdin; they stop when stdin closes.
const (
	roleEnv   = "PARLEY_DISCOVERY_TEST_ROLE"
	configEnv = "PARLEY_DISCOVERY_TEST_CONFIG"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Getenv(configEnv)))
	}
	goleak.VerifyTestMain(m)
}

// roleConfig is passed to a role as JSON in configEnv.
type roleConfig struct {
	Room  Room          `json:"room"`
	TTL   time.Duration `json:"ttl"`
	Names []string      `json:"names"` // interface names (ifaces role)
}

// report is one line a role prints.
type report struct {
	Event    string   `json:"event"`
	MS       int64    `json:"ms"` // since the role started advertising or browsing
	Instance string   `json:"instance,omitempty"`
	Entry    *Entry   `json:"entry,omitempty"`
	Rooms    []Entry  `json:"rooms,omitempty"`
	Leaks    string   `json:"leaks,omitempty"`
	Error    string   `json:"error,omitempty"`
	Names    []string `json:"names,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// roleCommand is one line a role reads.
type roleCommand struct {
	Cmd          string `json:"cmd"` // "update", "rooms", "close"
	Participants int    `json:"participants"`
}

type reporter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (r *reporter) send(rep report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.enc.Encode(rep)
}

func runRole(role, config string) int {
	out := &reporter{enc: json.NewEncoder(os.Stdout)}
	fail := func(err error) int {
		out.send(report{Event: "error", Error: err.Error()})
		return 1
	}
	if err := netnstest.CheckIsolated(); err != nil {
		return fail(err)
	}
	var cfg roleConfig
	if err := json.Unmarshal([]byte(config), &cfg); err != nil {
		return fail(fmt.Errorf("role config: %w", err))
	}
	// A role never outlives a test, even if its parent vanished without
	// closing stdin.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))

	var err error
	switch role {
	case "advertise":
		err = roleAdvertise(ctx, cfg, out, log)
	case "browse":
		err = roleBrowse(ctx, out, log)
	case "badresponder":
		err = roleBadResponder(ctx, out)
	case "ifaces":
		roleIfaces(cfg, out)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// commands reads stdin commands until EOF; the channel closes then.
func commands() <-chan roleCommand {
	ch := make(chan roleCommand)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			var c roleCommand
			if json.Unmarshal(sc.Bytes(), &c) == nil {
				ch <- c
			}
		}
	}()
	return ch
}

func leaks(opt goleak.Option) string {
	if err := goleak.Find(opt); err != nil {
		return err.Error()
	}
	return ""
}

func roleAdvertise(ctx context.Context, cfg roleConfig, out *reporter, log *slog.Logger) error {
	cmds := commands()
	ignore := goleak.IgnoreCurrent()
	start := time.Now()
	a, err := Advertise(ctx, cfg.Room, AdvertiseOptions{TTL: cfg.TTL, Logger: log})
	if err != nil {
		return err
	}
	out.send(report{Event: "advertising", MS: time.Since(start).Milliseconds(), Instance: a.Instance()})
	room := cfg.Room
	for {
		select {
		case <-ctx.Done():
			a.Close()
			return ctx.Err()
		case c, ok := <-cmds:
			if !ok || c.Cmd == "close" {
				a.Close()
				out.send(report{Event: "closed", Leaks: leaks(ignore)})
				return nil
			}
			if c.Cmd == "update" {
				room.Participants = c.Participants
				if err := a.Update(room); err != nil {
					return err
				}
				out.send(report{Event: "updated"})
			}
		}
	}
}

func roleBrowse(ctx context.Context, out *reporter, log *slog.Logger) error {
	cmds := commands()
	ignore := goleak.IgnoreCurrent()
	start := time.Now()
	b, err := Browse(ctx, BrowseOptions{Logger: log})
	if err != nil {
		return err
	}
	out.send(report{Event: "ready", MS: time.Since(start).Milliseconds()})
	for {
		select {
		case ev, ok := <-b.Events():
			if !ok {
				return fmt.Errorf("events closed: %w", ctx.Err())
			}
			out.send(report{Event: ev.Kind.String(), MS: time.Since(start).Milliseconds(), Entry: &ev.Entry})
		case c, ok := <-cmds:
			if !ok || c.Cmd == "close" {
				b.Close()
				// Events must be closed once Close returns.
				for range b.Events() {
				}
				out.send(report{Event: "closed", Leaks: leaks(ignore)})
				return nil
			}
			if c.Cmd == "rooms" {
				out.send(report{Event: "rooms", MS: time.Since(start).Milliseconds(), Rooms: b.Rooms()})
			}
		}
	}
}

func roleIfaces(cfg roleConfig, out *reporter) {
	var rep report
	rep.Event = "ifaces"
	def, err := DefaultInterfaces()
	if err != nil {
		rep.Error = err.Error()
	}
	for _, ifi := range def {
		rep.Names = append(rep.Names, ifi.Name)
	}
	for _, name := range cfg.Names {
		got, err := InterfacesByName([]string{name})
		switch {
		case err != nil:
			rep.Errors = append(rep.Errors, err.Error())
		default:
			var names []string
			for _, ifi := range got {
				names = append(names, ifi.Name)
			}
			rep.Errors = append(rep.Errors, fmt.Sprint("ok ", names))
		}
	}
	out.send(rep)
}

// firstIPv4 returns an interface's first IPv4 address.
func firstIPv4(ifi *net.Interface) (net.IP, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && ipnet.IP.To4() != nil {
			return ipnet.IP.To4(), nil
		}
	}
	return nil, fmt.Errorf("%s has no IPv4 address", ifi.Name)
}
