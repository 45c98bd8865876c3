// Package meetingtest runs real meetings for tests: a real server on
// loopback and real clients publishing the synthetic test media.
package meetingtest

import (
	"bufio"
	"context"
	"errors"
	"image"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"parley/backend/bot"
	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/media/testsrc"
)

// Media is the shared encoded test media.
type Media = bot.Media

// EncodeMedia encodes test media lighter than a bot's (320×180, about
// 150 kbit/s): the frame rate is what the tests count, and fewer packets
// keep a four-person meeting under the race detector within a loaded
// 2-core machine.
func EncodeMedia() (*Media, error) {
	return bot.EncodeMediaWith(testsrc.VideoOptions{Width: 320, Height: 180, FPS: 30, Seconds: 2, Bitrate: 300_000})
}

// Assets stands in for the built frontend, which these tests do not load.
func Assets() fstest.MapFS {
	return fstest.MapFS{"index.html": {Data: []byte("<title>Parley</title>")}}
}

// Logger is quiet unless PARLEY_TEST_LOG is set.
func Logger() *slog.Logger {
	level := slog.LevelError
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// StartServer runs a server on loopback (plain HTTP unless cfg has a
// certificate) and stops it when the test ends.
func StartServer(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Assets == nil {
		cfg.Assets = Assets()
	}
	if cfg.Log == nil {
		cfg.Log = Logger()
	}
	cfg.RTC.LoopbackOnly = true
	if len(cfg.Rooms) == 0 && !cfg.OpenRooms {
		cfg.Rooms = []server.RoomConfig{{Name: "test"}}
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

// Join dials invite as name with loopback-only ICE and closes the client
// when the test ends.
func Join(t testing.TB, invite, name string, opts client.Options) *client.Client {
	t.Helper()
	c, err := TryJoin(invite, name, opts)
	if err != nil {
		t.Fatalf("%s joins: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TryJoin is Join that returns the error instead of failing.
func TryJoin(invite, name string, opts client.Options) (*client.Client, error) {
	// Generous: a join is checked for working, not for speed (benchmarks
	// time joins), and `go test -race ./...` on 2 cores can stall one
	// for seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.Name = name
	opts.RTC.LoopbackOnly = true
	if opts.Log == nil {
		opts.Log = Logger()
	}
	return client.Dial(ctx, invite, opts)
}

// Publish publishes camera video and microphone audio from m on c until
// the test ends.
func Publish(t testing.TB, c *client.Client, m *Media) *bot.Publisher {
	t.Helper()
	p, err := bot.Publish(context.Background(), c, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// WaitFor polls cond until it holds or the timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// Received sums a client's received frames per (participant, kind), over
// the whole session (tracks that ended included).
func Received(c *client.Client) map[string]map[signal.Kind]uint64 {
	out := make(map[string]map[signal.Kind]uint64)
	for _, st := range c.ReceivedStats() {
		if out[st.ParticipantID] == nil {
			out[st.ParticipantID] = make(map[signal.Kind]uint64)
		}
		out[st.ParticipantID][st.Kind] += st.Frames
	}
	return out
}

// NeedApp returns the desktop build the window tests run ($PARLEY_BIN),
// skipping the test without one, and fails it when one of the tools the
// test drives it with is missing (make deps installs them).
func NeedApp(t testing.TB, tools ...string) string {
	t.Helper()
	bin := os.Getenv("PARLEY_BIN")
	if bin == "" {
		t.Skip("needs PARLEY_BIN (a desktop build); run via make test-desktop")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (make deps installs it): %v", tool, err)
		}
	}
	return bin
}

// ArtifactDir is where tests leave screenshots and logs for people to look
// at: $PARLEY_ARTIFACTS (make test sets it), else testing/artifacts seen
// from a package under testing/.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PARLEY_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ReadPNG decodes the PNG file at path (a screenshot).
func ReadPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// NextMessage waits up to within for the next room message of type T
// that match accepts (nil: any), skipping others, and fails the test if
// none comes.
func NextMessage[T signal.Message](t testing.TB, c *client.Client, within time.Duration, match func(T) bool) T {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %T", *new(T))
			}
			if m, ok := ev.Message.(T); ok && (match == nil || match(m)) {
				return m
			}
		case <-timeout:
			var zero T
			t.Fatalf("no %T within %v", zero, within)
			return zero
		}
	}
}

// StartXvfb starts an X server with one screen of size ("WxH") for the
// test, in the new namespaces that cloneflags name, and returns its
// DISPLAY.
func StartXvfb(t testing.TB, size string, cloneflags uintptr) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// -noreset: the server must not reset (and lose the painted root)
	// when its last client disconnects.
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", size+"x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Cloneflags: cloneflags}
	if err := cmd.Start(); err != nil {
		if cloneflags != 0 && errors.Is(err, syscall.EPERM) {
			t.Skipf("cannot start Xvfb in its own namespace here: %v", err)
		}
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb gave no display: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}
