package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"parley/backend/bot"
	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/signal"
)

// Exit codes of `parley join`, one per way joining can fail.
const (
	exitBadURL       = 3
	exitUnreachable  = 4
	exitBadPassword  = 5
	exitRoomFull     = 6
	exitVersion      = 7
	exitNotFound     = 8
	exitDenied       = 9
	exitIdentity     = 10
	exitConnLost     = 11
	exitRateLimited  = 12
	exitBadToken     = 13
	joinExitCodeHelp = `
Exit status:
  0  the bot left after --duration, on Ctrl-C, or the host ended the meeting
  1  any other error
  2  bad command line
  3  bad invite link
  4  host unreachable
  5  wrong password
  6  room full
  7  protocol version mismatch (update Parley)
  8  no such room on that host
  9  denied (the room is locked, or the host did not let you in)
  10 the host's identity changed (certificate does not match the link)
  11 connection to the host lost
  12 rate-limited by the host (or too many wrong passwords: wait 30 s)
  13 the invite token is invalid, expired or already used
`
)

func (c *CLI) join(ctx context.Context, args []string) int {
	fset := c.newFlagSet("parley join", "parley join URL|NAME [--name NAME] [--password P] [--token T] [--source test|none] [--duration D] [--json] [--insecure]")
	name := fset.String("name", "Parley bot", "display `NAME` in the meeting")
	password := fset.String("password", "", "the room's `PASSWORD`, if it has one")
	token := fset.String("token", "", "invite `TOKEN` (default: the link's t=)")
	source := fset.String("source", "test", "what to publish: `test` (moving VP8 pattern and a 440 Hz Opus tone) or none")
	duration := fset.Duration("duration", 0, "leave after `D` (e.g. 10s); 0 stays until Ctrl-C or the meeting ends")
	jsonOut := fset.Bool("json", false, "print events as JSON lines, and {\"event\":\"stats\",…} at exit")
	relayOnly := fset.Bool("relay-only", false, "send all media through a TURN relay (when nothing else gets through)")
	var iceServers iceServerList
	fset.Var(&iceServers, "ice-server", "also use this STUN/TURN `URL`, e.g. turn:USER:PASS@turn.example.com:3478 (repeatable)")
	iceIfaces := fset.String("ice-iface", "", "use only these network `INTERFACES` (comma-separated) for media; default all")
	var lanIfaces ifaceList
	fset.Var(&lanIfaces, "iface", "look for a meeting given by name on network interface `NAME` only (repeatable)")
	findTimeout := fset.Duration("find-timeout", 3*time.Second, "how long to look for a meeting given by name")
	insecure := fset.Bool("insecure", false, "do not verify the host's certificate (when the link has no fingerprint)")
	maxKbps := fset.Int("max-bitrate", 0, "receive at most `KBPS` kbit/s of video (a bad link; 0: no cap)")
	usage := fset.Usage
	fset.Usage = func() {
		usage()
		fmt.Fprint(fset.Output(), joinExitCodeHelp)
	}
	// The URL comes first; flags may follow it.
	var invite string
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		invite, args = args[0], args[1:]
	}
	if code, done := c.parse(fset, args); done {
		return code
	}
	if invite == "" {
		fmt.Fprintln(c.Stderr, "parley join: give the invite link, e.g. parley join https://host:8443/r/meeting#fp=sha256:…")
		return exitUsage
	}
	if !strings.Contains(invite, "://") {
		// Not a link: a meeting's name as listed on the local network.
		found, err := findRoom(ctx, invite, lanIfaces, *findTimeout, c.logger(*jsonOut))
		if err != nil {
			fmt.Fprintln(c.Stderr, "parley join:", err)
			return exitNotFound
		}
		invite = found
	}
	if *source != "test" && *source != "none" {
		fmt.Fprintf(c.Stderr, "parley join: --source is test or none, not %q\n", *source)
		return exitUsage
	}
	if *duration < 0 {
		fmt.Fprintln(c.Stderr, "parley join: --duration must not be negative")
		return exitUsage
	}
	if *maxKbps < 0 {
		fmt.Fprintln(c.Stderr, "parley join: --max-bitrate must not be negative")
		return exitUsage
	}

	var media *bot.Media
	if *source == "test" {
		var err error
		if media, err = bot.EncodeMedia(); err != nil {
			fmt.Fprintln(c.Stderr, "parley join: test media:", err)
			return exitError
		}
	}
	out := &output{w: c.Stdout, json: *jsonOut}
	// Reaching the host is bounded; waiting in its lobby only by Ctrl-C
	// (and the host's own lobby timeout).
	cl, err := client.Dial(ctx, invite, client.Options{
		Name: *name, Password: *password, Token: *token, Insecure: *insecure, Log: c.logger(*jsonOut),
		RTC:             rtcconf.Options{IncludeLoopback: true, Interfaces: splitList(*iceIfaces)},
		ConnectTimeout:  15 * time.Second,
		RelayOnly:       *relayOnly,
		ExtraICEServers: iceServers.pion(),
		OnWaiting:       func() { out.event("waiting", nil, "waiting for the host…") },
		// The test media is encoded once, so only what we receive can
		// follow the cap.
		MaxReceiveBitrate: *maxKbps * 1000,
	})
	if err != nil {
		// Ended while we waited in the lobby: said as in the meeting.
		var ended *client.EndedError
		if errors.As(err, &ended) {
			reportEnded(out, ended.Reason)
			return exitOK
		}
		fmt.Fprintln(c.Stderr, "parley join:", err)
		return joinExitCode(err)
	}
	defer cl.Close()
	names := newNameBook(cl.Welcome())
	out.event("joined", map[string]any{"room": cl.Welcome().Room.Name, "participant": cl.ID(), "participants": len(cl.Welcome().Participants)},
		fmt.Sprintf("Joined %q as %s (%d in the room)", cl.Welcome().Room.Name, *name, len(cl.Welcome().Participants)))

	if media != nil {
		pub, err := bot.Publish(ctx, cl, media)
		if err != nil {
			fmt.Fprintln(c.Stderr, "parley join: publish:", err)
			return joinExitCode(err)
		}
		defer pub.Stop()
	}

	var timeout <-chan time.Time
	if *duration > 0 {
		timer := time.NewTimer(*duration)
		defer timer.Stop()
		timeout = timer.C
	}
	code := exitOK
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-timeout:
			break loop
		case <-cl.Done():
			// The events that ended the session (ended, a removal's
			// error) may still be queued: report them first.
			drainEvents(out, names, cl.Events())
			var ended *client.EndedError
			if !errors.As(cl.Err(), &ended) {
				fmt.Fprintln(c.Stderr, "parley join:", cl.Err())
				code = joinExitCode(cl.Err())
			}
			break loop
		case ev, ok := <-cl.Events():
			if !ok {
				break loop
			}
			names.note(ev.Message)
			reportEvent(out, names, ev)
		}
	}
	printStats(out, names, cl.ReceivedStats(), cl.SelectedCandidates())
	if code == exitOK {
		_ = cl.Leave()
	}
	return code
}

