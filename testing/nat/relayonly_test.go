package nat

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// flatLAN puts the named hosts on one switch at 10.88.0.1, .2, …: every
// host reaches every other directly.
func flatLAN(n *netw, names ...string) map[string]string {
	sw := n.NS("sw")
	n.Exec(sw, "ip", "link", "add", "br0", "type", "bridge")
	n.IP(sw, "link", "set", "br0", "up")
	nss := map[string]string{}
	for i, name := range names {
		nss[name] = n.NS(name)
		n.Link(nss[name], "eth0", "10.88.0."+strconv.Itoa(i+1)+"/24", sw, "p-"+name, "")
		n.IP(sw, "link", "set", "p-"+name, "master", "br0")
	}
	return nss
}

// parleyBinary is $PARLEY_BIN, or the app built into a temporary directory.
func parleyBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("PARLEY_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "parley")
	if out, err := exec.Command("go", "build", "-o", bin, "../..").CombinedOutput(); err != nil {
		t.Fatalf("build parley: %v: %s", err, out)
	}
	return bin
}

// TestRelayOnlyOnFlatLAN: on a LAN where everyone reaches everyone
// directly, `parley join --relay-only` still sends and receives all its
// media through the host's TURN relay, while a participant without the
// flag goes direct.
func TestRelayOnlyOnFlatLAN(t *testing.T) {
	n := newNet(t)
	bin := parleyBinary(t)
	nss := flatLAN(n, "host", "direct", "relayed")
	srv := n.start(nss["host"], "server", "server", "PARLEY_NAT_ADDR=10.88.0.1:8080", "PARLEY_NAT_TURN_PORT=3478")
	url := srv.wait(t, startTimeout, func(v map[string]any) bool { return v["url"] != nil }).v["url"].(string)
	direct := n.start(nss["direct"], "direct bot", "bot", "PARLEY_NAT_URL="+url, "PARLEY_NAT_NAME=Direct")
	joined(t, direct)
	relayed := n.startCmd(nss["relayed"], "parley join --relay-only",
		[]string{bin, "join", url, "--name", "Relayed", "--relay-only", "--duration", "8s", "--json", "--ice-iface", "eth0"},
		"XDG_CONFIG_HOME="+t.TempDir())
	rid := relayed.wait(t, startTimeout, func(v map[string]any) bool { return v["event"] == "joined" }).v["participant"].(string)
	direct.wait(t, startTimeout, func(v map[string]any) bool { return frames(v, rid) > 30 })

	stats := relayed.wait(t, startTimeout, func(v map[string]any) bool { return v["event"] == "stats" }).v
	t.Logf("parley join --relay-only: %v", stats)
	path, _ := stats["path"].(map[string]any)
	for _, pc := range []string{"publish", "subscribe"} {
		if c, _ := path[pc].(map[string]any); c["type"] != "relay" {
			t.Errorf("--relay-only %s path is %v, want relay", pc, path[pc])
		}
	}
	var got float64
	tracks, _ := stats["tracks"].([]any)
	for _, tr := range tracks {
		if m, _ := tr.(map[string]any); m["participant"] == "Direct" && m["kind"] == "video" {
			got, _ = m["frames"].(float64)
		}
	}
	if got < 30 {
		t.Errorf("--relay-only received %v video frames from Direct, want 30 or more", got)
	}
	// The same LAN carries the other participant's media directly (its
	// srflx candidate, learnt from the TURN server's STUN, is its own LAN
	// address here).
	cands := selected(t, direct)
	if cands["publish"]["type"] == "relay" || cands["subscribe"]["type"] == "relay" {
		t.Errorf("the bot without --relay-only went through the relay: %v", cands)
	}
}
