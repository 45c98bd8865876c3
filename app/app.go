// Package app is the Go object bound to the desktop webview: the methods the
// frontend calls and the events it receives.
package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
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
}

// App is bound to the webview; its exported methods become JS functions
// under window.go.app.App.
type App struct {
	opts Options

	mu     sync.Mutex
	ctx    context.Context
	codecs *CodecReport
}

// New returns an App ready to be bound.
func New(opts Options) *App {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &App{opts: opts}
}

// Startup is called by the window with a context that lives as long as it.
func (a *App) Startup(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ctx = ctx
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
