package desktopmedia

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/media/audio/pulsetest"
	"parley/testing/meetingtest"
)

// TestDesktopClientCPU measures the desktop client (the app process and
// its webview processes together) sending 720p30 (the live-encoded
// virtual camera) plus its microphone, and receiving three 360p30 streams
// from bots, for 20 s after a 12 s warm-up. Targets (issue): ≤ 1 core of
// this machine, RSS ≤ 400 MB. The client's RSS is the memory its
// processes hold in RAM together (residentKB): their summed RSS counts the
// WebKit, JavaScriptCore and LLVM (Mesa) pages that each of them maps once
// per process. Summed RSS and PSS are logged too; without the page frames
// (not root) PSS is judged.
//
// "joined": the window joins a meeting that `parley serve` hosts in
// another process — the client alone, which the targets are for.
// "hosting": the window hosts the meeting itself, so its process also
// runs the SFU forwarding the bots to each other; logged for comparison,
// judged by the same targets only in the log.
//
// It takes two minutes, so it runs only with PARLEY_BENCH=1 (make bench).
func TestDesktopClientCPU(t *testing.T) {
	if os.Getenv("PARLEY_BENCH") == "" {
		t.Skip("a benchmark: set PARLEY_BENCH=1")
	}
	bin := meetingtest.NeedApp(t, "Xvfb")
	t.Run("joined", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		invite := serveRoom(t, ctx, bin)
		fig := measureClient(t, ctx, bin, invite, "--join", invite)
		if fig.cores > 1 {
			t.Errorf("the client used %.2f cores, target ≤ 1", fig.cores)
		}
		switch {
		case fig.residentMB > 400:
			t.Errorf("the client's processes held %d MB in RAM together, target ≤ 400", fig.residentMB)
		case fig.residentMB == 0 && fig.pssMB > 400:
			t.Errorf("the client's memory (PSS) peaked at %d MB, target ≤ 400", fig.pssMB)
		}
	})
	t.Run("hosting", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		measureClient(t, ctx, bin, "", "--host", "--host-addr", "127.0.0.1:0")
	})
}

// serveRoom starts `parley serve` on loopback, with more flags if given,
// and returns its invite link.
func serveRoom(t *testing.T, ctx context.Context, bin string, flags ...string) string {
	t.Helper()
	invite, _ := serveRoomLinks(t, ctx, bin, flags...)
	return invite
}

// serveRoomLinks is serveRoom that also returns the host link that serve
// prints for a room with a waiting room (--lobby).
func serveRoomLinks(t *testing.T, ctx context.Context, bin string, flags ...string) (invite, hostLink string) {
	t.Helper()
	invite, hostLink, _ = serveRoomIn(t, ctx, bin, t.TempDir(), flags...)
	return invite, hostLink
}

