package nat

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// roleEnv selects what a re-executed test binary does (see TestMain).
const roleEnv = "PARLEY_NAT_ROLE"

// parentNSEnv carries the test's own network namespace, so that a child
// can refuse to run in it.
const parentNSEnv = "PARLEY_NAT_PARENT_NS"

func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces are Linux-only")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip command")
	}
}

// checkIsolated refuses to run a child outside a test namespace, so that a
// mistake cannot put traffic on a real network.
func checkIsolated() error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("read own network namespace: %w", err)
	}
	parent := os.Getenv(parentNSEnv)
	if parent == "" || parent == self {
		return errors.New("refusing to run: not in a namespace made by the test")
	}
	if init, err := os.Readlink("/proc/1/ns/net"); err == nil && init == self {
		return errors.New("refusing to run: in the machine's own network namespace")
	}
	return nil
}

// net is a set of namespaces made for one test, deleted when it ends.
type netw struct {
	t      *testing.T
	prefix string
}

// startTimeout bounds a child's start-up (a bot encodes its clip, joins and
// publishes first): generous, because under `go test -race ./...` on 2
// cores that alone can take 20 s. What the tests time is measured after.
const startTimeout = 60 * time.Second

func newNet(t *testing.T) *netw {
	t.Helper()
	skipUnlessRoot(t)
	var r [3]byte
	_, _ = rand.Read(r[:])
	return &netw{t: t, prefix: fmt.Sprintf("pnat%s-", hex.EncodeToString(r[:]))}
}

// ns creates namespace name (with lo up) and returns its full name.
func (n *netw) ns(name string) string {
	n.t.Helper()
	full := n.prefix + name
	n.run("ip", "netns", "add", full)
	n.t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", full).CombinedOutput(); err != nil {
			n.t.Errorf("delete namespace %s: %v: %s", full, err, out)
		}
	})
	n.ip(full, "link", "set", "lo", "up")
	return full
}

// ip runs "ip -n ns args…".
func (n *netw) ip(ns string, args ...string) {
	n.t.Helper()
	n.run("ip", append([]string{"-n", ns}, args...)...)
}

// exec runs a command inside ns.
func (n *netw) exec(ns string, args ...string) {
	n.t.Helper()
	n.run("ip", append([]string{"netns", "exec", ns}, args...)...)
}

// link connects namespaces a and b with a veth pair named devA/devB,
// addressed addrA and addrB (CIDR, "" for none), both up.
func (n *netw) link(a, devA, addrA, b, devB, addrB string) {
	n.t.Helper()
	n.run("ip", "link", "add", "tmp"+n.prefix[4:10], "netns", a, "type", "veth", "peer", "name", "tmq"+n.prefix[4:10], "netns", b)
	n.ip(a, "link", "set", "tmp"+n.prefix[4:10], "name", devA)
	n.ip(b, "link", "set", "tmq"+n.prefix[4:10], "name", devB)
	for _, x := range []struct{ ns, dev, addr string }{{a, devA, addrA}, {b, devB, addrB}} {
		if x.addr != "" {
			n.ip(x.ns, "addr", "add", x.addr, "dev", x.dev)
		}
		n.ip(x.ns, "link", "set", x.dev, "up")
	}
}

func (n *netw) run(name string, args ...string) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		n.t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// proc is this test binary running a role in a namespace; it prints JSON
// lines (collected with receive times) and reads JSON commands.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu     sync.Mutex
	lines  []line
	stderr bytes.Buffer
	done   chan struct{}
}

type line struct {
	at time.Time
	v  map[string]any
}

// start runs role in ns with extra environment; it is killed when the
// test ends.
func (n *netw) start(ns, name, role string, env ...string) *proc {
	n.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		n.t.Fatal(err)
	}
	parent, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		n.t.Fatal(err)
	}
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	env = append([]string{roleEnv + "=" + role, parentNSEnv + "=" + parent, "GORACE=" + gorace}, env...)
	return n.startCmd(ns, name, []string{exe, "-test.run=^TestChild$", "-test.v=false"}, env...)
}

// startCmd runs argv in ns with extra environment; like a role, it talks
// JSON lines, and is killed when the test ends.
func (n *netw) startCmd(ns, name string, argv []string, env ...string) *proc {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		n.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		defer close(p.done)
		defer cancel()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var v map[string]any
			if json.Unmarshal(sc.Bytes(), &v) != nil {
				continue // go test's own output
			}
			p.mu.Lock()
			p.lines = append(p.lines, line{time.Now(), v})
			p.mu.Unlock()
		}
		_ = cmd.Wait()
	}()
	n.t.Cleanup(func() {
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if n.t.Failed() {
			p.mu.Lock()
			n.t.Logf("%s stderr:\n%s", name, p.stderr.String())
			p.mu.Unlock()
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *proc) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = p.stdin.Write(append(b, '\n'))
	return err
}

// wait returns the first line (from index from on) that match accepts,
// within timeout.
func (p *proc) wait(t *testing.T, timeout time.Duration, match func(map[string]any) bool) line {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		// Whether it had exited before the lines are read: a process that
		// prints its last line and exits must still be heard.
		exited := false
		select {
		case <-p.done:
			exited = true
		default:
		}
		p.mu.Lock()
		for _, l := range p.lines {
			if match(l.v) {
				p.mu.Unlock()
				return l
			}
		}
		// Not under p.mu: Fatalf never returns, and the cleanup needs the
		// lock to print stderr.
		stderr := p.stderr.String()
		p.mu.Unlock()
		if exited {
			t.Fatalf("%s exited (%v) without a matching line: %s", p.name, p.cmd.ProcessState, stderr)
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("%s: nothing matching within %v", p.name, timeout)
		}
		select {
		case <-p.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// all returns every line so far.
func (p *proc) all() []line {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]line(nil), p.lines...)
}

func lookPath(name string) (string, error) { return exec.LookPath(name) }
