package server_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"parley/backend/bot"
	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

var media *meetingtest.Media

func TestMain(m *testing.M) {
	var err error
	if media, err = meetingtest.EncodeMedia(); err != nil {
		fmt.Fprintln(os.Stderr, "encode test media:", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m)
}

func TestFourParticipantsReceiveEachOther(t *testing.T) {
	srv := meetingtest.StartServer(t, server.Config{})
	invite := srv.InviteURL("test")
	names := []string{"Ada", "Bob", "Cy", "Di"}
	clients := make([]*client.Client, len(names))
	sent := map[string]*bot.Publisher{}
	for i, name := range names {
		clients[i] = meetingtest.Join(t, invite, name, client.Options{})
		sent[clients[i].ID()] = meetingtest.Publish(t, clients[i], media)
	}
	sentFrames := func() map[string]map[signal.Kind]int64 {
		out := map[string]map[signal.Kind]int64{}
		for id, p := range sent {
			out[id] = map[signal.Kind]int64{signal.KindVideo: p.Video.FramesSent(), signal.KindAudio: p.Audio.FramesSent()}
		}
		return out
	}
	// Everyone gets the other three's audio and video.
	ok := meetingtest.WaitFor(20*time.Second, func() bool {
		for _, c := range clients {
			got := meetingtest.Received(c)
			for _, o := range clients {
				if o == c {
					continue
				}
				if got[o.ID()][signal.KindVideo] == 0 || got[o.ID()][signal.KindAudio] == 0 {
					return false
				}
			}
		}
		return true
	})
	if !ok {
		for _, c := range clients {
			t.Logf("%s received %v", c.ID(), meetingtest.Received(c))
		}
		t.Fatal("not every participant receives every other one within 20 s")
	}

	// Over 5 s, frame counts match what was sent within 10 %.
	const window = 5 * time.Second
	before := make([]map[string]map[signal.Kind]uint64, len(clients))
	sentBefore := sentFrames()
	for i, c := range clients {
		before[i] = meetingtest.Received(c)
	}
	time.Sleep(window)
	sentAfter := sentFrames()
	for i, c := range clients {
		after := meetingtest.Received(c)
		for _, o := range clients {
			if o == c {
				continue
			}
			for _, kind := range []signal.Kind{signal.KindVideo, signal.KindAudio} {
				want := float64(sentAfter[o.ID()][kind] - sentBefore[o.ID()][kind])
				got := float64(after[o.ID()][kind] - before[i][o.ID()][kind])
				if got < want*0.9 || got > want*1.1 {
					t.Errorf("%s got %.0f %s frames from %s in %v; %.0f were sent (±10%%)", names[i], got, kind, o.ID(), window, want)
				}
			}
			// Publishers keep the wall clock: 30 video and 50 audio frames a second.
			if v := sentAfter[o.ID()][signal.KindVideo] - sentBefore[o.ID()][signal.KindVideo]; v < 120 {
				t.Errorf("%s sent only %d video frames in %v", o.ID(), v, window)
			}
		}
	}
}
