// Package pulsetest runs a private PulseAudio server for tests, with
// virtual speakers and microphones whose other ends are in the test: a
// Speaker records everything played to it, a Mic feeds the server whatever
// the test generates. Nothing reaches sound hardware, and the server's
// socket lives in a temporary directory, so it never meets a user's own
// sound server.
//
// The virtual devices are pipe sinks and pipe sources, read and written by
// this package in real time on one clock, so that a test knows when a
// sample entered a microphone and when it left a speaker. (Null sinks run
// on PulseAudio's own timer, which on some virtual machines runs at half
// speed: measured here, 2 s of audio took 4 s to play.)
package pulsetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Rate of all audio (mono, s16le).
const Rate = 48000

// Server is a running PulseAudio.
type Server struct {
	dir    string
	socket string
	cmd    *exec.Cmd
	start  time.Time // the clock of every Speaker and Mic
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// One goroutine serves every device on each tick, speakers first: a
	// busy machine then delays all of them together, the way one sound
	// card's clock would, instead of letting a speaker stall while a
	// microphone runs on.
	devMu    sync.Mutex
	speakers []*speakerPipe
	mics     []*micPipe
	running  bool

	gapMu sync.Mutex
	gaps  []gap // the devices' services that came late
}

// gap is a time the devices went unserved, from clock position at on.
type gap struct {
	at  int64
	len time.Duration
}

// lateService is how late a service of the devices (due every 5 ms) is
// recorded as a gap.
const lateService = 20 * time.Millisecond

type speakerPipe struct {
	sp  *Speaker
	f   *os.File
	buf []byte
	got int64
}

type micPipe struct {
	m    *Mic
	f    *os.File
	pos  int64
	buf  []byte
	idle bool // nobody records: the server does not read the pipe
}

