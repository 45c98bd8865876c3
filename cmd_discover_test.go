package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/backend/client"
	"parley/discovery"
	"parley/testing/netnstest"
)

func TestDiscoverFlags(t *testing.T) {
	// Every case stops before browsing, so nothing is sent anywhere.
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"help", []string{"-h"}, exitOK, "Usage: parley discover [--timeout 2s] [--json] [--iface NAME]...", ""},
		{"help lists iface", []string{"-h"}, exitOK, "repeatable or comma-separated", ""},
		{"zero timeout", []string{"--timeout", "0s"}, exitUsage, "", "--timeout must be positive"},
		{"bad timeout", []string{"--timeout", "soon"}, exitUsage, "", `invalid value "soon" for flag -timeout`},
		{"stray argument", []string{"Team sync"}, exitUsage, "", `unexpected argument "Team sync"`},
		{"unknown interface", []string{"--iface", "nope0"}, exitError, "", `parley discover: network interface "nope0"`},
		{"loopback in a list", []string{"--iface", "lo,nope0"}, exitError, "", `network interface "lo": interface is loopback`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, out, errOut := testCLI()
			if got := cli.discover(context.Background(), tt.args); got != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr: %s", got, tt.wantCode, errOut)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q does not contain %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.wantErr)
			}
		})
	}
}

func TestPrintRoomTable(t *testing.T) {
	rooms := []discovery.Entry{
		{Instance: "Team sync", Room: discovery.Room{Host: "Ada", Participants: 3, Password: true}, URL: "https://10.0.0.1:8443/r/team-sync#fp=sha256:ab"},
		{Instance: "Retro (2)", Room: discovery.Room{Participants: 12, Locked: true}, URL: "https://[fd00::1]:443/r/retro#fp=sha256:cd"},
		{Instance: "Clinic", Room: discovery.Room{Host: "Bo", Participants: 1, Lobby: true}, URL: "https://10.0.0.2:8443/r/clinic#fp=sha256:ef"},
	}
	var b strings.Builder
	if err := printRoomTable(&b, rooms); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME       HOST  PEOPLE  ACCESS        URL\n" +
		"Team sync  Ada   3       password      https://10.0.0.1:8443/r/team-sync#fp=sha256:ab\n" +
		"Retro (2)  -     12      locked        https://[fd00::1]:443/r/retro#fp=sha256:cd\n" +
		"Clinic     Bo    1       waiting room  https://10.0.0.2:8443/r/clinic#fp=sha256:ef\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

// The LAN test runs this test binary in network namespaces; the helper
// test below is what those copies execute.
const (
	discoverHelperEnv     = "PARLEY_DISCOVER_HELPER"
	discoverHelperArgsEnv = "PARLEY_DISCOVER_HELPER_ARGS"
)

var discoverHelperRun = []string{"-test.run=^TestDiscoverHelperProcess$"}

const discoverHelperStarted = "helper started"

var discoverTestRoom = discovery.Room{
	Name: "Team sync", Host: "Ada", Participants: 2, Port: 8443, Path: "/r/team-sync",
	Fingerprint: "sha256:" + strings.Repeat("cd", 32), ProtocolVersion: 1,
}

// TestDiscoverHelperProcess is not a test: it is the advertiser or the CLI
// inside a namespace, run by TestDiscoverOnLAN.
func TestDiscoverHelperProcess(t *testing.T) {
	role := os.Getenv(discoverHelperEnv)
	if role == "" {
		return
	}
	if err := netnstest.CheckIsolated(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch role {
	case "advertise":
		a, err := discovery.Advertise(ctx, discoverTestRoom, discovery.AdvertiseOptions{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("advertising %s\n", a.Instance())
		// Advertise until the test closes stdin.
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
		}
		a.Close()
		os.Exit(0)
	case "cli":
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv(discoverHelperArgsEnv)), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		// Marks the command's start for the test's timing, after the
		// process itself started (slow for a race-enabled test binary on
		// a busy machine).
		fmt.Println(discoverHelperStarted)
		cli := &CLI{Stdout: os.Stdout, Stderr: os.Stderr}
		os.Exit(cli.discover(ctx, args))
	}
	os.Exit(3)
}

// discoverRun is one "parley discover" process in a namespace.
type discoverRun struct {
	p *netnstest.Proc
}

// discoverResult is what it printed, its exit code and when (after the
// command started) the first line came.
type discoverResult struct {
	lines  []string
	stderr string
	code   int
	first  time.Duration
	err    error
}

// startDiscover runs "parley discover args…" in host's namespace.
func startDiscover(t *testing.T, lan *netnstest.LAN, host string, args ...string) discoverRun {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	p := lan.Start(t, host, "parley discover in "+host, []string{discoverHelperEnv + "=cli", discoverHelperArgsEnv + "=" + string(b)}, discoverHelperRun...)
	p.CloseStdin()
	return discoverRun{p: p}
}

// result waits for the process to end. It does not touch t, so it may run
// on any goroutine.
func (d discoverRun) result() discoverResult {
	var r discoverResult
	var start time.Time
	for {
		line, err := d.p.Next(20 * time.Second)
		if err != nil {
			break
		}
		switch {
		case start.IsZero() && string(line) == discoverHelperStarted:
			start = time.Now()
		case len(r.lines) == 0:
			r.first = time.Since(start)
			fallthrough
		default:
			r.lines = append(r.lines, string(line))
		}
	}
	err := d.p.Wait(5 * time.Second)
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		r.err = err
	}
	r.stderr = d.p.Stderr()
	return r
}

func (r discoverResult) check(t *testing.T, what string) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v; stderr: %s", what, r.err, r.stderr)
	}
}