// serveRoomIn is serveRoomLinks with the server's config directory (its
// certificate) given, and a stop that ends it (SIGTERM) and waits.
func serveRoomIn(t *testing.T, ctx context.Context, bin, configDir string, flags ...string) (invite, hostLink string, stop func()) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--room", "bench", "--json",
		"--no-discovery", "--ice-iface", "lo"}, flags...)...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+configDir)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	type links struct{ invite, host string }
	ready := make(chan links, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev struct {
				Event, URL string
				HostURL    string `json:"hostUrl"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event == "ready" {
				ready <- links{ev.URL, ev.HostURL}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l := <-ready:
		return l.invite, l.host, stop
	case <-time.After(30 * time.Second):
		t.Fatal("parley serve printed no ready line within 30 s")
		return "", "", stop
	}
}

// startBots has n bots (bot1, bot2, …) join invite, sending the test
// pattern (360p30, every other frame non-reference) and tone, until the
// test ends.
func startBots(t *testing.T, ctx context.Context, bin, invite string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		bot := exec.CommandContext(ctx, bin, "join", invite, "--name", "bot"+strconv.Itoa(i), "--source", "test", "--ice-iface", "lo")
		if err := bot.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = bot.Process.Signal(os.Interrupt)
			_ = bot.Wait()
		})
	}
}

type clientFigures struct {
	cores             float64
	pssMB, residentMB int64
}

// measureClient runs the window with args (hosting or joining) and three
// bots joining invite (the window's own invite link when empty), and
// measures the window's process tree.
func measureClient(t *testing.T, ctx context.Context, bin, invite string, args ...string) clientFigures {
	t.Helper()
	pa := pulsetest.Start(t)
	pa.Mic(t, "mic")
	pa.Speaker(t, "spk")
	disp := startDisplay(t, "1280x800")
	app := startApp(t, ctx, bin, disp, "Alice", pa.Env(), append(args, "--ice-iface", "lo",
		"--source", "devices", "--camera", "pattern", "--mic", "mic", "--speaker", "spk")...)
	if invite == "" {
		invite = app.invite(t, 60*time.Second)
	}
	startBots(t, ctx, bin, invite, 3)
	waitOrExit(t, 12*time.Second, app)
	pids := func() []int { return tree(app.cmd.Process.Pid) }
	self := []int{app.cmd.Process.Pid}
	cpu0, self0 := ticks(pids()), ticks(self)
	busy0, all0 := machineTicks()
	start := time.Now()
	var rss, pss, goRSS int64
	for time.Since(start) < 20*time.Second {
		waitOrExit(t, 2*time.Second, app)
		rss = max(rss, memKB(pids(), "/status", "VmRSS:"))
		pss = max(pss, memKB(pids(), "/smaps_rollup", "Pss:"))
		goRSS = max(goRSS, memKB(self, "/status", "VmRSS:"))
	}
	secs := time.Since(start).Seconds()
	cores := float64(ticks(pids())-cpu0) / 100 / secs
	goCores := float64(ticks(self)-self0) / 100 / secs
	busy1, all1 := machineTicks()
	// After the CPU window: reading the pagemaps costs the machine CPU.
	resident := residentKB(pids())
	// With every core busy the webview draws what it can, not what it
	// gets: its frame rate, not the client's cores, then shows the gain.
	machine := float64(busy1-busy0) / float64(max(all1-all0, 1))
	// What the tiles showed, to look at (taken after the measurement).
	screenshot(t, disp, filepath.Join(meetingtest.ArtifactDir(t), "desktopmedia-"+strings.ReplaceAll(t.Name(), "/", "-")+".png"))
	app.stop(t)
	r := app.readReport(t)
	var fps []float64
	var drawn float64
	for _, tile := range r.Tiles {
		drawn += tile.DecodedFPS
		if !tile.Self {
			fps = append(fps, tile.DecodedFPS)
		}
	}
	// The webview's CPU per frame it drew compares runs that drew
	// different numbers of frames.
	msPerFrame := (cores - goCores) * 1000 / max(drawn, 1)
	t.Logf("CPU %.2f cores (%.2f in the Go process, the rest in the webview's: %.1f ms per frame drawn), peak PSS %d MB, %d MB in RAM together (at the end), peak RSS %d MB summed (%d MB the Go process), remote tiles decoded at %v fps; the machine was %.0f %% busy",
		cores, goCores, msPerFrame, pss/1024, resident/1024, rss/1024, goRSS/1024, fps, machine*100)
	writeBench(t, map[string]any{"cpu_cores": math.Round(cores*100) / 100, "go_process_cores": math.Round(goCores*100) / 100,
		"pss_mb": pss / 1024, "resident_mb": resident / 1024, "rss_mb": rss / 1024, "go_process_rss_mb": goRSS / 1024, "remote_fps": fps,
		"webview_ms_per_frame": math.Round(msPerFrame*10) / 10, "machine_busy": math.Round(machine*100) / 100})
	if len(fps) != 3 {
		t.Errorf("%d remote tiles, want 3", len(fps))
	}
	return clientFigures{cores: cores, pssMB: pss / 1024, residentMB: resident / 1024}
}

// tree is pid and its descendants (the app's webview processes).
func tree(pid int) []int {
	out := []int{pid}
	children, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, f := range children {
		data, _ := os.ReadFile(f)
		for _, c := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(c); err == nil {
				out = append(out, tree(n)...)
			}
		}
	}
	return out
}

// ticks is the CPU time (user + system, 1/100 s) of pids.
func ticks(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command (which may contain spaces).
		f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			sum += u + s
		}
	}
	return sum
}

// machineTicks is the CPU time all cores were busy, and all CPU time,
// since boot (/proc/stat, 1/100 s).
func machineTicks() (busy, all int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		all += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, all
}

// memKB sums the kB value of field in /proc/PID/file over pids.
func memKB(pids []int, file, field string) int64 {
	var sum int64
	for _, pid := range pids {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, field); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// residentKB is the memory pids hold in RAM together: the distinct
// physical pages mapped by any of them (their pagemaps, which give page
// frame numbers to root only; 0 without them). It is the processes' RSS
// as one client: summed RSS counts a library page every process maps
// once per process, PSS shares it with processes outside the client.
func residentKB(pids []int) int64 {
	frames := map[uint64]struct{}{}
	for _, pid := range pids {
		if err := residentFrames(pid, frames); err != nil {
			return 0
		}
	}
	return int64(len(frames)) * int64(os.Getpagesize()) / 1024
}

// residentFrames adds the page frames of pid's resident pages to frames.
// Only mappings that smaps shows resident are read: WebKit reserves tens
// of gigabytes it never touches.
func residentFrames(pid int, frames map[uint64]struct{}) error {
	dir := "/proc/" + strconv.Itoa(pid)
	smaps, err := os.ReadFile(dir + "/smaps")
	if err != nil {
		return nil // the process has gone
	}
	pagemap, err := os.Open(dir + "/pagemap")
	if err != nil {
		return nil
	}
	defer pagemap.Close()
	page := uint64(os.Getpagesize())
	const present, frameBits = 1 << 63, 1<<55 - 1
	buf := make([]byte, 8*4096)
	var start, end uint64
	sawFrame := false
	for _, line := range strings.Split(string(smaps), "\n") {
		if r, _, ok := strings.Cut(line, " "); ok && strings.Count(r, "-") == 1 && !strings.HasSuffix(r, ":") {
			lo, hi, _ := strings.Cut(r, "-")
			start, _ = strconv.ParseUint(lo, 16, 64)
			end, _ = strconv.ParseUint(hi, 16, 64)
			continue
		}
		rss, ok := strings.CutPrefix(line, "Rss:")
		if !ok || strings.TrimSpace(rss) == "0 kB" {
			continue
		}
		for addr := start; addr < end; {
			n := min((end-addr)/page, uint64(len(buf)/8))
			got, err := pagemap.ReadAt(buf[:n*8], int64(addr/page*8))
			if err != nil && got == 0 {
				break
			}
			for i := 0; i+8 <= got; i += 8 {
				e := binary.LittleEndian.Uint64(buf[i:])
				if e&present != 0 {
					frames[e&frameBits] = struct{}{}
					sawFrame = sawFrame || e&frameBits != 0
				}
			}
			addr += n * page
		}
	}
	if !sawFrame {
		return fmt.Errorf("pagemap of %d shows no page frames (not root?)", pid)
	}
	return nil
}
