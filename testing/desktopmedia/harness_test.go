package desktopmedia

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/testing/meetingtest"
)

// display is a private X server, so that two app windows never overlap
// and a screenshot shows one app only.
type display struct {
	name string // ":N"
	cmd  *exec.Cmd
}

// startDisplay runs Xvfb on a free display number (-displayfd), with one
// screen per size, and stops it when the test ends.
func startDisplay(t *testing.T, sizes ...string) *display {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// -noreset: painting a screen's root from a short-lived client must
	// outlive that client.
	args := []string{"-displayfd", "3", "-nolisten", "tcp", "-noreset"}
	for i, size := range sizes {
		args = append(args, "-screen", strconv.Itoa(i), size+"x24")
	}
	cmd := exec.Command("Xvfb", args...)
	// Gone with the test binary, even one killed by a timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	num := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		num <- strings.TrimSpace(line)
	}()
	select {
	case n := <-num:
		if _, err := strconv.Atoi(n); err != nil {
			t.Fatalf("Xvfb gave display %q", n)
		}
		return &display{name: ":" + n, cmd: cmd}
	case <-time.After(15 * time.Second):
		t.Fatal("Xvfb did not start within 15 s")
		return nil
	}
}

// appProc is one running app window.
type appProc struct {
	name   string
	cmd    *exec.Cmd
	report string
	log    string // the app's output, in the artifacts
	exited chan error
	mu     sync.Mutex
	out    strings.Builder // stdout, for the invite link

	terminated bool // SIGTERM sent; only the test's goroutine sets it
}

