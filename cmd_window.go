package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os/user"
	"strings"

	"parley/app"
	"parley/backend/rtcconf"
	"parley/backend/server"
	"parley/discovery"
)

const windowSynopsis = "parley [--host [--room NAME] [--lobby] | --join URL] [--name NAME] [--password P] [--source devices|test|none] [--mic ID] [--speaker ID] [--camera ID] [--share SCREEN] [--stats] [--max-bitrate KBPS] [--room-max-bitrate KBPS] [--report FILE] [--ice-iface IFACES] [--host-addr HOST:PORT] [--advertise-host HOST] [--turn-port PORT] [--codec-report FILE]"

// windowFlags are the window mode's meeting flags: `parley --host` and
// `parley --join URL` open the window straight into a meeting (what a
// parley:// link handler will call later).
type windowFlags struct {
	host      *bool
	join      *string
	room      *string
	name      *string
	password  *string
	lobby     *bool
	source    *string
	report    *string
	iceIfaces *string
	hostAddr  *string
	advertise *string
	insecure  *bool
	mic       *string
	speaker   *string
	camera    *string
	share     *string
	maxKbps   *int
	roomKbps  *int
	stats     *bool
	turn      *turnFlags
}

func addWindowFlags(fset *flag.FlagSet) *windowFlags {
	return &windowFlags{
		host:      fset.Bool("host", false, "host a meeting at once (the window opens in it)"),
		join:      fset.String("join", "", "join the meeting of invite link `URL` at once"),
		room:      fset.String("room", "meeting", "with --host: the room's `NAME`"),
		lobby:     fset.Bool("lobby", false, "with --host: joiners wait until you admit them"),
		name:      fset.String("name", "", "your display `NAME` (default: your user name)"),
		password:  fset.String("password", "", "with --host: require this `PASSWORD`; with --join: the room's password"),
		source:    fset.String("source", app.SourceDevices, "what to publish: `devices` (camera and microphone), test (moving pattern and 440 Hz tone) or none"),
		report:    fset.String("report", "", "write what was shown and played (the screen, tiles, decoded fps, audio) to `FILE` as JSON at exit"),
		iceIfaces: fset.String("ice-iface", "", "use only these network `INTERFACES` (comma-separated) for media; default all"),
		hostAddr:  fset.String("host-addr", ":0", "with --host: listen on `HOST:PORT` (port 0: the last meeting's port if free, else any free one)"),
		advertise: fset.String("advertise-host", "", "when hosting: `HOST` name or IP to put in invite links (default: this machine's LAN address)"),
		insecure:  fset.Bool("insecure", false, "with --join: do not verify the host's certificate (when the link has no fingerprint)"),
		mic:       fset.String("mic", "", "microphone `ID` or name (PulseAudio source; default: the system's)"),
		speaker:   fset.String("speaker", "", "speaker `ID` or name (PulseAudio sink; default: the system's)"),
		camera:    fset.String("camera", "", "camera `ID` or name (default: the first one; none is fine)"),
		share:     fset.String("share", "", "share screen `ID` (x11:N, or first) as soon as in the meeting"),
		maxKbps:   fset.Int("max-bitrate", 0, "send and receive at most `KBPS` kbit/s of video each way (a bad link; 0: no cap)"),
		roomKbps:  fset.Int("room-max-bitrate", 0, "with --host: each participant's video track sends at most `KBPS` kbit/s (0: no cap)"),
		stats:     fset.Bool("stats", false, "open the meeting with the stats overlay on (resolution, fps, bitrate, loss, RTT per tile)"),
		turn:      addTURNFlags(fset, "when hosting: "),
	}
}

func (w *windowFlags) options() (app.Options, error) {
	if *w.host && *w.join != "" {
		return app.Options{}, fmt.Errorf("--host and --join exclude each other")
	}
	if *w.maxKbps < 0 || *w.roomKbps < 0 {
		return app.Options{}, fmt.Errorf("--max-bitrate and --room-max-bitrate must not be negative")
	}
	switch *w.source {
	case app.SourceDevices, app.SourceTest, app.SourceNone:
	default:
		return app.Options{}, fmt.Errorf("--source is devices, test or none, not %q", *w.source)
	}
	if *w.lobby && !*w.host {
		return app.Options{}, fmt.Errorf("--lobby needs --host")
	}
	if *w.host {
		if err := checkRoomFlag(*w.room); err != nil {
			return app.Options{}, err
		}
	}
	turn, err := w.turn.config()
	if err != nil {
		return app.Options{}, err
	}

	launch := app.Launch{Name: *w.name, DefaultName: systemUserName(), Password: *w.password, Lobby: *w.lobby, Stats: *w.stats}
	switch {
	case *w.host:
		launch.Action, launch.Room = "host", *w.room
	case *w.join != "":
		launch.Action, launch.URL = "join", *w.join
	}
	opts := app.Options{
		Launch:         launch,
		ReportPath:     *w.report,
		Source:         *w.source,
		RTC:            rtcconf.Options{Interfaces: splitList(*w.iceIfaces)},
		HostAddr:       *w.hostAddr,
		AdvertiseHost:  *w.advertise,
		Insecure:       *w.insecure,
		Mic:            *w.mic,
		Speaker:        *w.speaker,
		Camera:         *w.camera,
		ShareScreen:    *w.share,
		MaxBitrate:     *w.maxKbps * 1000,
		RoomMaxBitrate: *w.roomKbps * 1000,
		TURN:           turn,
		// Remembered device choices live next to the certificate; without
		// a config directory nothing is remembered.
		ConfigDir: windowConfigDir(),
		// The same persistent self-signed certificate `parley serve` uses,
		// so invite links keep their fingerprint across restarts.
		Certificate: func() (tls.Certificate, error) { return loadServeCert("", "") },
	}
	// A meeting the window hosts is listed on the LAN as `parley serve`
	// lists its room, on every usable interface, unless only this machine
	// can reach it.
	if !loopbackAddr(*w.hostAddr) {
		opts.Advertise = func(ctx context.Context, room discovery.Room, state func() server.RoomState) (app.RoomAdvert, error) {
			return advertiseRoom(ctx, room, state, nil, slog.Default())
		}
	}
	return opts, nil
}

func windowConfigDir() string {
	dir, err := configDir()
	if err != nil {
		return ""
	}
	return dir
}

// systemUserName is the name the window offers when none is given: the
// account's full name (its GECOS field up to the first comma), else its
// login, else "" (the frontend then has its own default).
func systemUserName() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	if full, _, _ := strings.Cut(u.Name, ","); strings.TrimSpace(full) != "" {
		return strings.TrimSpace(full)
	}
	return u.Username
}
