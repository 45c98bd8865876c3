package vp8

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"parley/backend/rtcconf"
	"parley/testing/pctest"
)

// Frames written to a Track cross a real PeerConnection pair over loopback
// and come out of an Assembler whole, each with the N bit it was sent with.
func TestTrackMarksNonReferenceFrames(t *testing.T) {
	pcs := make([]*webrtc.PeerConnection, 2)
	for i := range pcs {
		e, err := rtcconf.NewEngine(rtcconf.Options{Role: rtcconf.RoleClient, LoopbackOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if pcs[i], err = e.NewPeerConnection(webrtc.Configuration{}); err != nil {
			t.Fatal(err)
		}
		pc := pcs[i]
		t.Cleanup(func() { _ = pc.Close() })
	}
	sender, receiver := pcs[0], pcs[1]
	track, err := NewTrack(rtcconf.VP8Codec().RTPCodecCapability, "camera", "ada")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	frames := make(chan Frame, 64)
	receiver.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		a := NewAssembler(nil)
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			for _, f := range a.Push(p, time.Now()) {
				select {
				case frames <- f:
				default:
				}
			}
		}
	})
	pctest.Negotiate(t, sender, receiver)

	// A keyframe every 10 frames (the first ones go out before the
	// connection is up), every other frame non-reference; frames are
	// big enough to span packets.
	rng := rand.New(rand.NewPCG(5, 6))
	stop, stopped := make(chan struct{}), make(chan struct{})
	defer func() {
		close(stop)
		<-stopped
	}()
	go func() {
		defer close(stopped)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			f := fakeFrame(rng, i%10 == 0, 2500)
			f[1] = byte(i) // the receiver tells frames apart by this byte
			if err := track.WriteFrame(f, 10*time.Millisecond, i%2 == 1); err != nil {
				return
			}
		}
	}()
	deadline := time.After(10 * time.Second)
	for got := 0; got < 20; {
		select {
		case f := <-frames:
			i := int(f.Data[1])
			if want := i%2 == 1; f.NonReference != want {
				t.Fatalf("frame %d: NonReference %v, want %v", i, f.NonReference, want)
			}
			if len(f.Data) != 2500 {
				t.Fatalf("frame %d: %d bytes, want 2500", i, len(f.Data))
			}
			got++
		case <-deadline:
			t.Fatal("fewer than 20 frames arrived in 10 s")
		}
	}
}
