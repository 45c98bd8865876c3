package desktopmedia

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/backend/client"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

// TestWindowJoinScreens opens the real window with `parley --join` on a
// malformed link, on a link that pins another certificate or none, and on
// a password room's link without, with a wrong and with the right
// password: each ends on its screen (the report's view, which the window
// reports as it changes).
func TestWindowJoinScreens(t *testing.T) {
	bin := meetingtest.NeedApp(t, "Xvfb")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	disp := startDisplay(t, "1024x640")
	invite := serveRoom(t, ctx, bin, "--password", "s3cret")
	at := strings.Index(invite, "#fp=")
	if at < 0 {
		t.Fatalf("invite %s has no fingerprint", invite)
	}
	for _, c := range []struct {
		name string
		args []string
		view string
	}{
		{"a malformed link", []string{"--join", "https://[::1/r/bench"}, "bad-link"},
		{"another host's fingerprint", []string{"--join", invite[:at] + "#fp=sha256:" + strings.Repeat("0", 64)}, "identity"},
		{"no fingerprint", []string{"--join", invite[:at]}, "untrusted"},
		{"no password", []string{"--join", invite}, "password"},
		{"a wrong password", []string{"--join", invite, "--password", "guess"}, "password"},
		{"the right password", []string{"--join", invite, "--password", "s3cret"}, "meeting"},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := startApp(t, ctx, bin, disp, "Pat", nil, append(c.args, "--source", "none", "--ice-iface", "lo")...)
			app.waitView(t, c.view, 60*time.Second)
			app.stop(t)
			if r := app.readReport(t); r.View != c.view {
				t.Errorf("the window's report says it showed %q at exit, want %q", r.View, c.view)
			}
		})
	}
}

// TestWindowWaitsToBeLetIn: joining a room with a waiting room, the
// window says it waits for the host; turned away, it says the host did not
// let it in (not that the meeting is locked); let in, it is in the
// meeting.
func TestWindowWaitsToBeLetIn(t *testing.T) {
	bin := meetingtest.NeedApp(t, "Xvfb")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	disp := startDisplay(t, "1024x640")
	invite, hostLink := serveRoomLinks(t, ctx, bin, "--lobby")
	host := meetingtest.Join(t, hostLink, "Host", client.Options{})
	for _, c := range []struct {
		admit bool
		view  string
	}{{false, "lobby-denied"}, {true, "meeting"}} {
		app := startApp(t, ctx, bin, disp, "Pat", nil, "--join", invite, "--source", "none", "--ice-iface", "lo")
		app.waitView(t, "waiting", 60*time.Second)
		k := meetingtest.NextMessage(t, host, 30*time.Second, func(m *signal.KnockMsg) bool { return m.Knock.Name == "Pat" })
		decide := host.Deny
		if c.admit {
			decide = host.Admit
		}
		if err := decide(ctx, k.Knock.ID); err != nil {
			t.Fatalf("admit %v: %v", c.admit, err)
		}
		app.waitView(t, c.view, 30*time.Second)
		app.stop(t)
	}
}

// TestWindowRejoinsWhenTheServerIsBack: a window in a meeting whose
// server stops says so; when the server is back (same port, same
// certificate) it rejoins without a click.
func TestWindowRejoinsWhenTheServerIsBack(t *testing.T) {
	bin := meetingtest.NeedApp(t, "Xvfb")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	disp := startDisplay(t, "1024x640")
	dir := t.TempDir()
	invite, _, stop := serveRoomIn(t, ctx, bin, dir)
	u, err := url.Parse(invite)
	if err != nil {
		t.Fatal(err)
	}
	app := startApp(t, ctx, bin, disp, "Pat", nil, "--join", invite, "--source", "none", "--ice-iface", "lo")
	app.waitView(t, "meeting", 60*time.Second)
	stop()
	app.waitView(t, "shutdown", 30*time.Second)
	if again, _, _ := serveRoomIn(t, ctx, bin, dir, "--addr", u.Host); again != invite {
		t.Fatalf("the server came back as %s, want %s", again, invite)
	}
	// A second "meeting" line: the window is back in.
	meetings := func() int {
		return len(strings.FieldsFunc(grepFile(t, app.log, "view=meeting"), func(r rune) bool { return r == '\n' }))
	}
	deadline := time.Now().Add(30 * time.Second)
	for meetings() < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if meetings() < 2 {
		t.Fatalf("the window did not rejoin: it showed %s (see %s)", strings.ReplaceAll(grepFile(t, app.log, "window shows"), "\n", "; "), app.log)
	}
	app.stop(t)
}

// waitView waits until the window says it shows view.
func (p *appProc) waitView(t *testing.T, view string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if grepFile(t, p.log, "view="+view) != "" {
			return
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("%s exited before showing %q: %v (see %s)", p.name, view, err, p.log)
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not show %q within %v; it showed: %s (see %s)", p.name, view, timeout,
		strings.ReplaceAll(grepFile(t, p.log, "window shows"), "\n", "; "), p.log)
}
