// Package bench is the load generator behind `parley bench`: a meeting of
// bots that all publish and receive, measured from the outside (the
// server's own CPU and memory from /proc, forwarding from its metrics,
// latency and loss from the bots).
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"parley/backend/bot"
	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/signal"
)

// Options shape a benchmark run.
type Options struct {
	// URL is the invite link of the room to load.
	URL string
	// Publishers send video and audio (and receive); Subscribers only
	// receive. A meeting of N is Publishers = N, Subscribers = 0.
	Publishers, Subscribers int
	// Warmup runs before measuring, Duration is measured.
	Warmup, Duration time.Duration
	// Server, when set, is the server process to measure (CPU, memory).
	Server *Process
	// MetricsURL is the server's /metrics, for packets forwarded.
	MetricsURL string
	Insecure   bool
	Log        *slog.Logger
	Progress   io.Writer
	Media      *bot.Media
}

// Result is what one run measured.
type Result struct {
	Publishers, Subscribers int
	Duration                time.Duration

	Forwarded     uint64  // packets the server sent to subscribers in the window
	PacketsPerSec float64 // Forwarded per second
	ServerCPU     time.Duration
	CPUPerPacket  time.Duration // ServerCPU / Forwarded
	ServerCores   float64       // ServerCPU / Duration
	ServerRSS     uint64        // bytes, at the end
	ServerPeakRSS uint64

	Expected, Received uint64 // packets subscribers should have / did get
	LossPct            float64
	LatencyP50         time.Duration
	LatencyP99         time.Duration
	JoinP50, JoinP95   time.Duration // join → first video frame
}

type participant struct {
	client    *client.Client
	probes    []*probe
	received  atomic.Uint64
	joinStart time.Time
	firstSeen atomic.Int64 // ns since joinStart of the first video frame, 0: none
}

