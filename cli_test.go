package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func testCLI() (*CLI, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	assets := fstest.MapFS{"index.html": {Data: []byte("<title>Parley</title>")}}
	return &CLI{Stdout: &out, Stderr: &errOut, Assets: assets, Version: "1.2.3", Commit: "abc123"}, &out, &errOut
}

func TestCLIExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"unknown command", []string{"bogus"}, exitUsage, "", `unknown command "bogus"`},
		{"unknown flag", []string{"serve", "--bogus"}, exitUsage, "", "flag provided but not defined: -bogus"},
		{"tls off off loopback", []string{"serve", "--addr", ":0", "--tls", "off"}, exitUsage, "", "only for loopback"},
		{"bad --tls", []string{"serve", "--tls", "maybe"}, exitUsage, "", "on or off"},
		{"cert without key", []string{"serve", "--cert", "c.pem"}, exitUsage, "", "go together"},
		{"room name with a dot first", []string{"serve", "--room", ".x"}, exitUsage, "", `--room ".x": room name starts with '.'`},
		{"room name with a slash", []string{"serve", "--room", "a/b"}, exitUsage, "", `--room "a/b": room name contains '/'`},
		{"join without URL", []string{"join"}, exitUsage, "", "give the invite link"},
		{"join bad source", []string{"join", "https://h/r/x", "--source", "camera"}, exitUsage, "", "--source is test or none"},
		{"bench without publishers", []string{"bench", "--participants", "0"}, exitUsage, "", "at least one publisher"},
		{"stray argument", []string{"version", "extra"}, exitUsage, "", `unexpected argument "extra"`},
		{"help lists commands", []string{"help"}, exitOK, "serve", ""},
		{"help for a command", []string{"help", "serve"}, exitOK, "--addr", ""},
		{"help for unknown command", []string{"help", "nope"}, exitUsage, "", `unknown command "nope"`},
		{"-h is not an error", []string{"serve", "-h"}, exitOK, "Usage: parley serve", ""},
		{"version", []string{"version"}, exitOK, "parley 1.2.3 (commit abc123)", ""},
		{"bad --turn-port", []string{"serve", "--turn-port", "70000"}, exitUsage, "", "--turn-port must be 0 to 65535"},
		{"relay IP without relay", []string{"serve", "--turn-relay-ip", "10.0.0.1"}, exitUsage, "", "--turn-relay-ip needs --turn-port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, out, errOut := testCLI()
			if got := cli.Run(context.Background(), tt.args); got != tt.wantCode {
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

func TestServeServesFrontendUntilCancelled(t *testing.T) {
	pr, pw := io.Pipe()
	cli, _, errOut := testCLI()
	cli.Stdout = pw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--tls", "off", "--ice-iface", "lo", "--json"})
	}()

	out := bufio.NewReader(pr)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("read serve output: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	var ready struct{ Event, URL string }
	if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.Event != "ready" {
		t.Fatalf("first line %q is not the ready event: %v", line, err)
	}
	url := regexp.MustCompile(`^http://[^/]+/`).FindString(ready.URL)
	if url == "" || !strings.HasSuffix(ready.URL, "/r/meeting") {
		t.Fatalf("ready URL %q is not http://HOST:PORT/r/meeting", ready.URL)
	}
	for _, path := range []string{"", "r/team-sync"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<title>Parley</title>") {
			t.Errorf("GET /%s: %d %q", path, resp.StatusCode, body)
		}
	}
	cancel()
	select {
	case code := <-done:
		pw.Close()
		if code != exitOK {
			t.Errorf("serve exited %d: %s", code, errOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
}

// A meeting the window hosts is listed on the LAN unless it listens only
// on loopback, where nobody else could reach it.
func TestWindowListsReachableMeetingsOnly(t *testing.T) {
	for _, tc := range []struct {
		hostAddr string
		listed   bool
	}{
		{":0", true},
		{"0.0.0.0:8443", true},
		{"127.0.0.1:0", false},
		{"[::1]:8443", false},
		{"localhost:0", false},
	} {
		fset := flag.NewFlagSet("parley", flag.ContinueOnError)
		w := addWindowFlags(fset)
		if err := fset.Parse([]string{"--host", "--host-addr", tc.hostAddr}); err != nil {
			t.Fatal(err)
		}
		opts, err := w.options()
		if err != nil {
			t.Fatal(err)
		}
		if listed := opts.Advertise != nil; listed != tc.listed {
			t.Errorf("--host-addr %s: listed %v, want %v", tc.hostAddr, listed, tc.listed)
		}
	}
}

// The window refuses a --room it could never host, before opening.
func TestWindowRoomFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		bad  bool
	}{
		{[]string{"--host", "--room", "team-sync"}, false},
		{[]string{"--host", "--room", "Réunion_2"}, false},
		{[]string{"--host", "--room", ".x"}, true},
		{[]string{"--host", "--room", "a/b"}, true},
		{[]string{"--host", "--room", ""}, true},
	} {
		fset := flag.NewFlagSet("parley", flag.ContinueOnError)
		w := addWindowFlags(fset)
		if err := fset.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		_, err := w.options()
		if bad := err != nil; bad != tc.bad {
			t.Errorf("%q: error %v, want refused %v", tc.args, err, tc.bad)
		}
	}
}
