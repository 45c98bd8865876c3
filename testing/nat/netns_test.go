package nat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"parley/testing/netnstest"
)

// roleEnv selects what a re-executed test binary does (see TestMain).
const roleEnv = "PARLEY_NAT_ROLE"

// startTimeout bounds a child's start-up (a bot encodes its clip, joins and
// publishes first): generous, because under `go test -race ./...` on 2
// cores that alone can take 20 s. What the tests time is measured after.
const startTimeout = 60 * time.Second

// netw is a set of namespaces made for one test, deleted when it ends.
type netw struct {
	*netnstest.Net
	t *testing.T
}

func newNet(t *testing.T) *netw {
	t.Helper()
	return &netw{Net: netnstest.NewNet(t), t: t}
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
	childEnv, err := netnstest.ChildEnv()
	if err != nil {
		n.t.Fatal(err)
	}
	env = append(append(childEnv, roleEnv+"="+role), env...)
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
