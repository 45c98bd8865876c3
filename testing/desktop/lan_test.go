package desktop

import (
	"encoding/json"
	"image/color"
	"os"
	"path/filepath"
	"testing"
	"time"

	"parley/testing/meetingtest"
	"parley/testing/netnstest"
)

// roomButton is the background of a listed room in the lobby
// (frontend/src/style.css, .rooms .room).
var roomButton = color.RGBA{0x26, 0x30, 0x45, 0xff}

// TestDesktopLobbyListsLANMeetings hosts a room in one network namespace
// and opens the real window in another, on a LAN made of namespaces: the
// lobby's "On this network" list shows the room.
func TestDesktopLobbyListsLANMeetings(t *testing.T) {
	bin := meetingtest.NeedApp(t, "xvfb-run", "import")
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "host"}, netnstest.HostSpec{Name: "desk"})
	env := []string{"XDG_CONFIG_HOME=" + t.TempDir()}
	host := lan.StartBinary(t, "host", "serve", env, bin, "serve", "--addr", ":0", "--room", "team-sync", "--json")
	waitEvent(t, host, "advertised")

	artifacts := meetingtest.ArtifactDir(t)
	shot := filepath.Join(artifacts, "desktop-lobby-lan.png")
	report := filepath.Join(t.TempDir(), "codec.json")
	// The window runs in the desk namespace with its own X server; the
	// script waits for the webview's self-check, gives the lobby a few
	// polls of the LAN list, and takes the screenshot.
	script := `"$0" --codec-report "$1" > "$3" 2>&1 & app=$!
for i in $(seq 1 120); do [ -f "$1" ] && break; sleep 0.5; done
sleep 4
import -window root "$2"
kill $app; wait $app`
	desk := lan.StartBinary(t, "desk", "window", append(env, "HOME="+t.TempDir()), "xvfb-run",
		"-a", "-s", "-screen 0 1280x800x24", "sh", "-c", script, bin, report, shot, filepath.Join(artifacts, "desktop-lobby-lan.log"))
	if err := desk.Wait(90 * time.Second); err != nil {
		t.Fatalf("window run: %v\n%s", err, desk.Stderr())
	}
	t.Logf("screenshot: %s", shot)
	img := meetingtest.ReadPNG(t, shot)
	if got := fraction(img, roomButton, 4); got < 0.01 {
		t.Errorf("no listed room in the lobby: room buttons cover %.2f%% of the screen, want ≥ 1%%", got*100)
	}
}

func waitEvent(t *testing.T, p *netnstest.Proc, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		line, err := p.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for %q: %v\n%s", name, err, p.Stderr())
		}
		var ev struct{ Event string }
		if json.Unmarshal(line, &ev) == nil && ev.Event == name {
			return
		}
	}
}

// TestDesktopHostIsListedOnLAN: a meeting hosted from the window is listed
// on the LAN, as `parley serve` lists its room, with its head count, its
// host's name and its waiting room, and vanishes from the list when the
// window leaves it.
func TestDesktopHostIsListedOnLAN(t *testing.T) {
	bin := meetingtest.NeedApp(t, "xvfb-run")
	lan := netnstest.NewLAN(t, netnstest.HostSpec{Name: "desk"}, netnstest.HostSpec{Name: "peer"})
	env := []string{"XDG_CONFIG_HOME=" + t.TempDir(), "HOME=" + t.TempDir()}
	// The window hosts until the file "stop" appears (or 60 s pass).
	stop := filepath.Join(t.TempDir(), "stop")
	script := `"$0" --host --room standup --lobby --name Dana --source none > "$2" 2>&1 & app=$!
for i in $(seq 1 120); do [ -f "$1" ] && break; sleep 0.5; done
kill $app; wait $app`
	desk := lan.StartBinary(t, "desk", "window", env, "xvfb-run", "-a", "-s", "-screen 0 1280x800x24",
		"sh", "-c", script, bin, stop, filepath.Join(meetingtest.ArtifactDir(t), "desktop-host-lan.log"))

	// discover lists what the peer sees for 2 s; the standup room, if any.
	discover := func() (room map[string]any, found bool) {
		p := lan.StartBinary(t, "peer", "discover", env, bin, "discover", "--json", "--timeout", "2s")
		for {
			line, err := p.Next(20 * time.Second)
			if err != nil {
				break // it exited
			}
			var r map[string]any
			if json.Unmarshal(line, &r) == nil && r["name"] == "standup" {
				room, found = r, r["event"] == "room"
			}
		}
		if err := p.Wait(5 * time.Second); err != nil {
			t.Fatalf("discover: %v\n%s", err, p.Stderr())
		}
		return room, found
	}
	// The window takes a few seconds to start hosting, and its own join
	// may reach the listing just after the room does.
	var room map[string]any
	for i := 0; i < 15 && (room == nil || room["participants"] != float64(1)); i++ {
		if r, ok := discover(); ok {
			room = r
		}
	}
	if room == nil {
		t.Fatal("the window's meeting was never listed on the LAN")
	}
	if room["participants"] != float64(1) || room["password"] == true || room["lobby"] != true || room["host"] != "Dana" {
		t.Errorf("listed as %v, want 1 participant, hosted by Dana, with a waiting room and no password", room)
	}
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := desk.Wait(30 * time.Second); err != nil {
		t.Fatalf("window run: %v\n%s", err, desk.Stderr())
	}
	if r, ok := discover(); ok {
		t.Errorf("still listed after the window left: %v", r)
	}
}
