// Command parley is the Parley desktop app and its headless tools: with no
// subcommand it opens the window; serve, join, discover, bench and version
// run without one.
package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
)

//go:embed all:frontend/dist
var embedded embed.FS

// Set with -ldflags "-X main.version=… -X main.commit=…" by the Makefile.
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	assets, err := fs.Sub(embedded, "frontend/dist")
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley: embedded frontend missing:", err)
		os.Exit(1)
	}
	cli := &CLI{
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Assets:  assets,
		Version: version,
		Commit:  commit,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
