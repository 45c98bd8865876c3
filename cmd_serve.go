package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"parley/backend/rtcconf"
	"parley/backend/server"
	"parley/discovery"
)

func (c *CLI) serve(ctx context.Context, args []string) int {
	fset := c.newFlagSet("parley serve",
		"parley serve [--addr HOST:PORT] [--room NAME] [--password P] [--lobby] [--token-ttl D [--one-time]] [--invite-only] [--max N] [--tls on|off] [--cert FILE --key FILE] [--json]")
	addr := fset.String("addr", "127.0.0.1:0", "listen on `HOST:PORT` (port 0 picks a free port; use :8443 to accept others on the network)")
	roomName := fset.String("room", "meeting", "the room's `NAME`, part of its invite link")
	password := fset.String("password", "", "require this `PASSWORD` to join")
	maxPeople := fset.Int("max", 100, "at most `N` participants at once")
	tlsMode := fset.String("tls", "on", "HTTPS `on`, or off (plain HTTP, loopback addresses only)")
	certFile := fset.String("cert", "", "certificate `FILE` (PEM) instead of the self-signed one")
	keyFile := fset.String("key", "", "private key `FILE` (PEM) for --cert")
	advertise := fset.String("advertise-host", "", "`HOST` name or IP to put in invite links (default: this machine's LAN address)")
	iceIfaces := fset.String("ice-iface", "", "use only these network `INTERFACES` (comma-separated) for media; default all")
	turnOpts := addTURNFlags(fset, "")
	var iceServers iceServerList
	fset.Var(&iceServers, "ice-server", "external STUN/TURN `URL` for everyone, e.g. turn:USER:PASS@turn.example.com:3478?transport=udp (repeatable)")
	relay := fset.Bool("relay", false, "forward with a bare pion relay instead of the SFU (the benchmark's floor; not for meetings)")
	noDiscovery := fset.Bool("no-discovery", false, "do not advertise the room on the local network (mDNS)")
	var lanIfaces ifaceList
	fset.Var(&lanIfaces, "iface", "advertise only on network interface `NAME` (repeatable or comma-separated; default: all that are up and multicast-capable)")
	lobby := fset.Bool("lobby", false, "joiners without a token wait until a host admits them; prints a host link to admit them with")
	tokenTTL := fset.Duration("token-ttl", 0, "put an invite token valid for `D` (e.g. 2h) in the printed link: it skips the password and the lobby")
	oneTime := fset.Bool("one-time", false, "the printed link's token works for one join only (with --token-ttl)")
	inviteOnly := fset.Bool("invite-only", false, "refuse joiners without a valid invite token (implies a token in the printed link)")
	maxTracks := fset.Int("max-tracks", 0, "at most `N` tracks per participant (default 4)")
	roomKbps := fset.Int("room-max-bitrate", 0, "each participant's video or screen track sends at most `KBPS` kbit/s (0: no room cap)")
	maxChat := fset.Int("max-chat", 0, "at most `N` characters per chat message (default and most 4000)")
	jsonOut := fset.Bool("json", false, "print JSON lines: {\"event\":\"ready\",\"url\":…} first, then joins, leaves, locks and closes")
	if code, done := c.parse(fset, args); done {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(c.Stderr, "parley serve: "+format+"\n", a...)
		return exitUsage
	}
	if *maxPeople < 1 {
		return usageErr("--max must be at least 1")
	}
	turnCfg, err := turnOpts.config()
	if err != nil {
		return usageErr("%v", err)
	}
	if *tokenTTL < 0 || *maxTracks < 0 || *maxChat < 0 {
		return usageErr("--token-ttl, --max-tracks and --max-chat must not be negative")
	}
	if *oneTime && *tokenTTL == 0 {
		return usageErr("--one-time needs --token-ttl")
	}
	if *inviteOnly && *tokenTTL == 0 {
		*tokenTTL = server.DefaultTokenTTL
	}
	if (*certFile == "") != (*keyFile == "") {
		return usageErr("--cert and --key go together")
	}
	var cert *tls.Certificate
	caSigned := false
	switch *tlsMode {
	case "on":
		loaded, err := loadServeCert(*certFile, *keyFile)
		if err != nil {
			fmt.Fprintln(c.Stderr, "parley serve:", err)
			return exitError
		}
		cert = &loaded
		caSigned = *certFile != "" && server.ChainsToCA(loaded, nil)
	case "off":
		if !loopbackAddr(*addr) {
			return usageErr("--tls off is only for loopback addresses (127.0.0.1, ::1): browsers refuse cameras on plain HTTP elsewhere")
		}
	default:
		return usageErr("--tls is on or off, not %q", *tlsMode)
	}

	if *roomKbps < 0 {
		return usageErr("--room-max-bitrate must not be negative")
	}
	if err := checkRoomFlag(*roomName); err != nil {
		return usageErr("%v", err)
	}
	// Invite links must outlive a restart, so their secret is kept.
	dir, err := configDir()
	if err != nil {
		fmt.Fprintln(c.Stderr, "parley serve:", err)
		return exitError
	}
	tokenSecret, err := server.LoadOrCreateTokenSecret(dir)
	if err != nil {
		fmt.Fprintln(c.Stderr, "parley serve:", err)
		return exitError
	}

	out := &output{w: c.Stdout, json: *jsonOut}
	var lan atomic.Pointer[lanAdvert]
	srv, err := server.New(server.Config{
		Addr:          *addr,
		Assets:        c.Assets,
		Log:           c.logger(*jsonOut),
		Certificate:   cert,
		CASigned:      caSigned,
		AdvertiseHost: *advertise,
		BareRelay:     *relay,
		Rooms: []server.RoomConfig{{Name: *roomName, Password: *password, Limit: *maxPeople,
			Lobby: *lobby, RequireToken: *inviteOnly, MaxBitrate: *roomKbps * 1000,
			// These rooms print a host link: its holder is their host.
			ExplicitHosts: *lobby || *inviteOnly}},
		MaxTracks:    *maxTracks,
		ICEServers:   iceServers,
		TURN:         turnCfg,
		MaxChatRunes: *maxChat,
		TokenSecret:  tokenSecret,
		// Loopback candidates let a participant on this machine (the
		// host's own app, a local bot) connect with no network at all.
		RTC: rtcconf.Options{IncludeLoopback: true, Interfaces: splitList(*iceIfaces)},
		OnEvent: func(ev server.Event) {
			lan.Load().Refresh()
			fields := map[string]any{"room": ev.Room, "participant": ev.ParticipantID, "name": ev.Name, "participants": ev.Participants}
			var text string
			switch ev.Type {
			case "leave":
				fields["reason"] = ev.Reason
				text = fmt.Sprintf("%s left %q: %s (%d in the room)", ev.Name, ev.Room, ev.Reason, ev.Participants)
			case "lock":
				fields["locked"] = ev.Locked
				text = fmt.Sprintf("%s unlocked %q", ev.Name, ev.Room)
				if ev.Locked {
					text = fmt.Sprintf("%s locked %q: nobody else can join", ev.Name, ev.Room)
				}
			case "close":
				fields = map[string]any{"room": ev.Room}
				text = fmt.Sprintf("%q was empty for its grace period: the next join starts a new meeting", ev.Room)
			default:
				text = fmt.Sprintf("%s joined %q (%d in the room)", ev.Name, ev.Room, ev.Participants)
			}
			out.event(ev.Type, fields, text)
		},
	})
	if err != nil {
		fmt.Fprintln(c.Stderr, "parley serve:", err)
		return exitError
	}
	if err := srv.Listen(); err != nil {
		fmt.Fprintln(c.Stderr, "parley serve:", err)
		return exitError
	}
	invite := srv.InviteURL(*roomName)
	if *tokenTTL > 0 {
		if invite, err = srv.TokenInviteURL(*roomName, server.TokenOptions{TTL: *tokenTTL, OneTime: *oneTime}); err != nil {
			fmt.Fprintln(c.Stderr, "parley serve:", err)
			return exitError
		}
	}
	ready := map[string]any{"url": invite, "room": *roomName, "fingerprint": srv.Fingerprint()}
	text := fmt.Sprintf("Parley is hosting %q. Invite link:\n  %s", *roomName, invite)
	if *lobby || *inviteOnly {
		// Somebody must be able to admit knockers and invite others: the
		// operator, through a link that makes them host.
		hostLink, err := srv.TokenInviteURL(*roomName, server.TokenOptions{TTL: max(*tokenTTL, server.DefaultTokenTTL), Host: true})
		if err != nil {
			fmt.Fprintln(c.Stderr, "parley serve:", err)
			return exitError
		}
		ready["hostUrl"] = hostLink
		text += fmt.Sprintf("\nHost link (keep it to yourself: it makes you host):\n  %s", hostLink)
	}
	out.event("ready", ready, text)
	// Rooms on loopback, or without a certificate to pin, are of no use to
	// others on the network: only reachable rooms are advertised.
	if !*noDiscovery && cert != nil && !loopbackAddr(*addr) {
		adv, err := advertiseRoom(ctx, discovery.Room{
			Name: *roomName, Password: *password != "", Lobby: *lobby, Port: srv.Port(),
			Path: server.RoomPath(*roomName), Fingerprint: srv.Fingerprint(),
		}, func() server.RoomState { return srv.RoomState(*roomName) }, lanIfaces, c.logger(*jsonOut))
		if err != nil {
			fmt.Fprintf(c.Stderr, "parley serve: not listed on the local network: %v\n", err)
		} else {
			lan.Store(adv)
			defer adv.Close()
			// A join or lock between the first announcement and Store
			// found no advertisement to refresh.
			adv.Refresh()
			out.event("advertised", map[string]any{"name": adv.adv.Instance()},
				fmt.Sprintf("Listed on the local network as %q.", adv.adv.Instance()))
		}
	}
	<-ctx.Done()
	out.event("stopping", nil, "Ending the meeting…")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintln(c.Stderr, "parley serve:", err)
		return exitError
	}
	return exitOK
}

// configDir is where the host keeps its certificate and invite-token
// secret.
func configDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory for the host certificate and invite secret: %w", err)
	}
	return filepath.Join(dir, "parley"), nil
}

// loadServeCert loads --cert/--key, or the host's persistent self-signed
// certificate from the user's config directory.
func loadServeCert(certFile, keyFile string) (tls.Certificate, error) {
	if certFile != "" {
		return server.LoadCert(certFile, keyFile)
	}
	dir, err := configDir()
	if err != nil {
		return tls.Certificate{}, err
	}
	return server.LoadOrCreateCert(dir)
}

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// splitList reads a comma-separated flag value.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
