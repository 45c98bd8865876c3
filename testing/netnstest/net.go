package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Net is a set of network namespaces made for one test, deleted when it
// ends.
type Net struct {
	t      testing.TB
	prefix string // of the namespaces' names
	tag    string // short and random, for temporary interface names
}

// NewNet starts an empty set of namespaces (skipping t where they cannot
// be made), after deleting those that killed test runs left behind.
func NewNet(t testing.TB) *Net {
	t.Helper()
	Skip(t)
	sweepStale(t)
	var r [3]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	tag := hex.EncodeToString(r[:])
	return &Net{t: t, prefix: fmt.Sprintf("%s%d-%s-", nsPrefix, os.Getpid(), tag), tag: tag}
}

// NS creates namespace name (with lo up) and returns its full name.
func (n *Net) NS(name string) string {
	n.t.Helper()
	full := n.prefix + name
	n.Run("ip", "netns", "add", full)
	n.t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", full).CombinedOutput(); err != nil {
			n.t.Errorf("delete namespace %s: %v: %s", full, err, out)
		}
	})
	n.IP(full, "link", "set", "lo", "up")
	return full
}

// IP runs "ip -n ns args…".
func (n *Net) IP(ns string, args ...string) {
	n.t.Helper()
	n.Run("ip", append([]string{"-n", ns}, args...)...)
}

// Exec runs a command inside namespace ns.
func (n *Net) Exec(ns string, args ...string) {
	n.t.Helper()
	n.Run("ip", append([]string{"netns", "exec", ns}, args...)...)
}

// Link connects namespaces a and b with a veth pair named devA and devB,
// addressed addrA and addrB (CIDR; "" for none), both up.
func (n *Net) Link(a, devA, addrA, b, devB, addrB string) {
	n.t.Helper()
	// Made under names unique on the machine, then renamed inside their
	// namespaces, where devA and devB only need to be unique.
	tmpA, tmpB := "tmpa"+n.tag, "tmpb"+n.tag
	n.Run("ip", "link", "add", tmpA, "netns", a, "type", "veth", "peer", "name", tmpB, "netns", b)
	n.IP(a, "link", "set", tmpA, "name", devA)
	n.IP(b, "link", "set", tmpB, "name", devB)
	for _, x := range []struct{ ns, dev, addr string }{{a, devA, addrA}, {b, devB, addrB}} {
		if x.addr != "" {
			n.IP(x.ns, "addr", "add", x.addr, "dev", x.dev)
		}
		n.IP(x.ns, "link", "set", x.dev, "up")
	}
}

// Run runs a command, failing the test if it fails.
func (n *Net) Run(name string, args ...string) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		n.t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// ChildEnv is the environment a process started in a test namespace needs
// besides its own: this process's namespace, which CheckIsolated in the
// child compares against, and GORACE without the race detector's second
// of sleep at exit (children report through their exit status).
func ChildEnv() ([]string, error) {
	parent, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("read own network namespace: %w", err)
	}
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	return []string{parentNSEnv + "=" + parent, "GORACE=" + gorace}, nil
}
