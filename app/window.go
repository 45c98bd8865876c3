package app

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// RunWindow opens the desktop window and blocks until it is closed or ctx
// is done (Ctrl-C, SIGTERM). It only works in a binary built with the
// desktop and production tags (make build). Call Close afterwards.
func (a *App) RunWindow(ctx context.Context, assets fs.FS) error {
	closed := make(chan struct{})
	defer close(closed)
	startup := func(wctx context.Context) {
		a.Startup(wctx)
		fitToScreen(wctx)
		a.SetEmitter(func(name string, data any) { runtime.EventsEmit(wctx, name, data) })
		go func() {
			select {
			case <-ctx.Done():
				runtime.Quit(wctx)
			case <-closed:
			}
		}()
	}
	err := wails.Run(&options.App{
		Title:            "Parley",
		Width:            windowWidth,
		Height:           windowHeight,
		MinWidth:         minWidth,
		MinHeight:        minHeight,
		BackgroundColour: &options.RGBA{R: 0x14, G: 0x16, B: 0x1c, A: 0xff},
		AssetServer:      &assetserver.Options{Assets: assets},
		OnStartup:        startup,
		// Report and leave while the page still shows the meeting (the
		// close button, Ctrl-C and SIGTERM all come through here).
		OnBeforeClose: func(context.Context) bool {
			_ = a.Finish()
			return false
		},
		// Events must stop before the window's context goes away.
		OnShutdown: func(context.Context) { a.SetEmitter(nil) },
		Bind:       []any{a, a.lan},
		Linux: &linux.Options{
			ProgramName:      "parley",
			WebviewGpuPolicy: gpuPolicy(),
		},
	})
	if err != nil {
		return fmt.Errorf("open window: %w", err)
	}
	return nil
}

// Window size: what the layout is designed for, unless the screen is
// smaller (a 1366×768 laptop), where the window takes 90% of it.
const (
	windowWidth, windowHeight = 1280, 800
	minWidth, minHeight       = 640, 480
)

func fitToScreen(ctx context.Context) {
	screens, err := runtime.ScreenGetAll(ctx)
	if err != nil {
		return
	}
	for _, s := range screens {
		if !s.IsCurrent && len(screens) > 1 {
			continue
		}
		w, h := s.Size.Width, s.Size.Height
		if w <= 0 || h <= 0 || (windowWidth <= w*9/10 && windowHeight <= h*9/10) {
			return
		}
		nw, nh := max(minWidth, min(windowWidth, w*9/10)), max(minHeight, min(windowHeight, h*9/10))
		runtime.WindowSetSize(ctx, nw, nh)
		// Not WindowCenter: it may still see the old size.
		runtime.WindowSetPosition(ctx, max(0, (w-nw)/2), max(0, (h-nh)/2))
		return
	}
}

// gpuPolicy picks WebKit's GPU use. Video tiles repaint 30 times a second;
// with a GPU, accelerated compositing makes that cheap. Without a GPU
// driver (no /dev/dri render node: a VM, CI under Xvfb) compositing runs on
// a software GL and costs about twice the CPU of plain software painting
// (measured: 51 vs 22 ms of CPU per 640×360 frame drawn), so it is turned
// off there. PARLEY_GPU=on|off overrides the guess.
func gpuPolicy() linux.WebviewGpuPolicy {
	switch os.Getenv("PARLEY_GPU") {
	case "on":
		return linux.WebviewGpuPolicyOnDemand
	case "off":
		return linux.WebviewGpuPolicyNever
	}
	if nodes, _ := filepath.Glob("/dev/dri/renderD*"); len(nodes) > 0 {
		return linux.WebviewGpuPolicyOnDemand
	}
	return linux.WebviewGpuPolicyNever
}