// NeedTools skips the test when one of the audio tools is not installed,
// unless PARLEY_REQUIRE_AUDIO is set (make test sets it: there a missing
// tool is a broken `make deps`).
func NeedTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("PARLEY_REQUIRE_AUDIO") != "" {
				t.Fatalf("%s not installed (make deps installs it)", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
}

// Start runs PulseAudio and stops it (and every device) when the test
// ends. Without PulseAudio it skips the test (see NeedTools).
func Start(t testing.TB) *Server {
	t.Helper()
	NeedTools(t, "pulseaudio", "pactl")
	dir, err := os.MkdirTemp("", "parley-pulse-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: dir, socket: filepath.Join(dir, "native")}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	args := []string{
		"-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--log-target=stderr",
		"--load=module-native-protocol-unix socket=" + s.socket + " auth-anonymous=1",
	}
	// PULSETEST_LOG=FILE keeps the server's debug log.
	logPath := os.Getenv("PULSETEST_LOG")
	if logPath != "" {
		args = append(args, "-vvvv")
	}
	s.cmd = exec.Command("pulseaudio", args...)
	// The server dies with the test binary, even one killed by a timeout.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "PULSE_RUNTIME_PATH="+filepath.Join(dir, "pulse"),
		"HOME="+dir, "PULSE_STATE_PATH="+filepath.Join(dir, "state"))
	var log bytes.Buffer
	s.cmd.Stdout, s.cmd.Stderr = &log, &log
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		s.cmd.Stdout, s.cmd.Stderr = f, f
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start pulseaudio: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		s.cancel()
		_ = s.cmd.Process.Kill()
		<-exited
		s.wg.Wait()
		_ = os.RemoveAll(dir)
	})
	deadline := time.Now().Add(15 * time.Second)
	for s.pactl("info") != nil {
		select {
		case <-exited:
			t.Fatalf("pulseaudio exited:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pulseaudio not ready in 15 s:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.start = time.Now()
	return s
}

// Env is what a client process needs to use this server (and no other).
func (s *Server) Env() []string {
	return []string{"PULSE_SERVER=unix:" + s.socket, "PULSE_COOKIE=" + filepath.Join(s.dir, "cookie")}
}

// Use points this process's own PulseAudio clients (the code under test)
// at the server for the rest of the test.
func (s *Server) Use(t *testing.T) {
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func (s *Server) pactl(args ...string) error {
	_, err := s.pactlOut(args...)
	return err
}

// pactlOut runs pactl and returns what it printed (load-module prints the
// new module's index).
func (s *Server) pactlOut(args ...string) (string, error) {
	cmd := exec.Command("pactl", args...)
	cmd.Env = append(os.Environ(), s.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pactl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// SetDefaultMic makes the named microphone the server's default source.
func (s *Server) SetDefaultMic(t testing.TB, name string) {
	t.Helper()
	if err := s.pactl("set-default-source", name); err != nil {
		t.Fatal(err)
	}
}

// LongestGap is the longest time the devices went unserved (5 ms when
// on time) between clock positions from and to: a busy or stalled
// machine holding up this virtual sound card, which a real card's clock
// would not be, or a sink that stopped rendering.
func (s *Server) LongestGap(from, to int64) time.Duration {
	s.gapMu.Lock()
	defer s.gapMu.Unlock()
	var longest time.Duration
	for _, g := range s.gaps {
		end := g.at + int64(g.len*Rate/time.Second)
		if g.at < to && end > from {
			longest = max(longest, g.len)
		}
	}
	return longest
}

// Now is the position of the shared clock, in samples.
func (s *Server) Now() int64 {
	return int64(time.Since(s.start) * Rate / time.Second)
}

// Speaker is a virtual speaker: everything played to it is recorded, at
// the position of the shared clock when it left the server.
type Speaker struct {
	Name string
	mu   sync.Mutex
	// fill sums the pipe's fill before each read (samples), to estimate
	// how long samples waited in the pipe.
	fill, reads int64
	misses      atomic.Int64
	// rec[i] left the server at clock position base+i.
	rec  []int16
	base int64
}

// pipeBytes is the smallest pipe buffer (one page): the pipe sink keeps
// its pipe full, so the pipe adds at most this much delay (21 ms).
const pipeBytes = 4096

// Speaker adds a virtual speaker named name.
func (s *Server) Speaker(t testing.TB, name string) *Speaker {
	t.Helper()
	fifo := filepath.Join(s.dir, name+".fifo")
	if err := s.pactl("load-module", "module-pipe-sink", "sink_name="+name, "file="+fifo,
		"format=s16le", fmt.Sprintf("rate=%d", Rate), "channels=1",
		"sink_properties=device.description="+name); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, pipeBytes)
	sp := &Speaker{Name: name, base: -1}
	s.devMu.Lock()
	s.speakers = append(s.speakers, &speakerPipe{sp: sp, f: f, buf: make([]byte, 1920)})
	s.devMu.Unlock()
	s.serve()
	return sp
}

// serve starts the device goroutine once.
func (s *Server) serve() {
	s.devMu.Lock()
	defer s.devMu.Unlock()
	if s.running {
		return
	}
	s.running = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		defer func() {
			s.devMu.Lock()
			for _, p := range s.speakers {
				p.f.Close()
			}
			for _, p := range s.mics {
				p.f.Close()
			}
			s.devMu.Unlock()
		}()
		last := time.Now()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-tick.C:
			}
			if late := time.Since(last); late > lateService {
				s.gapMu.Lock()
				s.gaps = append(s.gaps, gap{at: int64(last.Sub(s.start) * Rate / time.Second), len: late})
				s.gapMu.Unlock()
			}
			last = time.Now()
			s.devMu.Lock()
			speakers, mics := s.speakers, s.mics
			s.devMu.Unlock()
			now := s.Now()
			for _, p := range speakers {
				p.read(now)
			}
			for _, p := range mics {
				p.write(now)
			}
		}
	}()
}

// read takes what the server played up to clock position now. The pipe
// holding at most pipeBytes, reading it on time is what clocks the sink.
func (p *speakerPipe) read(now int64) {
	sp := p.sp
	for {
		sp.mu.Lock()
		if sp.base < 0 {
			sp.base = now
		}
		due := now - sp.base - p.got
		sp.mu.Unlock()
		if due <= 0 {
			return
		}
		// TIOCINQ is FIONREAD: bytes waiting in the pipe.
		if queued, err := unix.IoctlGetInt(int(p.f.Fd()), unix.TIOCINQ); err == nil {
			sp.mu.Lock()
			sp.fill += int64(queued / 2)
			sp.reads++
			sp.mu.Unlock()
		}
		// The sink renders only as fast as this reads (silence when
		// nothing plays), so data is always on its way: waiting for it
		// keeps the timeline exact. Only a sink that stopped for good is
		// filled in with silence.
		_ = p.f.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := p.f.Read(p.buf[:min(int(due)*2, len(p.buf))])
		sp.mu.Lock()
		for i := 0; i+1 < n; i += 2 {
			sp.rec = append(sp.rec, int16(binary.LittleEndian.Uint16(p.buf[i:])))
		}
		p.got += int64(n / 2)
		if err != nil {
			for i := int64(0); i < due-int64(n/2); i++ {
				sp.rec = append(sp.rec, 0)
			}
			p.got += due - int64(n/2)
			sp.mu.Unlock()
			return
		}
		sp.mu.Unlock()
	}
}

// PipeDelay is how long, on average, played samples waited in the pipe
// before this side read them (in samples): subtract it from a latency
// measured at the Speaker.
func (sp *Speaker) PipeDelay() int64 {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.reads == 0 {
		return 0
	}
	return sp.fill / sp.reads
}

// Recording returns what was played from clock position from on (and the
// position of its first sample).
func (sp *Speaker) Recording(from int64) ([]int16, int64) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	start := max(from-sp.base, 0)
	if sp.base < 0 || start >= int64(len(sp.rec)) {
		return nil, from
	}
	return append([]int16(nil), sp.rec[start:]...), sp.base + start
}

