package server_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

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
	for i, name := range names {
		clients[i] = meetingtest.Join(t, invite, name, client.Options{})
		meetingtest.Publish(t, clients[i], media)
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
	for i, c := range clients {
		before[i] = meetingtest.Received(c)
	}
	time.Sleep(window)
	wantVideo := window.Seconds() * 30
	wantAudio := window.Seconds() * 50
	for i, c := range clients {
		after := meetingtest.Received(c)
		for _, o := range clients {
			if o == c {
				continue
			}
			for kind, want := range map[signal.Kind]float64{signal.KindVideo: wantVideo, signal.KindAudio: wantAudio} {
				got := float64(after[o.ID()][kind] - before[i][o.ID()][kind])
				if got < want*0.9 || got > want*1.1 {
					t.Errorf("%s got %.0f %s frames from %s in %v, want %.0f ± 10%%", names[i], got, kind, o.ID(), window, want)
				}
			}
		}
	}
}