// drainEvents reports what is left in a closed session's event queue,
// for at most a second (the queue closes once the client let go).
func drainEvents(out *output, names nameBook, events <-chan client.Event) {
	deadline := time.After(time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			names.note(ev.Message)
			reportEvent(out, names, ev)
		case <-deadline:
			return
		}
	}
}

func joinExitCode(err error) int {
	var unreachable *client.UnreachableError
	switch {
	case errors.Is(err, client.ErrBadURL):
		return exitBadURL
	case errors.Is(err, client.ErrIdentityChanged):
		return exitIdentity
	case errors.As(err, &unreachable):
		return exitUnreachable
	case errors.Is(err, client.ErrConnectionLost):
		return exitConnLost
	}
	switch signal.CodeOf(err) {
	case signal.CodeBadPassword:
		return exitBadPassword
	case signal.CodeRoomFull:
		return exitRoomFull
	case signal.CodeVersion:
		return exitVersion
	case signal.CodeNotFound:
		return exitNotFound
	case signal.CodeDenied:
		return exitDenied
	case signal.CodeRateLimited:
		return exitRateLimited
	case signal.CodeBadToken, signal.CodeTokenExpired, signal.CodeTokenUsed:
		return exitBadToken
	}
	return exitError
}

// nameBook maps participant ids to display names as people come and go.
type nameBook map[string]string

func newNameBook(w *signal.Welcome) nameBook {
	b := nameBook{}
	for _, p := range w.Participants {
		b[p.ID] = p.Name
	}
	return b
}

func (b nameBook) note(msg signal.Message) {
	if m, ok := msg.(*signal.ParticipantJoined); ok {
		b[m.Participant.ID] = m.Participant.Name
	}
}