// At returns the sample played at clock position pos (0 if it was not
// read yet, which Misses counts: a Mic's Signal asking for samples at
// least 5 ms old always gets them, speakers being read first on each
// tick).
func (sp *Speaker) At(pos int64) int16 {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	i := pos - sp.base
	if sp.base < 0 || i < 0 {
		return 0
	}
	if i >= int64(len(sp.rec)) {
		sp.misses.Add(1)
		return 0
	}
	return sp.rec[i]
}

// Misses counts positions At could not answer yet.
func (sp *Speaker) Misses() int64 { return sp.misses.Load() }

// Signal produces a microphone's input: the sample at clock position pos.
type Signal func(pos int64) int16

// Mic is a virtual microphone: it hears what its Signal says, in real time.
type Mic struct {
	Name   string
	s      *Server
	module string // PulseAudio module index
	mu     sync.Mutex
	sig    Signal
}

// Unplug removes the microphone from the server, as pulling a USB
// microphone out does: streams recording from it end.
func (m *Mic) Unplug(t testing.TB) {
	t.Helper()
	if err := m.s.pactl("unload-module", m.module); err != nil {
		t.Fatal(err)
	}
	m.stopFeeding(func(f *os.File) { f.Close() })
}

// Stall stops feeding the microphone while it stays plugged in: streams
// recording from it get no more data, as from a device the sound server
// stopped delivering from.
func (m *Mic) Stall(t testing.TB) {
	t.Helper()
	// The pipe stays open: a closed one would end the source's input.
	m.stopFeeding(func(f *os.File) { t.Cleanup(func() { f.Close() }) })
}

// stopFeeding takes the microphone off the serve loop and hands its pipe
// to done.
func (m *Mic) stopFeeding(done func(*os.File)) {
	s := m.s
	s.devMu.Lock()
	defer s.devMu.Unlock()
	// A new slice: the serve loop may still range over the old one.
	s.mics = slices.DeleteFunc(slices.Clone(s.mics), func(p *micPipe) bool {
		if p.m == m {
			done(p.f)
			return true
		}
		return false
	})
}

// Mic adds a virtual microphone named name, silent until SetSignal.
func (s *Server) Mic(t testing.TB, name string) *Mic {
	t.Helper()
	fifo := filepath.Join(s.dir, name+".fifo")
	module, err := s.pactlOut("load-module", "module-pipe-source", "source_name="+name, "file="+fifo,
		"format=s16le", fmt.Sprintf("rate=%d", Rate), "channels=1",
		"source_properties=device.description="+name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, pipeBytes)
	m := &Mic{Name: name, s: s, module: module}
	s.devMu.Lock()
	s.mics = append(s.mics, &micPipe{m: m, f: f, pos: s.Now()})
	s.devMu.Unlock()
	s.serve()
	return m
}

// SetSignal changes what the microphone hears.
func (m *Mic) SetSignal(sig Signal) {
	m.mu.Lock()
	m.sig = sig
	m.mu.Unlock()
}

// write feeds the source what its Signal says, up to clock position now.
func (p *micPipe) write(now int64) {
	p.m.mu.Lock()
	sig := p.m.sig
	p.m.mu.Unlock()
	p.buf = p.buf[:0]
	for ; p.pos < now; p.pos++ {
		var v int16
		if sig != nil {
			v = sig(p.pos)
		}
		p.buf = binary.LittleEndian.AppendUint16(p.buf, uint16(v))
	}
	// A source nobody records from stops reading its pipe: what it does
	// not take is lost, as a microphone's sound is. A recording source
	// reads every few milliseconds, and dropping samples from it would
	// move everything after them earlier (the echo would jump), so it
	// gets time; an idle one does not hold up the other devices.
	wait := 200 * time.Millisecond
	if p.idle {
		wait = time.Millisecond
	}
	_ = p.f.SetWriteDeadline(time.Now().Add(wait))
	n, err := p.f.Write(p.buf)
	p.idle = err != nil && n < len(p.buf)
}

// PlayAt returns a Signal that plays samples from clock position at on,
// silence around them.
func PlayAt(samples []int16, at int64) Signal {
	return func(pos int64) int16 {
		if i := pos - at; i >= 0 && i < int64(len(samples)) {
			return samples[i]
		}
		return 0
	}
}
