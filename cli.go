package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"

	"parley/app"
	"parley/backend/signal"
	"parley/media/cthread"
)

// Exit codes shared by every subcommand.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// CLI dispatches the command line. Its fields are the process's outside
// world, so tests can run commands in-process.
type CLI struct {
	Stdout, Stderr io.Writer
	Assets         fs.FS
	Version        string
	Commit         string
}

type command struct {
	summary string
	run     func(c *CLI, ctx context.Context, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"serve":    {"host meetings without a window (for servers and CI)", (*CLI).serve},
		"join":     {"join a meeting as a bot with synthetic media", (*CLI).join},
		"bench":    {"measure the server under a meeting of bots", (*CLI).bench},
		"discover": {"find meetings on this network", (*CLI).discover},
		"version":  {"print the version and commit", (*CLI).printVersion},
		"help":     {"list commands, or show one command's flags", (*CLI).help},
	}
}

// Run executes args (without the program name) and returns the exit code.
// Cancelling ctx stops long-running commands the way Ctrl-C does.
func (c *CLI) Run(ctx context.Context, args []string) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, ok := commands()[args[0]]
		if !ok {
			fmt.Fprintf(c.Stderr, "parley: unknown command %q\n\n", args[0])
			c.usage(c.Stderr)
			return exitUsage
		}
		return cmd.run(c, ctx, args[1:])
	}
	return c.window(ctx, args)
}

func (c *CLI) usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: parley [flags]            open the desktop window")
	fmt.Fprintln(w, "       parley <command> [flags]")
	fmt.Fprintln(w, "\nCommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-9s %s\n", name, cmds[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'parley help <command>' for a command's flags.")
}

func (c *CLI) help(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usage(c.Stdout)
		return exitOK
	}
	cmd, ok := commands()[args[0]]
	if !ok || args[0] == "help" {
		fmt.Fprintf(c.Stderr, "parley help: unknown command %q\n", args[0])
		return exitUsage
	}
	return cmd.run(c, ctx, []string{"-h"})
}

// newFlagSet returns a flag set whose -h prints to stdout and exits 0, and
// whose errors print usage to stderr and exit 2.
func (c *CLI) newFlagSet(name, synopsis string) *flag.FlagSet {
	fset := flag.NewFlagSet(name, flag.ContinueOnError)
	fset.SetOutput(c.Stderr)
	fset.Usage = func() {
		out := fset.Output()
		fmt.Fprintf(out, "Usage: %s\n\nFlags:\n", synopsis)
		fset.PrintDefaults()
	}
	return fset
}

// parse returns (exit code, done): done means the command must stop now.
// -h prints usage to stdout and succeeds; errors print it to stderr.
func (c *CLI) parse(fset *flag.FlagSet, args []string) (int, bool) {
	usage := fset.Usage
	fset.Usage = func() {} // the flag package would print it on -h too
	err := fset.Parse(args)
	fset.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		fset.SetOutput(c.Stdout)
		fset.Usage()
		return exitOK, true
	case err != nil:
		fset.Usage()
		return exitUsage, true
	case fset.NArg() > 0:
		fmt.Fprintf(c.Stderr, "%s: unexpected argument %q\n", fset.Name(), fset.Arg(0))
		fset.Usage()
		return exitUsage, true
	}
	return exitOK, false
}

func (c *CLI) printVersion(_ context.Context, args []string) int {
	fset := c.newFlagSet("parley version", "parley version")
	if code, done := c.parse(fset, args); done {
		return code
	}
	fmt.Fprintf(c.Stdout, "parley %s (commit %s)\n", c.Version, c.Commit)
	return exitOK
}

func (c *CLI) window(ctx context.Context, args []string) int {
	fset := c.newFlagSet("parley", windowSynopsis)
	codecReport := fset.String("codec-report", "", "write the webview's video-decoding self-check to `FILE` as JSON")
	wf := addWindowFlags(fset)
	if code, done := c.parse(fset, args); done {
		return code
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		fmt.Fprintln(c.Stderr, "parley: no display to open a window on; use 'parley serve' to host without one")
		return exitError
	}
	opts, err := wf.options()
	if err != nil {
		fmt.Fprintln(c.Stderr, "parley:", err)
		return exitUsage
	}
	// A window lives all day, through meeting after meeting.
	cthread.ReturnLargeFrees()
	opts.Version = c.Version
	opts.CodecReportPath = *codecReport
	opts.Log = c.logger(false)
	opts.Assets = c.Assets
	opts.OnHosting = func(invite string) {
		fmt.Fprintf(c.Stdout, "Hosting. Invite link:\n  %s\n", invite)
	}
	a, err := app.New(opts)
	if err != nil {
		fmt.Fprintln(c.Stderr, "parley:", err)
		return exitError
	}
	runErr := a.RunWindow(ctx, c.Assets)
	if err := a.Close(); err != nil {
		fmt.Fprintln(c.Stderr, "parley:", err)
	}
	if runErr != nil {
		fmt.Fprintln(c.Stderr, "parley:", runErr)
		return exitError
	}
	return exitOK
}

func (c *CLI) logger(jsonOut bool) *slog.Logger {
	if jsonOut {
		return slog.New(slog.NewJSONHandler(c.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(c.Stderr, nil))
}

// checkRoomFlag refuses a --room value no server would accept, with the
// rule in words (PROTOCOL.md §6).
func checkRoomFlag(name string) error {
	if err := signal.ValidateRoomName(name); err != nil {
		msg := err.Error()
		if se, ok := errors.AsType[*signal.Error](err); ok {
			msg = se.Message
		}
		if !strings.Contains(msg, "letters") {
			msg += " (a room name is up to 64 letters, digits, '-', '_' or '.', not starting with '.')"
		}
		return fmt.Errorf("--room %q: %s", name, msg)
	}
	return nil
}
