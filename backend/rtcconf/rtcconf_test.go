package rtcconf

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"parley/testing/pctest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
	os.Exit(0)
}

func mustEngine(t *testing.T, opts Options) *Engine {
	t.Helper()
	e, err := NewEngine(opts)
	if err != nil {
		t.Fatalf("NewEngine(%+v): %v", opts, err)
	}

	return e
}

func mustPC(t *testing.T, e *Engine) *webrtc.PeerConnection {
	t.Helper()
	pc, err := e.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.GracefulClose() })

	return pc
}

func addVideoAudio(t *testing.T, pc *webrtc.PeerConnection) (*webrtc.TrackLocalStaticRTP, *webrtc.RTPSender) {
	t.Helper()
	video, err := webrtc.NewTrackLocalStaticRTP(VP8Codec().RTPCodecCapability, "video", "stream")
	if err != nil {
		t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(OpusCodec().RTPCodecCapability, "audio", "stream")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pc.AddTrack(video)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(audio); err != nil {
		t.Fatal(err)
	}

	return video, vs
}

// mediaSection returns the m= section of kind in sdp.
func mediaSection(t *testing.T, sdp, kind string) string {
	t.Helper()
	for _, sec := range strings.Split(sdp, "\nm=")[1:] {
		if strings.HasPrefix(sec, kind+" ") {
			return sec
		}
	}
	t.Fatalf("no m=%s section in\n%s", kind, sdp)

	return ""
}

func TestMediaEngineSDP(t *testing.T) {
	for _, role := range []Role{RoleSFU, RoleClient} {
		t.Run(role.String(), func(t *testing.T) {
			pc := mustPC(t, mustEngine(t, Options{Role: role, LoopbackOnly: true}))
			addVideoAudio(t, pc)
			offer, err := pc.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			video := mediaSection(t, offer.SDP, "video")
			audio := mediaSection(t, offer.SDP, "audio")

			if !strings.HasPrefix(video, "video 9 UDP/TLS/RTP/SAVPF 96\r") {
				t.Errorf("video payload types: %q", strings.SplitN(video, "\r", 2)[0])
			}
			if !strings.HasPrefix(audio, "audio 9 UDP/TLS/RTP/SAVPF 111\r") {
				t.Errorf("audio payload types: %q", strings.SplitN(audio, "\r", 2)[0])
			}
			for _, want := range []string{
				"a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 goog-remb", "a=rtcp-fb:96 transport-cc",
				"a=rtcp-fb:96 ccm fir", "a=rtcp-fb:96 nack\r", "a=rtcp-fb:96 nack pli",
				"transport-wide-cc", SDESMidURI,
			} {
				if !strings.Contains(video, want) {
					t.Errorf("video section lacks %q", want)
				}
			}
			for _, want := range []string{
				"a=rtpmap:111 opus/48000/2", "a=rtcp-fb:111 transport-cc", AudioLevelURI,
				"transport-wide-cc", SDESMidURI,
			} {
				if !strings.Contains(audio, want) {
					t.Errorf("audio section lacks %q", want)
				}
			}
			for _, banned := range []string{AudioLevelURI, "rtx", "rtp-stream-id", "H264", "VP9", "AV1"} {
				if strings.Contains(video, banned) {
					t.Errorf("video section has %q", banned)
				}
			}
			if strings.Contains(audio, "nack") {
				t.Error("audio section negotiates nack")
			}
		})
	}
}

var candidateRE = regexp.MustCompile(`a=candidate:\S+ \d+ (\S+) \d+ (\S+) \d+ typ (\S+)`)

func TestLoopbackCandidatesOnly(t *testing.T) {
	for _, role := range []Role{RoleSFU, RoleClient} {
		t.Run(role.String(), func(t *testing.T) {
			pc := mustPC(t, mustEngine(t, Options{Role: role, LoopbackOnly: true}))
			addVideoAudio(t, pc)
			sdp := pctest.Offer(t, pc).SDP
			cands := candidateRE.FindAllStringSubmatch(sdp, -1)
			if len(cands) == 0 {
				t.Fatalf("no candidates in\n%s", sdp)
			}
			for _, c := range cands {
				if c[1] != "udp" || c[2] != "127.0.0.1" || c[3] != "host" {
					t.Errorf("candidate %q: want udp 127.0.0.1 host", c[0])
				}
			}
			if strings.Contains(sdp, ".local") {
				t.Error("mDNS candidate in offer")
			}
		})
	}
}

func TestNAT1To1IPs(t *testing.T) {
	pc := mustPC(t, mustEngine(t, Options{LoopbackOnly: true, NAT1To1IPs: []string{"127.0.0.2"}}))
	addVideoAudio(t, pc)
	cands := candidateRE.FindAllStringSubmatch(pctest.Offer(t, pc).SDP, -1)
	if len(cands) == 0 {
		t.Fatal("no candidates")
	}
	for _, c := range cands {
		if c[2] != "127.0.0.2" {
			t.Errorf("candidate %q: want 127.0.0.2", c[0])
		}
	}
}

func TestBadOptions(t *testing.T) {
	for name, opts := range map[string]Options{
		"role":     {Role: Role(7)},
		"nat ip":   {NAT1To1IPs: []string{"example.com"}},
		"min>max":  {MinBitrate: 2_000_000, MaxBitrate: 1_000_000},
		"port min": {UDPPortMin: 5000, UDPPortMax: 4000},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: New(%+v) succeeded", name, opts)
		}
	}
}