func TestDiscoverOnLAN(t *testing.T) {
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "ns1"}, netnstest.HostSpec{Name: "ns2"}, netnstest.HostSpec{Name: "ns3"})

	empty := startDiscover(t, lan, "ns3", "--timeout", "500ms").result()
	empty.check(t, "empty network")
	if empty.code != exitOK || len(empty.lines) != 0 || !strings.Contains(empty.stderr, "No meetings found on this network.") {
		t.Errorf("empty network: exit %d, stdout %q, stderr %q", empty.code, empty.lines, empty.stderr)
	}

	adv := lan.Start(t, "ns1", "advertiser in ns1", []string{discoverHelperEnv + "=advertise"}, discoverHelperRun...)
	if line, err := adv.Next(10 * time.Second); err != nil || string(line) != "advertising Team sync" {
		t.Fatalf("advertiser: %q, %v", line, err)
	}
	url := fmt.Sprintf("https://%s:8443/r/team-sync#fp=%s", lan.Host("ns1").Links[0].IPv4, discoverTestRoom.Fingerprint)

	// Both run at once, as two people opening their lobbies would.
	jsonRun := startDiscover(t, lan, "ns2", "--json", "--timeout", "3s", "--iface", "eth0")
	tableRun := startDiscover(t, lan, "ns3", "--timeout", "3s")
	tableDone := make(chan discoverResult, 1)
	go func() { tableDone <- tableRun.result() }()

	js := jsonRun.result()
	js.check(t, "--json")
	t.Logf("parley discover --json in ns2 printed the room %d ms after it started", js.first.Milliseconds())
	if js.code != exitOK || len(js.lines) != 1 {
		t.Fatalf("--json: exit %d, stdout %q, stderr %s", js.code, js.lines, js.stderr)
	}
	if js.first > time.Second {
		t.Errorf("--json printed the room after %v, want within 1s of start", js.first)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(js.lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"event": "room", "name": "Team sync", "host": "Ada", "participants": 2.0,
		"password": false, "locked": false, "lobby": false, "url": url, "fingerprint": discoverTestRoom.Fingerprint,
	} {
		if got[key] != want {
			t.Errorf("--json %s = %v, want %v", key, got[key], want)
		}
	}

	// The joining side must accept the advertised link as it is.
	inv, err := client.ParseInvite(url)
	if err != nil || inv.Room != "team-sync" || inv.Fingerprint != discoverTestRoom.Fingerprint {
		t.Errorf("client.ParseInvite(%q) = %+v, %v", url, inv, err)
	}

	tab := <-tableDone
	tab.check(t, "table")
	if tab.code != exitOK || len(tab.lines) != 2 {
		t.Fatalf("table: exit %d, stdout %q, stderr %s", tab.code, tab.lines, tab.stderr)
	}
	row := regexp.MustCompile(`^Team sync +Ada +2 +open +` + regexp.QuoteMeta(url) + `$`)
	if !strings.HasPrefix(tab.lines[0], "NAME ") || !row.MatchString(tab.lines[1]) {
		t.Errorf("table:\n%s", strings.Join(tab.lines, "\n"))
	}
	adv.CloseStdin()
	if err := adv.Wait(5 * time.Second); err != nil {
		t.Errorf("advertiser: %v", err)
	}
}
