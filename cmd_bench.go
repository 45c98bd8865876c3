package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"parley/backend/bot"
	"parley/testing/bench"
)

func (c *CLI) bench(ctx context.Context, args []string) int {
	fset := c.newFlagSet("parley bench",
		"parley bench [--participants N | --publishers P --subscribers S] [--duration D] [--warmup D] [--url URL] [--no-floor] [--json]")
	participants := fset.Int("participants", 4, "a meeting of `N` where everyone publishes and receives everyone")
	publishers := fset.Int("publishers", 0, "webinar shape: `P` participants publish…")
	subscribers := fset.Int("subscribers", 0, "…and `S` only receive")
	duration := fset.Duration("duration", 10*time.Second, "measure for `D`")
	warmup := fset.Duration("warmup", 3*time.Second, "run `D` before measuring")
	target := fset.String("url", "", "load a running server's room at `URL` instead of starting one (no server CPU figures then)")
	noFloor := fset.Bool("no-floor", false, "skip the bare pion relay run that the SFU is compared with")
	jsonOut := fset.Bool("json", false, "print the results as JSON lines")
	if code, done := c.parse(fset, args); done {
		return code
	}
	pubs, subs := *participants, 0
	if *publishers > 0 || *subscribers > 0 {
		pubs, subs = *publishers, *subscribers
	}
	if pubs < 1 || subs < 0 || *duration <= 0 || *warmup < 0 {
		fmt.Fprintln(c.Stderr, "parley bench: need at least one publisher and a positive --duration")
		return exitUsage
	}
	media, err := bot.EncodeMedia()
	if err != nil {
		fmt.Fprintln(c.Stderr, "parley bench:", err)
		return exitError
	}
	out := &output{w: c.Stdout, json: *jsonOut}
	opts := bench.Options{
		Publishers: pubs, Subscribers: subs, Warmup: *warmup, Duration: *duration,
		Media: media, Log: c.logger(*jsonOut), Progress: c.Stderr,
	}
	shape := fmt.Sprintf("%d publishing, %d receiving only", pubs, subs)

	if *target != "" {
		opts.URL, opts.Insecure = *target, true
		res, err := bench.Run(ctx, opts)
		if err != nil {
			fmt.Fprintln(c.Stderr, "parley bench:", err)
			return exitError
		}
		report(out, "parley", shape, res)
		return exitOK
	}

	res, err := c.benchChild(ctx, opts, nil)
	if err != nil {
		fmt.Fprintln(c.Stderr, "parley bench:", err)
		return exitError
	}
	report(out, "parley", shape, res)
	if *noFloor {
		return exitOK
	}
	floor, err := c.benchChild(ctx, opts, []string{"--relay"})
	if err != nil {
		fmt.Fprintln(c.Stderr, "parley bench: floor:", err)
		return exitError
	}
	report(out, "pion-relay", shape, floor)
	ratio := 0.0
	if floor.CPUPerPacket > 0 {
		ratio = float64(res.CPUPerPacket) / float64(floor.CPUPerPacket)
	}
	out.event("ratio", map[string]any{"cpu_per_packet_vs_pion_relay": ratio},
		fmt.Sprintf("Parley's CPU per forwarded packet is %.2f× the bare pion relay's.", ratio))
	return exitOK
}

// benchChild starts `parley serve` (with extra flags) as a child process
// on loopback, loads it and stops it.
func (c *CLI) benchChild(ctx context.Context, opts bench.Options, extra []string) (bench.Result, error) {
	exe, err := os.Executable()
	if err != nil {
		return bench.Result{}, fmt.Errorf("find own binary: %w", err)
	}
	args := append([]string{"serve", "--tls", "off", "--addr", "127.0.0.1:0", "--room", "bench",
		"--max", "1000", "--ice-iface", "lo", "--json"}, extra...)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return bench.Result{}, err
	}
	if err := cmd.Start(); err != nil {
		return bench.Result{}, fmt.Errorf("start server: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	url, err := readReadyURL(stdout, 15*time.Second)
	if err != nil {
		return bench.Result{}, err
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	opts.URL = url
	opts.MetricsURL = url[:strings.Index(url, "/r/")] + "/metrics"
	opts.Server = &bench.Process{PID: cmd.Process.Pid}
	return bench.Run(ctx, opts)
}

func readReadyURL(r io.Reader, timeout time.Duration) (string, error) {
	type result struct {
		url string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var ev struct{ Event, URL string }
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event == "ready" {
				ch <- result{url: ev.URL}
				return
			}
		}
		ch <- result{err: errors.New("server exited before it was ready")}
	}()
	select {
	case res := <-ch:
		return res.url, res.err
	case <-time.After(timeout):
		return "", fmt.Errorf("server not ready after %v", timeout)
	}
}

func report(out *output, plane, shape string, r bench.Result) {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	out.event("result", map[string]any{
		"plane": plane, "publishers": r.Publishers, "subscribers": r.Subscribers,
		"duration_s":        r.Duration.Seconds(),
		"forwarded_packets": r.Forwarded, "packets_per_s": r.PacketsPerSec,
		"server_cpu_us_per_packet": us(r.CPUPerPacket), "server_cores": r.ServerCores,
		"server_rss_mb": float64(r.ServerRSS) / (1 << 20), "server_peak_rss_mb": float64(r.ServerPeakRSS) / (1 << 20),
		"loss_pct": r.LossPct, "latency_p50_ms": ms(r.LatencyP50), "latency_p99_ms": ms(r.LatencyP99),
		"join_first_frame_p50_ms": ms(r.JoinP50), "join_first_frame_p95_ms": ms(r.JoinP95),
	}, fmt.Sprintf(`%s (%s), %.0f s measured:
  forwarded          %d packets, %.0f packets/s
  server CPU         %.2f µs per forwarded packet (%.2f cores)
  server memory      %.0f MB RSS (peak %.0f MB)
  loss               %.3f %% (%d of %d packets)
  forwarding latency p50 %.2f ms, p99 %.2f ms
  join → first frame p50 %.0f ms, p95 %.0f ms`,
		plane, shape, r.Duration.Seconds(),
		r.Forwarded, r.PacketsPerSec,
		us(r.CPUPerPacket), r.ServerCores,
		float64(r.ServerRSS)/(1<<20), float64(r.ServerPeakRSS)/(1<<20),
		r.LossPct, r.Expected-min(r.Received, r.Expected), r.Expected,
		ms(r.LatencyP50), ms(r.LatencyP99),
		ms(r.JoinP50), ms(r.JoinP95)))
}