// startApp runs the app on display d; its output goes to
// artifacts/desktopmedia-TEST-NAME.log. Extra environment in env.
func startApp(t *testing.T, ctx context.Context, bin string, d *display, name string, env []string, args ...string) *appProc {
	t.Helper()
	dir := t.TempDir()
	p := &appProc{name: name, report: filepath.Join(dir, "report.json"), exited: make(chan error, 1)}
	args = append(args, "--name", name, "--report", p.report)
	p.cmd = exec.CommandContext(ctx, bin, args...)
	// Own config dir: the host certificate is made fresh and the user's
	// own settings are never touched.
	p.cmd.Env = append(os.Environ(), "DISPLAY="+d.name, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	p.cmd.Env = append(p.cmd.Env, env...)
	p.log = filepath.Join(meetingtest.ArtifactDir(t), "desktopmedia-"+strings.ReplaceAll(t.Name(), "/", "-")+"-"+name+".log")
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = logFile
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(syscall.SIGTERM) }
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	p.cmd.WaitDelay = 10 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			fmt.Fprintln(logFile, sc.Text())
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		<-copied
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

var inviteRE = regexp.MustCompile(`https?://\S+/r/\S+`)

// invite waits for the host's invite link on its stdout.
func (p *appProc) invite(t *testing.T, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		link := inviteRE.FindString(p.out.String())
		p.mu.Unlock()
		if link != "" {
			return link
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("%s exited before hosting: %v (see %s)", p.name, err, p.log)
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("%s printed no invite link within %s (see %s)", p.name, timeout, p.log)
	return ""
}

// stop sends SIGTERM (the app writes its report on the way out) and waits.
// stopAll sends SIGTERM to every app before waiting for any: reports are
// written at exit, and an app that outlives another would report a meeting
// the other already left.
func stopAll(t *testing.T, apps ...*appProc) {
	for _, p := range apps {
		p.terminate()
	}
	for _, p := range apps {
		p.stop(t)
	}
}

// terminate sends SIGTERM once; a second one would cut the app's shutdown.
func (p *appProc) terminate() {
	if p.cmd.Process == nil || p.terminated {
		return
	}
	p.terminated = true
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
}

func (p *appProc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil || p.cmd.Process == nil {
		return
	}
	p.terminate()
	select {
	case err := <-p.exited:
		p.exited <- err
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Errorf("%s: %v", p.name, err)
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not exit within 20 s of SIGTERM", p.name)
	}
}

// Report mirrors app.Report, decoded independently so that the test checks
// the file format.
type Report struct {
	View  string `json:"view"`
	Tiles []struct {
		Participant   string  `json:"participant"`
		Kind          string  `json:"kind"`
		Self          bool    `json:"self"`
		Width         int     `json:"width"`
		Height        int     `json:"height"`
		DecodedFPS    float64 `json:"decoded_fps"`
		FramesDecoded int     `json:"frames_decoded"`
	} `json:"tiles"`
	Audio struct {
		Playing []string `json:"playing"`
		Mic     string   `json:"mic"`
	} `json:"audio"`
	Layout   []Layout `json:"layout"`
	Received []struct {
		Name   string `json:"name"`
		Kind   string `json:"kind"`
		Frames int    `json:"frames"`
	} `json:"received"`
}

// Layout is a tile's place in the window (CSS pixels).
type Layout struct {
	Participant string  `json:"participant"`
	Self        bool    `json:"self"`
	Screen      bool    `json:"screen"`
	State       string  `json:"state"`
	X           float64 `json:"x"`
	Y           float64 `json:"y"`
	Width       float64 `json:"width"`
	Height      float64 `json:"height"`
	Stats       string  `json:"stats"`
}

func (p *appProc) readReport(t *testing.T) Report {
	t.Helper()
	data, err := os.ReadFile(p.report)
	if err != nil {
		t.Fatalf("%s wrote no report: %v", p.name, err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s report: %v\n%s", p.name, err, data)
	}
	t.Logf("%s report: %s", p.name, compact(data))
	return r
}

func compact(data []byte) string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return string(data)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// screenshot saves the display's root window as a PNG.
func screenshot(t *testing.T, d *display, path string) image.Image {
	t.Helper()
	cmd := exec.Command("import", "-window", "root", path)
	cmd.Env = append(os.Environ(), "DISPLAY="+d.name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot %s: %v\n%s", d.name, err, out)
	}
	return meetingtest.ReadPNG(t, path)
}

// windowOrigin is where the "Parley" window's content starts on the root
// window (xwininfo), so that tile layouts map to screenshot pixels.
func windowOrigin(t *testing.T, d *display) image.Point {
	t.Helper()
	cmd := exec.Command("xwininfo", "-name", "Parley")
	cmd.Env = append(os.Environ(), "DISPLAY="+d.name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("xwininfo: %v\n%s", err, out)
	}
	get := func(label string) int {
		m := regexp.MustCompile(label + `:\s+(-?\d+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("xwininfo has no %q:\n%s", label, out)
		}
		v, _ := strconv.Atoi(string(m[1]))
		return v
	}
	return image.Pt(get("Absolute upper-left X"), get("Absolute upper-left Y"))
}

// rect is a tile's interior in screenshot pixels, inset by 10% so that
// borders, rounded corners and name labels stay out.
func (l Layout) rect(origin image.Point) image.Rectangle {
	dx, dy := l.Width*0.1, l.Height*0.1
	return image.Rect(origin.X+int(l.X+dx), origin.Y+int(l.Y+dy), origin.X+int(l.X+l.Width-dx), origin.Y+int(l.Y+l.Height-dy*2))
}

// meanDiff is the mean absolute difference per channel (0–255) of two
// images inside r.
func meanDiff(a, b image.Image, r image.Rectangle) float64 {
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			sum += absDiff(r1, r2) + absDiff(g1, g2) + absDiff(b1, b2)
			n += 3
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n / 257
}

func absDiff(a, b uint32) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}

// colourfulness is the share of pixels in r whose channels spread by more
// than 60: video of the test pattern, not the dark UI.
func colourfulness(img image.Image, r image.Rectangle) float64 {
	var hit, n int
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			hi := max(cr, cg, cb) >> 8
			lo := min(cr, cg, cb) >> 8
			n++
			if hi-lo > 60 || hi > 200 {
				hit++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float64(hit) / float64(n)
}