func TestEstimators(t *testing.T) {
	e := mustEngine(t, Options{Role: RoleClient, LoopbackOnly: true, InitialBitrate: 700_000})
	pc, err := e.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	if bps, ok := e.TargetBitrate(pc); !ok || bps != 700_000 {
		t.Errorf("TargetBitrate = %d, %v; want 700000, true", bps, ok)
	}
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
	if e.Estimator(pc) != nil {
		t.Error("estimator outlives its PeerConnection")
	}

	off := mustEngine(t, Options{Role: RoleSFU, LoopbackOnly: true, DisableBandwidthEstimation: true})
	if e := off.Estimator(mustPC(t, off)); e != nil {
		t.Error("estimator with DisableBandwidthEstimation")
	}
}

// TestNACKResponderByRole checks the decision this package exists for: a
// Client answers NACKs itself (pion's responder), the SFU does not (its
// DownTracks answer from backend/sfu's cache).
func TestNACKResponderByRole(t *testing.T) {
	for _, tc := range []struct {
		role        Role
		wantResends bool
	}{{RoleClient, true}, {RoleSFU, false}} {
		t.Run(tc.role.String(), func(t *testing.T) {
			sender := mustPC(t, mustEngine(t, Options{Role: tc.role, LoopbackOnly: true}))
			// The receiver must accept a second copy of a packet.
			recvEngine := mustEngine(t, Options{
				Role: RoleClient, LoopbackOnly: true,
				Configure: func(se *webrtc.SettingEngine) { se.DisableSRTPReplayProtection(true) },
			})
			receiver := mustPC(t, recvEngine)
			track, rtpSender := addVideoAudio(t, sender)
			go func() { // RTCP must be read for interceptors to see it
				buf := make([]byte, 1500)
				for {
					if _, _, err := rtpSender.Read(buf); err != nil {
						return
					}
				}
			}()
			got := make(chan *rtp.Packet, 64)
			ssrc := make(chan webrtc.SSRC, 1)
			receiver.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				if tr.Kind() != webrtc.RTPCodecTypeVideo {
					return
				}
				ssrc <- tr.SSRC()
				for {
					p, _, err := tr.ReadRTP()
					if err != nil {
						return
					}
					got <- p
				}
			})
			pctest.Negotiate(t, sender, receiver)

			// Keep writing until the receiver sees packets (DTLS may still be
			// coming up), then stop and collect.
			var seq uint16 = 1000
			deadline := time.Now().Add(10 * time.Second)
			for len(got) == 0 && time.Now().Before(deadline) {
				for range 5 {
					seq++
					writeVP8(t, track, seq)
				}
				time.Sleep(20 * time.Millisecond)
			}
			var media webrtc.SSRC
			select {
			case media = <-ssrc:
			case <-time.After(time.Until(deadline)):
				t.Fatal("no video track")
			}
			time.Sleep(100 * time.Millisecond)
			for len(got) > 0 {
				<-got
			}

			err := receiver.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
				MediaSSRC: uint32(media),
				Nacks:     rtcp.NackPairsFromSequenceNumbers([]uint16{seq - 1}),
			}})
			if err != nil {
				t.Fatal(err)
			}
			resent := false
			timeout := time.After(time.Second)
		wait:
			for {
				select {
				case p := <-got:
					if p.SequenceNumber == seq-1 {
						resent = true

						break wait
					}
				case <-timeout:
					break wait
				}
			}
			if resent != tc.wantResends {
				t.Errorf("role %v resent a NACKed packet: %v, want %v", tc.role, resent, tc.wantResends)
			}
		})
	}
}

func writeVP8(t *testing.T, track *webrtc.TrackLocalStaticRTP, seq uint16) {
	t.Helper()
	err := track.WriteRTP(&rtp.Packet{
		Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
		Payload: []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 1, 2, 3, 4},
	})
	if err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		t.Fatal(err)
	}
}
