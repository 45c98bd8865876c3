// Package app is the Go object bound to the desktop webview: the methods the
// frontend calls and the events it receives.
package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"

	"parley/backend/bot"
	"parley/backend/rtcconf"
	"parley/backend/server"
	"parley/discovery"
	"parley/media/capture"
	"parley/media/render"
)

// CodecReport is what the webview found out about its own WebCodecs support
// at start-up. Video reaches the webview only as encoded VP8, so without a
// working decoder the desktop app cannot show anyone.
type CodecReport struct {
	WebCodecs     bool   `json:"webcodecs"`
	VP8Supported  bool   `json:"vp8Supported"`
	DecodedWidth  int    `json:"decodedWidth"`
	DecodedHeight int    `json:"decodedHeight"`
	LeftRGB       []int  `json:"leftRGB"`
	RightRGB      []int  `json:"rightRGB"`
	Error         string `json:"error"`
}

// OK reports whether the webview can decode VP8 video.
func (r CodecReport) OK() bool { return r.WebCodecs && r.VP8Supported && r.Error == "" }

// Options configure the bound App.
type Options struct {
	Version string
	// CodecReportPath, when set, receives the webview's CodecReport as JSON:
	// tests and bug reports read it.
	CodecReportPath string
	Log             *slog.Logger

	// Launch is what the command line asked for at start (--host,
	// --join); the webview reads it with LaunchIntent.
	Launch Launch
	// ReportPath, when set, receives the meeting report (tiles and audio)
	// as JSON when the app exits.
	ReportPath string
	// Source is what a meeting publishes: SourceTest, SourceDevices or
	// SourceNone.
	Source string
	// RTC restricts ICE (Interfaces, e.g. "lo" in tests) for the client
	// and, when hosting, for the server.
	RTC rtcconf.Options
	// Assets is the built frontend, served to browser guests when hosting.
	Assets fs.FS
	// HostAddr is where a hosted meeting listens ("" = all interfaces,
	// a free port).
	HostAddr string
	// Certificate loads the host's TLS certificate (nil: plain HTTP, for
	// tests on loopback only).
	Certificate func() (tls.Certificate, error)
	// Insecure skips verifying the host's certificate when joining.
	Insecure bool
	// OnHosting, when set, hears the invite link of a meeting we host.
	OnHosting func(invite string)
	// LANInterfaces limits the lobby's LAN browsing (empty: every
	// interface that is up and multicast-capable).
	LANInterfaces []string
	// Mic, Speaker and Camera choose devices by id or label ("" = the
	// system default; no camera is fine).
	Mic, Speaker, Camera string
	// MaxBitrate is this user's bandwidth cap in bits per second (0:
	// none): what we send, and separately what we receive (--max-bitrate).
	MaxBitrate int
	// RoomMaxBitrate is the cap on each video track in a room we host
	// (bits per second; 0: none).
	RoomMaxBitrate int
	// TURN runs the embedded TURN relay with a meeting we host (nil:
	// none), for guests whose networks block direct media.
	TURN *server.TURNConfig
	// Advertise lists a room this app hosts on the LAN (mDNS), as state
	// says it is whenever RoomAdvert.Refresh is called; nil lists nothing
	// (as when it listens only on loopback).
	Advertise func(ctx context.Context, room discovery.Room, state func() server.RoomState) (RoomAdvert, error)
	// AdvertiseHost is the host name or IP in the invite links of a
	// meeting we host ("": this machine's LAN address).
	AdvertiseHost string
	// ShareScreen, when set, starts sharing this screen ("first", or a
	// screen id) as soon as the meeting is joined.
	ShareScreen string
	// ConfigDir keeps the devices the user picks (devices.json), used
	// where Mic, Speaker and Camera are "" ("": nothing is remembered),
	// the port of the last meeting hosted (host.json), so that its invite
	// link still works when the user hosts again, and this app's device id
	// (identity.json), against which a host's removal holds.
	ConfigDir string
	// PatternCameras lists that many virtual cameras showing the moving
	// test pattern (capture.PatternCameras) after the real ones.
	PatternCameras int
}

// Sources of published media.
const (
	SourceTest    = "test"    // the moving pattern and 440 Hz tone of media/testsrc
	SourceDevices = "devices" // camera and microphone
	SourceNone    = "none"    // receive only
)

