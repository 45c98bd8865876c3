package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"parley/app"
	"parley/backend/rtcconf"
)

const windowSynopsis = "parley [--host [--room NAME] | --join URL] [--name NAME] [--password P] [--source devices|test|none] [--mic ID] [--speaker ID] [--camera ID] [--share SCREEN] [--stats] [--report FILE] [--ice-iface IFACES] [--host-addr HOST:PORT] [--codec-report FILE]"

// windowFlags are the window mode's meeting flags: `parley --host` and
// `parley --join URL` open the window straight into a meeting (what a
// parley:// link handler will call later).
type windowFlags struct {
	host      *bool
	join      *string
	room      *string
	name      *string
	password  *string
	source    *string
	report    *string
	iceIfaces *string
	hostAddr  *string
	insecure  *bool
	mic       *string
	speaker   *string
	camera    *string
	share     *string
	stats     *bool
}

func addWindowFlags(fset *flag.FlagSet) *windowFlags {
	return &windowFlags{
		host:      fset.Bool("host", false, "host a meeting at once (the window opens in it)"),
		join:      fset.String("join", "", "join the meeting of invite link `URL` at once"),
		room:      fset.String("room", "meeting", "with --host: the room's `NAME`"),
		name:      fset.String("name", "", "your display `NAME` (default: your user name)"),
		password:  fset.String("password", "", "with --host: require this `PASSWORD`; with --join: the room's password"),
		source:    fset.String("source", app.SourceDevices, "what to publish: `devices` (camera and microphone), test (moving pattern and 440 Hz tone) or none"),
		report:    fset.String("report", "", "write what was shown and played (tiles, decoded fps, audio) to `FILE` as JSON at exit"),
		iceIfaces: fset.String("ice-iface", "", "use only these network `INTERFACES` (comma-separated) for media; default all"),
		hostAddr:  fset.String("host-addr", ":0", "with --host: listen on `HOST:PORT` (port 0 picks a free port)"),
		insecure:  fset.Bool("insecure", false, "with --join: do not verify the host's certificate (when the link has no fingerprint)"),
		mic:       fset.String("mic", "", "microphone `ID` or name (PulseAudio source; default: the system's)"),
		speaker:   fset.String("speaker", "", "speaker `ID` or name (PulseAudio sink; default: the system's)"),
		camera:    fset.String("camera", "", "camera `ID` or name (default: the first one; none is fine)"),
		share:     fset.String("share", "", "share screen `ID` (x11:N, or first) as soon as in the meeting"),
		stats:     fset.Bool("stats", false, "open the meeting with the stats overlay on (resolution, fps, bitrate, loss, RTT per tile)"),
	}
}

func (w *windowFlags) options() (app.Options, error) {
	if *w.host && *w.join != "" {
		return app.Options{}, fmt.Errorf("--host and --join exclude each other")
	}
	switch *w.source {
	case app.SourceDevices, app.SourceTest, app.SourceNone:
	default:
		return app.Options{}, fmt.Errorf("--source is devices, test or none, not %q", *w.source)
	}
	launch := app.Launch{Name: *w.name, Password: *w.password, Stats: *w.stats}
	switch {
	case *w.host:
		launch.Action, launch.Room = "host", *w.room
	case *w.join != "":
		launch.Action, launch.URL = "join", *w.join
	}
	return app.Options{
		Launch:      launch,
		ReportPath:  *w.report,
		Source:      *w.source,
		RTC:         rtcconf.Options{Interfaces: splitList(*w.iceIfaces)},
		HostAddr:    *w.hostAddr,
		Insecure:    *w.insecure,
		Mic:         *w.mic,
		Speaker:     *w.speaker,
		Camera:      *w.camera,
		ShareScreen: *w.share,
		// Remembered device choices live next to the certificate.
		ConfigDir: configDir(),
		// The same persistent self-signed certificate `parley serve` uses,
		// so invite links keep their fingerprint across restarts.
		Certificate: func() (tls.Certificate, error) { return loadServeCert("", "") },
	}, nil
}

// configDir is Parley's directory in the user's config directory ("" if
// there is none: then nothing is remembered).
func configDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "parley")
}