// Run connects the bots, warms up, measures and disconnects.
func Run(ctx context.Context, opts Options) (Result, error) {
	if opts.Publishers < 1 || opts.Subscribers < 0 {
		return Result{}, fmt.Errorf("bench: need at least one publisher (have %d, %d subscribers)", opts.Publishers, opts.Subscribers)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	engine, err := rtcconf.NewEngine(rtcconf.Options{
		Role: rtcconf.RoleClient, LoopbackOnly: true,
		// The bots keep no bandwidth estimate: they send the test
		// pattern's bitrate whatever happens, as the load is meant to,
		// and spend the machine's CPU on nothing else.
		DisableBandwidthEstimation: true,
	})
	if err != nil {
		return Result{}, fmt.Errorf("bench: webrtc: %w", err)
	}
	epoch := time.Now()
	lat := &histogram{}
	playCtx, stopPlaying := context.WithCancel(ctx)
	var players sync.WaitGroup
	var people []*participant
	defer func() {
		stopPlaying()
		players.Wait()
		for _, p := range people {
			_ = p.client.Leave()
		}
	}()

	total := opts.Publishers + opts.Subscribers
	fmt.Fprintf(opts.Progress, "joining %d bots (%d publishing)…\n", total, opts.Publishers)
	for i := 0; i < total; i++ {
		p := &participant{joinStart: time.Now()}
		cl, err := client.Dial(ctx, opts.URL, client.Options{
			Name:     fmt.Sprintf("bot-%02d", i+1),
			Insecure: opts.Insecure,
			Engine:   engine,
			Log:      opts.Log,
			OnTrack: func(rt *client.RemoteTrack) {
				video := rt.Kind != signal.KindAudio
				rt.SetSink(func(pkt *rtp.Packet) {
					p.received.Add(1)
					if d, ok := readStamp(pkt.Payload, epoch); ok {
						lat.record(d)
					}
					if video && pkt.Marker && p.firstSeen.Load() == 0 {
						p.firstSeen.CompareAndSwap(0, int64(time.Since(p.joinStart)))
					}
				})
			},
		})
		if err != nil {
			return Result{}, fmt.Errorf("bench: bot %d joins: %w", i+1, err)
		}
		p.client = cl
		people = append(people, p)
		if i < opts.Publishers {
			if err := publishProbes(ctx, playCtx, p, opts.Media, epoch, &players); err != nil {
				return Result{}, fmt.Errorf("bench: bot %d publishes: %w", i+1, err)
			}
		}
	}

	fmt.Fprintf(opts.Progress, "warming up for %v…\n", opts.Warmup)
	if err := sleep(ctx, opts.Warmup); err != nil {
		return Result{}, err
	}
	for _, p := range people {
		if err := p.client.Err(); err != nil {
			return Result{}, fmt.Errorf("bench: a bot dropped out during warm-up: %w", err)
		}
	}
	lat.reset()
	start := snapshot(people, opts)
	fmt.Fprintf(opts.Progress, "measuring for %v…\n", opts.Duration)
	if err := sleep(ctx, opts.Duration); err != nil {
		return Result{}, err
	}
	end := snapshot(people, opts)

	res := Result{Publishers: opts.Publishers, Subscribers: opts.Subscribers, Duration: end.at.Sub(start.at)}
	res.Forwarded = end.forwarded - start.forwarded
	res.PacketsPerSec = float64(res.Forwarded) / res.Duration.Seconds()
	if opts.Server != nil {
		res.ServerCPU = end.cpu - start.cpu
		res.ServerCores = res.ServerCPU.Seconds() / res.Duration.Seconds()
		if res.Forwarded > 0 {
			res.CPUPerPacket = res.ServerCPU / time.Duration(res.Forwarded)
		}
		res.ServerRSS, res.ServerPeakRSS = end.rss, end.peakRSS
	}
	// Every publisher's packets go to every other participant.
	for i := range people {
		sentDelta := end.sent[i] - start.sent[i]
		res.Expected += sentDelta * uint64(total-1)
		res.Received += end.received[i] - start.received[i]
	}
	if res.Expected > 0 && res.Received < res.Expected {
		res.LossPct = 100 * float64(res.Expected-res.Received) / float64(res.Expected)
	}
	res.LatencyP50, res.LatencyP99 = lat.quantile(0.50), lat.quantile(0.99)
	res.JoinP50, res.JoinP95 = joinQuantiles(people)
	return res, nil
}

func publishProbes(ctx, playCtx context.Context, p *participant, m *bot.Media, epoch time.Time, players *sync.WaitGroup) error {
	type spec struct {
		kind  signal.Kind
		codec webrtc.RTPCodecParameters
		id    string
		video bool
	}
	for _, s := range []spec{
		{signal.KindVideo, rtcconf.VP8Codec(), "camera", true},
		{signal.KindAudio, rtcconf.OpusCodec(), "mic", false},
	} {
		track, err := webrtc.NewTrackLocalStaticRTP(s.codec.RTPCodecCapability, s.id, p.client.ID())
		if err != nil {
			return err
		}
		loop := m.Audio
		if s.video {
			loop = m.Video
		}
		pr := newProbe(track, loop, s.codec.ClockRate, s.video, epoch)
		pubCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err = p.client.Publish(pubCtx, s.kind, track, client.PublishOptions{OnKeyframeRequest: pr.requestKeyframe})
		cancel()
		if err != nil {
			return err
		}
		p.probes = append(p.probes, pr)
		players.Add(1)
		go func() {
			defer players.Done()
			_ = pr.run(playCtx)
		}()
	}
	return nil
}

type snap struct {
	at             time.Time
	sent, received []uint64 // per participant
	forwarded      uint64
	cpu            time.Duration
	rss, peakRSS   uint64
}

func snapshot(people []*participant, opts Options) snap {
	s := snap{at: time.Now()}
	for _, p := range people {
		var sent uint64
		for _, pr := range p.probes {
			sent += pr.sent.Load()
		}
		s.sent = append(s.sent, sent)
		s.received = append(s.received, p.received.Load())
	}
	if opts.MetricsURL != "" {
		if v, err := scrapeCounter(opts.MetricsURL, "parley_packets_forwarded_total", opts.Insecure); err == nil {
			s.forwarded = uint64(v)
		} else {
			opts.Log.Warn("scrape metrics", "err", err)
		}
	}
	if opts.Server != nil {
		if u, err := opts.Server.Usage(); err == nil {
			s.cpu, s.rss, s.peakRSS = u.CPU, u.RSS, u.PeakRSS
		}
	}
	if s.forwarded == 0 {
		// Without metrics, what the bots received is what was forwarded.
		for _, r := range s.received {
			s.forwarded += r
		}
	}
	return s
}

func joinQuantiles(people []*participant) (p50, p95 time.Duration) {
	var joins []time.Duration
	for i, p := range people {
		if i == 0 {
			continue // the first bot has nobody to see
		}
		if ns := p.firstSeen.Load(); ns > 0 {
			joins = append(joins, time.Duration(ns))
		}
	}
	if len(joins) == 0 {
		return 0, 0
	}
	sort.Slice(joins, func(i, j int) bool { return joins[i] < joins[j] })
	at := func(q float64) time.Duration { return joins[min(len(joins)-1, int(q*float64(len(joins))))] }
	return at(0.50), at(0.95)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return errors.New("bench: interrupted")
	case <-time.After(d):
		return nil
	}
}