func (b nameBook) name(id string) string {
	if n, ok := b[id]; ok {
		return n
	}
	return id
}

func reportEvent(out *output, names nameBook, ev client.Event) {
	if ev.Track != nil {
		who := names.name(ev.Track.ParticipantID)
		out.event("track", map[string]any{"participant": who, "kind": ev.Track.Kind, "track": ev.Track.TrackID},
			fmt.Sprintf("receiving %s's %s", who, ev.Track.Kind))
		return
	}
	switch ev.State {
	case signal.StateReconnecting:
		out.event("reconnecting", nil, "connection to the host lost; reconnecting…")
	case signal.StateConnected:
		out.event("reconnected", nil, "reconnected")
	}
	switch m := ev.Message.(type) {
	case *signal.ParticipantState:
		who := names.name(m.ParticipantID)
		out.event("participant-state", map[string]any{"participant": m.ParticipantID, "name": who, "state": m.State},
			fmt.Sprintf("%s: %s", who, m.State))
	case *signal.ParticipantJoined:
		out.event("participant-joined", map[string]any{"participant": m.Participant.ID, "name": m.Participant.Name},
			m.Participant.Name+" joined")
	case *signal.ParticipantLeft:
		who := names.name(m.ParticipantID)
		out.event("participant-left", map[string]any{"participant": m.ParticipantID, "name": who, "reason": m.Reason},
			fmt.Sprintf("%s left (%s)", who, m.Reason))
	case *signal.Chat:
		out.event("chat", map[string]any{"name": m.Name, "text": m.Text, "seq": m.Seq}, m.Name+": "+m.Text)
	case *signal.KnockMsg:
		out.event("knock", map[string]any{"knock": m.Knock.ID, "name": m.Knock.Name}, m.Knock.Name+" is waiting in the lobby")
	case *signal.Mute:
		who := names.name(m.ParticipantID)
		if m.By != "" {
			by := names.name(m.By)
			out.event("mute", map[string]any{"name": who, "track": m.TrackID, "muted": m.Muted, "by": by},
				fmt.Sprintf("%s muted %s's %s", by, who, m.TrackID))
			return
		}
		out.event("mute", map[string]any{"name": who, "track": m.TrackID, "muted": m.Muted},
			fmt.Sprintf("%s muted %s: %v", who, m.TrackID, m.Muted))
	case *signal.Ended:
		reportEnded(out, m.Reason)
	case *signal.Error:
		out.event("error", map[string]any{"code": m.Code, "message": m.Message}, "error from host: "+m.Message)
	}
}

// printStats reports what was received and the path media took (our
// selected ICE candidate per PeerConnection: with --relay-only, proof that
// the relay works).
func printStats(out *output, names nameBook, stats []client.TrackStats, path map[signal.PC]client.Candidate) {
	sort.Slice(stats, func(i, j int) bool {
		if stats[i].ParticipantID != stats[j].ParticipantID {
			return names.name(stats[i].ParticipantID) < names.name(stats[j].ParticipantID)
		}
		return stats[i].Kind < stats[j].Kind
	})
	tracks := make([]map[string]any, 0, len(stats))
	text := "Received:"
	for _, st := range stats {
		who := names.name(st.ParticipantID)
		tracks = append(tracks, map[string]any{
			"participant": who, "kind": st.Kind, "frames": st.Frames,
			"packets": st.Packets, "bytes": st.Bytes, "lost": st.Lost,
		})
		text += fmt.Sprintf("\n  %-20s %-6s %6d frames %7d packets %6d lost", who, st.Kind, st.Frames, st.Packets, st.Lost)
	}
	if len(stats) == 0 {
		text = "Received nothing."
	}
	text += "\nMedia path:"
	for _, pc := range []signal.PC{signal.PCPublish, signal.PCSubscribe} {
		c, ok := path[pc]
		switch {
		case !ok:
			text += fmt.Sprintf(" %s none;", pc)
		case c.RelayProtocol != "":
			text += fmt.Sprintf(" %s %s %s over %s;", pc, c.Type, c.Family, c.RelayProtocol)
		default:
			text += fmt.Sprintf(" %s %s %s;", pc, c.Type, c.Family)
		}
	}
	out.event("stats", map[string]any{"tracks": tracks, "path": path}, strings.TrimSuffix(text, ";"))
}

func reportEnded(out *output, reason signal.EndReason) {
	out.event("ended", map[string]any{"reason": reason}, "The meeting ended: "+string(reason))
}