// App is bound to the webview; its exported methods become JS functions
// under window.go.app.App.
type App struct {
	opts   Options
	render *render.Server
	tiles  *tileBook
	audio  *audioOut
	lan    *LAN // bound next to App: the lobby's LAN list

	// emitter sends an event to the webview (Wails runtime events in the
	// window, a recorder in tests).
	emitMu  sync.Mutex
	emitter func(name string, data any)

	mu      sync.Mutex
	ctx     context.Context
	codecs  *CodecReport
	meeting *meeting
	media   *bot.Media // the encoded test source, made on first use
	muted   map[string]bool
	prefs   devicePrefs // what SelectDevice saves in ConfigDir
	view    string      // the screen the window shows (ReportView)
	viewSeq int         // the sequence number of that report
	device  string      // hello.device, kept in ConfigDir
	joining func()      // gives up the join under way (Leave while waiting)
	// hostPort is the port of the last meeting hosted, tried first by the
	// next one so that its invite link stays the same.
	hostPort int
	// camOpts shape camera video (tests make it small: the race
	// detector makes encoding 720p too slow).
	camOpts capture.Options

	finishOnce sync.Once
}

// New returns an App ready to be bound. It opens the render socket; Close
// releases it.
func New(opts Options) (*App, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Source == "" {
		opts.Source = SourceDevices
	}
	rs, err := render.Listen(opts.Log)
	if err != nil {
		return nil, err
	}
	prefs := loadPrefs(opts.ConfigDir, opts.Log)
	// Flags win over the remembered choice, for this run only.
	opts.Camera = cmp.Or(opts.Camera, prefs.Camera)
	opts.Mic = cmp.Or(opts.Mic, prefs.Mic)
	opts.Speaker = cmp.Or(opts.Speaker, prefs.Speaker)
	// A pattern camera asked for by name (--camera pattern) is listed with
	// the real ones: the picker shows what is live, not "No camera found".
	opts.PatternCameras = max(opts.PatternCameras, capture.PatternIndex(opts.Camera))
	a := &App{opts: opts, render: rs, tiles: newTileBook(), muted: map[string]bool{}, prefs: prefs, camOpts: capture.CameraOptions(),
		hostPort: loadJSONPref[hostPortPref](opts.ConfigDir, hostPortFile, opts.Log).Port,
		device:   deviceID(opts.ConfigDir, opts.Log)}
	a.audio = newAudioOut(a)
	a.lan = NewLAN(opts.LANInterfaces, opts.Log)
	return a, nil
}

// Startup is called by the window with a context that lives as long as it.
func (a *App) Startup(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ctx = ctx
}

// SetEmitter routes events to the webview.
func (a *App) SetEmitter(f func(name string, data any)) {
	a.emitMu.Lock()
	a.emitter = f
	a.emitMu.Unlock()
}

// EventName is the one Wails event all of the engine's events travel on.
const EventName = "parley"

func (a *App) emit(data any) {
	a.emitMu.Lock()
	f := a.emitter
	a.emitMu.Unlock()
	if f != nil {
		f(EventName, data)
	}
}

// Finish writes the report (once) and leaves the meeting. The window calls
// it before it closes (close button, Ctrl-C, SIGTERM), while the webview
// still shows the meeting: the report says what was on screen and in the
// speakers, not the empty room after leaving.
func (a *App) Finish() error {
	var err error
	a.finishOnce.Do(func() {
		if a.opts.ReportPath != "" {
			if err = writeJSONFile(a.opts.ReportPath, a.report()); err != nil {
				a.opts.Log.Error("write report", "err", err)
			}
		}
		if m, cerr := a.current(); cerr == nil {
			a.endMeeting(m, true)
		}
	})
	return err
}

// Close finishes (if the window did not) and stops the render socket.
func (a *App) Close() error {
	err := a.Finish()
	a.lan.Stop()
	a.audio.close()
	if cerr := a.render.Close(); cerr != nil {
		return cerr
	}
	return err
}

// Version returns the app's version string.
func (a *App) Version() string { return a.opts.Version }

// ReportCodecSupport records the webview's WebCodecs check.
func (a *App) ReportCodecSupport(r CodecReport) error {
	a.mu.Lock()
	a.codecs = &r
	a.mu.Unlock()
	if r.OK() {
		a.opts.Log.Info("webview video decoding works", "codec", "vp8",
			"decoded", fmt.Sprintf("%dx%d", r.DecodedWidth, r.DecodedHeight))
	} else {
		a.opts.Log.Error("webview cannot decode video; meetings will show no video",
			"webcodecs", r.WebCodecs, "vp8", r.VP8Supported, "error", r.Error)
	}
	if a.opts.CodecReportPath == "" {
		return nil
	}
	if err := writeJSONFile(a.opts.CodecReportPath, r); err != nil {
		a.opts.Log.Error("write codec report", "err", err)
		return err
	}
	return nil
}

// CodecSupport returns the last report, or nil if the webview has not sent one.
func (a *App) CodecSupport() *CodecReport {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.codecs
}

// writeJSONFile writes atomically so that a reader polling for the file never
// sees half of it.
func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}
