package sfu

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"parley/backend/rtcconf"
	"parley/testing/pctest"
)

// countingWriter is a webrtc.TrackLocalWriter that counts and discards.
type countingWriter struct {
	packets, bytes atomic.Uint64
	lastSeq        atomic.Uint32
}

func (w *countingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.packets.Add(1)
	n := h.MarshalSize() + len(payload)
	w.bytes.Add(uint64(n))
	w.lastSeq.Store(uint32(h.SequenceNumber))

	return n, nil
}

func (w *countingWriter) Write(b []byte) (int, error) { return len(b), nil }

// fakeContext is the TrackLocalContext pion would pass to Bind.
type fakeContext struct {
	ssrc   webrtc.SSRC
	codecs []webrtc.RTPCodecParameters
	exts   []webrtc.RTPHeaderExtensionParameter
	w      webrtc.TrackLocalWriter
}

func (c *fakeContext) CodecParameters() []webrtc.RTPCodecParameters           { return c.codecs }
func (c *fakeContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return c.exts }
func (c *fakeContext) SSRC() webrtc.SSRC                                      { return c.ssrc }
func (c *fakeContext) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (c *fakeContext) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (c *fakeContext) WriteStream() webrtc.TrackLocalWriter                   { return c.w }
func (c *fakeContext) ID() string                                             { return "ctx" }
func (c *fakeContext) RTCPReader() interceptor.RTCPReader                     { return nil }

// pureReceiver is a Receiver without a PeerConnection, with n bound
// DownTracks writing to counting writers.
func pureReceiver(tb testing.TB, kind TrackKind, n int) (*Receiver, []*DownTrack, []*countingWriter) {
	tb.Helper()
	rt := NewRouter(Config{})
	codec := rtcconf.VP8Codec()
	if kind == KindAudio {
		codec = rtcconf.OpusCodec()
	}
	r := newReceiver(rt, "alice", "cam", kind, codec, 1234, 1)
	var dts []*DownTrack
	var ws []*countingWriter
	for i := range n {
		d := newDownTrack(r, nil, fmt.Sprint("sub", i))
		w := &countingWriter{}
		_, err := d.Bind(&fakeContext{
			ssrc:   webrtc.SSRC(5000 + i),
			codecs: []webrtc.RTPCodecParameters{codec},
			exts:   []webrtc.RTPHeaderExtensionParameter{{URI: rtcconf.AudioLevelURI, ID: 3}},
			w:      w,
		})
		if err != nil {
			tb.Fatal(err)
		}
		if err := r.addDownTrack(d); err != nil {
			tb.Fatal(err)
		}
		dts = append(dts, d)
		ws = append(ws, w)
	}

	return r, dts, ws
}

// vp8Packet builds a VP8 RTP packet of size bytes into buf.
func vp8Packet(buf []byte, seq uint16, ts uint32, key, marker bool, size int) []byte {
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 1234, Marker: marker}
	n, _ := h.MarshalTo(buf)
	pl := buf[n:size]
	for i := range pl {
		pl[i] = byte(i)
	}
	pl[0] = 0x10 // S=1, PID=0
	pl[1] = 0x01 // inter frame
	if key {
		pl[1] = 0x00
	}

	return buf[:size]
}

// BenchmarkForward pushes packets through the Receiver→DownTrack path
// (parse, cache, rewrite, write) to fake writers: 0 allocs/op.
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 3, 10} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			r, _, ws := pureReceiver(b, KindVideo, n)
			buf := make([]byte, maxPacketSize)
			pkt := vp8Packet(buf, 100, 9000, true, true, 1200)
			r.handlePacket(pkt, monoNow()) // key frame starts the DownTracks
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				seq := uint16(101 + i)
				binary.BigEndian.PutUint16(pkt[2:], seq)
				binary.BigEndian.PutUint32(pkt[4:], 9000+uint32(i/4)*3000)
				pkt[12+1] = 0x01
				r.handlePacket(pkt, monoNow())
			}
			b.StopTimer()
			if got := ws[0].packets.Load(); got != uint64(b.N)+1 {
				b.Fatalf("forwarded %d of %d", got, b.N+1)
			}
		})
	}
}

// TestForwardAllocs runs the forwarding path under testing.AllocsPerRun, so
// that plain `go test` catches an allocation sneaking in.
func TestForwardAllocs(t *testing.T) {
	r, _, ws := pureReceiver(t, KindAudio, 3)
	buf := make([]byte, maxPacketSize)
	h := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 1, Timestamp: 960, SSRC: 1234}
	_ = h.SetExtension(1, []byte{0x20})
	n, _ := h.MarshalTo(buf)
	pkt := buf[:n+80]
	seq := uint16(1)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		binary.BigEndian.PutUint16(pkt[2:], seq)
		r.handlePacket(pkt, monoNow())
	})
	if allocs != 0 {
		t.Errorf("%v allocations per forwarded packet, want 0", allocs)
	}
	if ws[2].packets.Load() < 1000 {
		t.Errorf("forwarded %d", ws[2].packets.Load())
	}
}

// BenchmarkLoopbackFanout sends VP8 packets from a publisher PeerConnection
// through the SFU to three subscriber PeerConnections over loopback (SRTP,
// interceptors and all); ns/op is per published packet.
func BenchmarkLoopbackFanout(b *testing.B) {
	h := newHarness(b, false)
	pub, video, _ := h.publish("alice")
	pub.close() // stop the synthetic source; packets are written below
	subs := []*peer{h.subscriber("bob"), h.subscriber("carol"), h.subscriber("dave")}
	for _, s := range subs {
		h.subscribe(s, video)
		pctest.Negotiate(b, s.sfuPC, s.pc)
	}
	payload := make([]byte, 1100)
	payload[0] = 0x10
	seq := pub.vseq + 1 // continue the synthetic source's numbering
	write := func(key bool) {
		payload[1] = 0x01
		if key {
			payload[1] = 0x00
		}
		_ = pub.video.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 1500, Marker: true},
			Payload: payload,
		})
		seq++
	}
	received := func() int {
		n := -1
		for _, s := range subs {
			if r := s.received("cam"); n < 0 || r < n {
				n = r
			}
		}

		return n
	}
	waitFor(b, "subscribers started", 10*time.Second, func() bool {
		write(true)
		time.Sleep(20 * time.Millisecond)

		return received() > 0
	})
	base := received()
	b.SetBytes(int64(len(payload)) * int64(len(subs)))
	b.ResetTimer()
	for i := range b.N {
		write(false)
		if i%32 == 31 { // keep socket buffers (208 KB) from overflowing
			target := base + i - 64
			for deadline := time.Now().Add(10 * time.Second); received() < target; {
				if time.Now().After(deadline) {
					for _, s := range subs {
						b.Logf("%s: %d", s.id, s.received("cam"))
					}
					b.Logf("receiver %+v", video.Stats())
					for _, d := range video.DownTracks() {
						b.Logf("%s %+v", d.SubscriberID(), d.Stats())
					}
					b.Fatalf("subscribers stuck at %d of %d", received(), target)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	waitFor(b, "all packets", 10*time.Second, func() bool { return received() >= base+b.N-b.N/100 })
	b.StopTimer()
}
