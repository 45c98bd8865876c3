package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var parley string

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	os.Exit(run(m))
}

// run builds the binary unless PARLEY_BIN names one (make test does).
func run(m *testing.M) int {
	parley = os.Getenv("PARLEY_BIN")
	if parley == "" {
		dir, err := os.MkdirTemp("", "parley-cli-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		parley = filepath.Join(dir, "parley")
		build := exec.Command("go", "build", "-o", parley, "../..")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build parley:", err)
			return 1
		}
	}
	return m.Run()
}

// command runs parley with a private config dir (for the host
// certificate), its stdout captured line by line.
type command struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	done   chan struct{}
}

func start(t *testing.T, configDir string, args ...string) *command {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, parley, args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+configDir)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	c := &command{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	cmd.Stderr = &c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		_ = cmd.Wait()
		cancel()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		<-c.done
	})
	return c
}

// nextEvent reads JSON lines until one whose "event" is name, for at
// most d; nil, and whether the command's output ended, if none came.
func (c *command) nextEvent(name string, d time.Duration) (ev map[string]any, exited bool) {
	deadline := time.After(d)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				return nil, true
			}
			if json.Unmarshal([]byte(line), &ev) == nil && ev["event"] == name {
				return ev, false
			}
			ev = nil
		case <-deadline:
			return nil, false
		}
	}
}

// event waits for a JSON line whose "event" is name.
func (c *command) event(t *testing.T, name string, timeout time.Duration) map[string]any {
	t.Helper()
	ev, exited := c.nextEvent(name, timeout)
	switch {
	case ev != nil:
		return ev
	case exited:
		t.Fatalf("%v exited before %q: %s", c.cmd.Args, name, c.stderr.String())
	default:
		t.Fatalf("%v: no %q within %v; stderr: %s", c.cmd.Args, name, timeout, c.stderr.String())
	}
	return nil
}

// noEvent fails if a JSON line whose "event" is name comes within d.
func (c *command) noEvent(t *testing.T, name string, d time.Duration) {
	t.Helper()
	if ev, _ := c.nextEvent(name, d); ev != nil {
		t.Fatalf("%v: unexpected %q: %v", c.cmd.Args, name, ev)
	}
}

func serve(t *testing.T, extra ...string) (url, configDir string) {
	t.Helper()
	configDir = t.TempDir()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--ice-iface", "lo", "--json"}, extra...)
	srv := start(t, configDir, args...)
	ready := srv.event(t, "ready", 15*time.Second)
	url, _ = ready["url"].(string)
	if !strings.HasPrefix(url, "https://127.0.0.1:") || !strings.Contains(url, "#fp=sha256:") {
		t.Fatalf("ready URL %q is not a pinned https invite", url)
	}
	return url, configDir
}

func TestThreeBotsExchangeMedia(t *testing.T) {
	url, dir := serve(t)
	names := []string{"Ada", "Bob", "Cy"}
	bots := make([]*command, len(names))
	for i, name := range names {
		bots[i] = start(t, dir, "join", url, "--name", name, "--source", "test", "--json", "--duration", "10s", "--ice-iface", "lo")
	}
	var wg sync.WaitGroup
	stats := make([]map[string]any, len(bots))
	for i, b := range bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[i] = b.event(t, "stats", 45*time.Second)
		}()
	}
	wg.Wait()
	for i, st := range stats {
		video := map[string]float64{}
		tracks, _ := st["tracks"].([]any)
		for _, tr := range tracks {
			m, _ := tr.(map[string]any)
			if m["kind"] == "video" {
				video[m["participant"].(string)] += m["frames"].(float64)
			}
		}
		for _, other := range names {
			if other == names[i] {
				continue
			}
			if video[other] < 200 {
				t.Errorf("%s received %.0f video frames from %s, want ≥ 200 (stats %v)", names[i], video[other], other, st)
			}
		}
		<-bots[i].done
		if code := bots[i].cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s exited %d: %s", names[i], code, bots[i].stderr.String())
		}
	}
}

func TestJoinFailuresHaveDistinctExitCodes(t *testing.T) {
	url, dir := serve(t, "--password", "sesame", "--max", "1")
	first := start(t, dir, "join", url, "--password", "sesame", "--source", "none", "--json", "--ice-iface", "lo")
	first.event(t, "joined", 15*time.Second)
	base := url[:strings.Index(url, "/r/")]
	fp := url[strings.Index(url, "#"):]
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"bad URL", []string{"join", "ftp://nowhere"}, 3, "bad invite link"},
		{"unreachable", []string{"join", "https://127.0.0.1:1/r/x"}, 4, "cannot reach"},
		{"wrong password", []string{"join", url, "--password", "guess"}, 5, "password"},
		{"room full", []string{"join", url, "--password", "sesame"}, 6, "full"},
		{"no such room", []string{"join", base + "/r/elsewhere" + fp}, 8, "no room"},
		{"identity changed", []string{"join", base + "/r/meeting#fp=sha256:" + strings.Repeat("ab", 32)}, 10, "identity changed"},
		{"usage", []string{"join"}, 2, "invite link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, parley, append(tt.args, "--source", "none", "--ice-iface", "lo")...)
			cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir)
			var stderr bytes.Buffer
			cmd.Stderr, cmd.Stdout = &stderr, io.Discard
			_ = cmd.Run()
			if got := cmd.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", got, tt.code, stderr.String())
			}
			if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); lines > 0 && tt.code != 2 {
				t.Errorf("want one line on stderr, got:\n%s", stderr.String())
			}
			if !strings.Contains(strings.ToLower(stderr.String()), tt.msg) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tt.msg)
			}
		})
	}
}
