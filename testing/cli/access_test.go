package cli

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestInviteOnlyAndLobby runs `parley serve --invite-only --lobby`: the
// printed link's token lets a bot straight in, a link without it is
// refused with the token exit code, and the host link makes a host.
func TestInviteOnlyAndLobby(t *testing.T) {
	dir := t.TempDir()
	srv := start(t, dir, "serve", "--addr", "127.0.0.1:0", "--ice-iface", "lo", "--json", "--invite-only", "--token-ttl", "1h")
	ready := srv.event(t, "ready", 15*time.Second)
	url, _ := ready["url"].(string)
	hostURL, _ := ready["hostUrl"].(string)
	if !strings.Contains(url, "&t=") || !strings.Contains(hostURL, "&t=") {
		t.Fatalf("ready %v: links without tokens", ready)
	}
	host := start(t, dir, "join", hostURL, "--name", "Host", "--source", "none", "--json", "--ice-iface", "lo")
	host.event(t, "joined", 15*time.Second)
	guest := start(t, dir, "join", url, "--name", "Guest", "--source", "none", "--json", "--ice-iface", "lo")
	guest.event(t, "joined", 15*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	noToken := url[:strings.Index(url, "&t=")]
	cmd := exec.CommandContext(ctx, parley, "join", noToken, "--source", "none", "--ice-iface", "lo")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir)
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 13 || !strings.Contains(string(out), "invitation only") {
		t.Fatalf("join without token: exit %d, %s; want 13 and a word about invitations", code, out)
	}
}

// TestLobbyJoinerWaits: in a lobby room, `parley join` says it waits
// for the host, and the host's bot hears the knock.
func TestLobbyJoinerWaits(t *testing.T) {
	dir := t.TempDir()
	srv := start(t, dir, "serve", "--addr", "127.0.0.1:0", "--ice-iface", "lo", "--json", "--lobby")
	ready := srv.event(t, "ready", 15*time.Second)
	url, _ := ready["url"].(string)
	hostURL, _ := ready["hostUrl"].(string)
	host := start(t, dir, "join", hostURL, "--name", "Host", "--source", "none", "--json", "--ice-iface", "lo")
	host.event(t, "joined", 15*time.Second)
	guest := start(t, dir, "join", url, "--name", "Guest", "--source", "none", "--json", "--ice-iface", "lo")
	guest.event(t, "waiting", 15*time.Second)
	if k := host.event(t, "knock", 15*time.Second); k["name"] != "Guest" {
		t.Fatalf("knock %v, want Guest", k)
	}
}

// TestLobbyHostIsNotReplaced: a `serve --lobby` room belongs to whoever
// holds its host link. When the host steps out, the guest there longest
// is not made host in their place: the next knock waits for a host and
// reaches no guest.
func TestLobbyHostIsNotReplaced(t *testing.T) {
	dir := t.TempDir()
	srv := start(t, dir, "serve", "--addr", "127.0.0.1:0", "--ice-iface", "lo", "--json", "--lobby", "--token-ttl", "1h")
	ready := srv.event(t, "ready", 15*time.Second)
	url, _ := ready["url"].(string) // its guest token skips the lobby
	hostURL, _ := ready["hostUrl"].(string)
	i := strings.Index(url, "&t=")
	if i < 0 {
		t.Fatalf("ready %v: the invite link has no token", ready)
	}
	bot := func(link, name string) *command {
		return start(t, dir, "join", link, "--name", name, "--source", "none", "--json", "--ice-iface", "lo")
	}
	host := bot(hostURL, "Host")
	host.event(t, "joined", 15*time.Second)
	guest := bot(url, "Guest")
	guest.event(t, "joined", 15*time.Second)
	_ = host.cmd.Process.Signal(os.Interrupt)
	<-host.done
	guest.event(t, "participant-left", 15*time.Second)

	late := bot(url[:i], "Late")
	late.event(t, "waiting", 15*time.Second)
	guest.noEvent(t, "knock", 3*time.Second)
}

// TestServerStopIsReported: a bot in a meeting whose server stops says
// the meeting ended, and why, before it exits (the session's end could
// overtake the message that said so).
func TestServerStopIsReported(t *testing.T) {
	dir := t.TempDir()
	srv := start(t, dir, "serve", "--addr", "127.0.0.1:0", "--ice-iface", "lo", "--json")
	url, _ := srv.event(t, "ready", 15*time.Second)["url"].(string)
	bot := start(t, dir, "join", url, "--name", "Bob", "--source", "none", "--json", "--ice-iface", "lo")
	bot.event(t, "joined", 15*time.Second)
	_ = srv.cmd.Process.Signal(os.Interrupt)
	if ev := bot.event(t, "ended", 15*time.Second); ev["reason"] != "shutdown" {
		t.Errorf("ended %v, want reason shutdown", ev)
	}
}

// TestInviteLinkSurvivesRestart: `parley serve --invite-only` restarted
// with the same config directory still lets in the link it printed
// before; a link with a tampered token is still refused.
func TestInviteLinkSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--ice-iface", "lo", "--json", "--invite-only", "--token-ttl", "1h"}
	first := start(t, dir, args...)
	oldURL, _ := first.event(t, "ready", 15*time.Second)["url"].(string)
	if err := first.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-first.done

	second := start(t, dir, args...)
	newURL, _ := second.event(t, "ready", 15*time.Second)["url"].(string)
	// The port is new; the fragment (fingerprint and token) is the old one.
	link := newURL[:strings.Index(newURL, "#")] + oldURL[strings.Index(oldURL, "#"):]
	guest := start(t, dir, "join", link, "--name", "Guest", "--source", "none", "--json", "--ice-iface", "lo")
	guest.event(t, "joined", 15*time.Second)

	// Flip one character of the token's signature.
	last := link[len(link)-1]
	forged := link[:len(link)-1] + map[bool]string{true: "B", false: "A"}[last == 'A']
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, parley, "join", forged, "--source", "none", "--ice-iface", "lo")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir)
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 13 {
		t.Fatalf("join with a forged token: exit %d, %s; want 13", code, out)
	}
}
