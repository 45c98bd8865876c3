package app

import (
	"fmt"
	"io/fs"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
)

// RunWindow opens the desktop window and blocks until it is closed. It only
// works in a binary built with the desktop and production tags (make build).
func (a *App) RunWindow(assets fs.FS) error {
	err := wails.Run(&options.App{
		Title:            "Parley",
		Width:            1280,
		Height:           800,
		MinWidth:         640,
		MinHeight:        480,
		BackgroundColour: &options.RGBA{R: 0x14, G: 0x16, B: 0x1c, A: 0xff},
		AssetServer:      &assetserver.Options{Assets: assets},
		OnStartup:        a.Startup,
		Bind:             []any{a},
		Linux: &linux.Options{
			ProgramName: "parley",
			// Video frames are drawn on canvas; software rendering keeps the
			// window working on machines without GPU drivers (and under Xvfb).
			WebviewGpuPolicy: linux.WebviewGpuPolicyOnDemand,
		},
	})
	if err != nil {
		return fmt.Errorf("open window: %w", err)
	}
	return nil
}
