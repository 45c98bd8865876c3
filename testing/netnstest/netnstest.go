// Package netnstest builds networks out of Linux network namespaces for
// tests that must send real traffic (multicast, NAT, cut links) without
// touching the machine's own interfaces. Net makes namespaces and veth
// links between them; NewLAN builds one Ethernet segment of hosts (a
// bridge namespace and one namespace per host, with 10.77.0.0/24 and
// fd77::/64 addresses that exist only inside them). Tests run their own
// binary inside a namespace (see Start and ChildEnv) and talk to it over
// stdin and stdout.
//
// It needs root and iproute2; Skip skips a test otherwise. Every namespace
// is deleted when the test ends, and namespaces left behind by a killed
// test run are deleted by the next one.
package netnstest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nsPrefix marks namespaces made by this package: "pnet-<pid>-<rand>-…".
const nsPrefix = "pnet-"

// Skip skips t unless this process can build namespaces.
func Skip(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces are Linux-only")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip command to create network namespaces")
	}
}

// parentNSEnv carries the starting test's network namespace to its
// children, so they can tell they left it.
const parentNSEnv = "PARLEY_NETNSTEST_PARENT_NS"

// CheckIsolated returns an error unless this process was started with
// ChildEnv (as Start does) and runs in a network namespace other than its
// parent's (and init's, where that is readable). Child processes call it
// before sending anything, so that a mistake can never put their traffic
// on a real network.
func CheckIsolated() error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("read own network namespace: %w", err)
	}
	parent := os.Getenv(parentNSEnv)
	if parent == "" {
		return errors.New("refusing to run: not started in a test network namespace")
	}
	if self == parent {
		return errors.New("refusing to run: this process is in its parent's network namespace")
	}
	// Containers may hide init's namespace from us; when visible, it is
	// the one that must never be used.
	if init, err := os.Readlink("/proc/1/ns/net"); err == nil && init == self {
		return errors.New("refusing to run: this process is in the machine's own network namespace")
	}
	return nil
}

// HostSpec describes one machine on the LAN.
type HostSpec struct {
	Name  string
	Links int // network interfaces eth0, eth1, … on the LAN; 0 means 1
}

// Host is a machine on the LAN.
type Host struct {
	Name  string
	NS    string // namespace name, for ip netns exec
	Links []Link
}

// Link is one of a host's interfaces.
type Link struct {
	Dev  string
	IPv4 netip.Addr
	IPv6 netip.Addr
}

// LAN is a set of hosts on one Ethernet segment.
type LAN struct {
	*Net
	hosts map[string]*Host
}

// NewLAN builds the LAN; it is torn down when t ends.
func NewLAN(t testing.TB, hosts ...HostSpec) *LAN {
	t.Helper()
	l := &LAN{Net: NewNet(t), hosts: make(map[string]*Host)}

	bridge := l.NS("br")
	l.IP(bridge, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	l.IP(bridge, "link", "set", "br0", "up")

	addr := 0
	for hi, spec := range hosts {
		h := &Host{Name: spec.Name, NS: l.NS(spec.Name)}
		// Without duplicate address detection, IPv6 addresses are usable
		// at once instead of after a second or two.
		l.Exec(h.NS, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
		for j := range max(spec.Links, 1) {
			addr++
			link := Link{
				Dev:  "eth" + strconv.Itoa(j),
				IPv4: netip.AddrFrom4([4]byte{10, 77, 0, byte(addr)}),
				IPv6: netip.MustParseAddr("fd77::" + strconv.FormatInt(int64(addr), 16)),
			}
			port := fmt.Sprintf("vb%d-%d", hi, j)
			l.Link(bridge, port, "", h.NS, link.Dev, link.IPv4.String()+"/24")
			l.IP(bridge, "link", "set", port, "master", "br0")
			l.IP(h.NS, "addr", "add", link.IPv6.String()+"/64", "dev", link.Dev, "nodad")
			h.Links = append(h.Links, link)
		}
		l.hosts[spec.Name] = h
	}
	return l
}

// Host returns the named host.
func (l *LAN) Host(name string) *Host {
	h, ok := l.hosts[name]
	if !ok {
		l.t.Fatalf("netnstest: no host %q", name)
	}
	return h
}

// HostIP runs "ip -n <host's namespace> args…", failing the test on error.
func (l *LAN) HostIP(host string, args ...string) {
	l.t.Helper()
	l.IP(l.Host(host).NS, args...)
}

// sweepStale deletes namespaces of earlier test processes that died
// before their cleanup ran.
func sweepStale(t testing.TB) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for line := range strings.Lines(string(out)) {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, nsPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if err := exec.Command("ip", "netns", "del", name).Run(); err == nil {
			t.Logf("deleted namespace %s left by dead process %d", name, pid)
		}
	}
}

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Proc is a process running in a host's namespace that speaks JSON lines.
type Proc struct {
	Name   string
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stderr lockedBuffer
	exited chan struct{}
	err    error // Wait's result, valid after exited is closed
}

// Start runs this test binary (os.Executable) in host's namespace with
// args and extra environment. The process is killed when t ends; if t
// failed, its stderr is logged.
func (l *LAN) Start(t testing.TB, host, name string, env []string, args ...string) *Proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("find test binary: %v", err)
	}
	return l.StartBinary(t, host, name, env, exe, args...)
}

// StartBinary is Start for another program (the parley binary itself).
func (l *LAN) StartBinary(t testing.TB, host, name string, env []string, bin string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.Host(host).NS, bin}, args...)...)
	childEnv, err := ChildEnv()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(append(os.Environ(), childEnv...), env...)
	p := &Proc{Name: name, t: t, cmd: cmd, lines: make(chan []byte, 256), exited: make(chan struct{})}
	cmd.Stderr = &p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s in %s: %v", name, host, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 4<<20)
		for sc.Scan() {
			p.lines <- bytes.Clone(sc.Bytes())
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.Stderr())
		}
	})
	return p
}

// Send writes v as one JSON line to the process's stdin.
func (p *Proc) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = p.stdin.Write(append(b, '\n'))
	return err
}

// CloseStdin tells the process that no more commands come.
func (p *Proc) CloseStdin() { p.stdin.Close() }

// Next returns the next stdout line, or an error after timeout or when the
// process has exited.
func (p *Proc) Next(timeout time.Duration) ([]byte, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line, ok := <-p.lines:
		if !ok {
			<-p.exited
			return nil, fmt.Errorf("%s exited (%v) before printing more", p.Name, p.err)
		}
		return line, nil
	case <-timer.C:
		return nil, fmt.Errorf("%s printed nothing within %v", p.Name, timeout)
	}
}

// Signal sends sig to the process (the program itself: ip netns exec
// replaces itself with it).
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill sends SIGKILL (if the process still runs) and waits for it.
func (p *Proc) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	// Drain stdout so the reader goroutine can reach Wait.
	go func() {
		for range p.lines {
		}
	}()
	<-p.exited
}

// Wait waits up to timeout for the process to exit and returns its
// result; stdout lines not yet read are discarded.
func (p *Proc) Wait(timeout time.Duration) error {
	go func() {
		for range p.lines {
		}
	}()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("%s did not exit within %v", p.Name, timeout)
	}
}

// Stderr returns what the process wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
