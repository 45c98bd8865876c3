package testsrc

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
)

func TestEncodeVideoMakesALoopableVP8Stream(t *testing.T) {
	loop, err := EncodeVideo(DefaultVideo())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(loop.Frames), DefaultVideo().FPS*DefaultVideo().Seconds; got != want {
		t.Fatalf("%d frames, want %d", got, want)
	}
	if !loop.Frames[0].Keyframe {
		t.Fatal("loop does not start with a keyframe")
	}
	for i, f := range loop.Frames[1:] {
		if f.Keyframe {
			t.Errorf("frame %d is a keyframe; the loop should have one", i+1)
		}
		// Like a desktop camera: every other frame can be skipped.
		if want := (i+1)%2 == 1; f.NonReference != want {
			t.Errorf("frame %d: NonReference %v, want %v", i+1, f.NonReference, want)
		}
	}
	if loop.Interval != time.Second/30 {
		t.Errorf("interval %v", loop.Interval)
	}
	// The benchmark's publishers are meant to look like ~1 Mbit/s cameras.
	if br := loop.Bitrate(); br < 500_000 || br > 2_000_000 {
		t.Errorf("bitrate %d bit/s, want 0.5–2 Mbit/s", br)
	}
	t.Logf("video loop: %d frames, keyframe %d bytes, %d kbit/s", len(loop.Frames), len(loop.Frames[0].Data), loop.Bitrate()/1000)
}

func TestEncodeAudio(t *testing.T) {
	loop, err := EncodeAudio(DefaultAudio())
	if err != nil {
		t.Fatal(err)
	}
	if len(loop.Frames) != 50 || loop.Interval != 20*time.Millisecond {
		t.Fatalf("%d frames every %v, want 50 every 20ms", len(loop.Frames), loop.Interval)
	}
	for i, f := range loop.Frames {
		if len(f.Data) < 10 {
			t.Errorf("frame %d is %d bytes: the tone was not encoded", i, len(f.Data))
		}
	}
}

func TestEncodeRejectsBadOptions(t *testing.T) {
	for _, opts := range []VideoOptions{
		{Width: 0, Height: 360, FPS: 30, Seconds: 1, Bitrate: 1e6},
		{Width: 641, Height: 360, FPS: 30, Seconds: 1, Bitrate: 1e6},
		{Width: 640, Height: 360, FPS: 0, Seconds: 1, Bitrate: 1e6},
		{Width: 640, Height: 360, FPS: 30, Seconds: 1},
	} {
		if _, err := EncodeVideo(opts); err == nil {
			t.Errorf("EncodeVideo(%+v) accepted", opts)
		}
	}
	if _, err := EncodeAudio(AudioOptions{FrequencyHz: 30_000, Seconds: 1}); err == nil {
		t.Error("EncodeAudio accepted a tone above Nyquist")
	}
}

type recordingWriter struct{ samples []media.Sample }

func (w *recordingWriter) WriteFrame(data []byte, dur time.Duration, _ bool) error {
	w.samples = append(w.samples, media.Sample{Data: data, Duration: dur})
	return nil
}

func TestPlayerRewindsOnKeyframeRequest(t *testing.T) {
	loop := &Loop{Interval: time.Millisecond, Frames: []Frame{
		{Data: []byte{0}, Keyframe: true}, {Data: []byte{1}}, {Data: []byte{2}},
	}}
	w := &recordingWriter{}
	p := NewPlayer(loop, w)
	ctx, cancel := context.WithCancel(context.Background())
	stopAfter := func(n int) FrameWriter {
		return writerFunc(func(data []byte, dur time.Duration, nonRef bool) error {
			_ = w.WriteFrame(data, dur, nonRef)
			if len(w.samples) == 2 {
				p.RequestKeyframe()
			}
			if len(w.samples) == n {
				cancel()
			}
			return nil
		})
	}
	p.out = stopAfter(5)
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for _, s := range w.samples {
		got = append(got, s.Data[0])
	}
	if want := []byte{0, 1, 0, 1, 2}; string(got) != string(want) {
		t.Errorf("frames %v, want %v", got, want)
	}
	if p.FramesSent() != 5 {
		t.Errorf("FramesSent %d", p.FramesSent())
	}
}

type writerFunc func([]byte, time.Duration, bool) error

func (f writerFunc) WriteFrame(data []byte, dur time.Duration, nonRef bool) error {
	return f(data, dur, nonRef)
}

// BenchmarkLivePattern720p is the virtual camera's cost per 1280×720
// frame (the ticker is set fast enough not to wait).
func BenchmarkLivePattern720p(b *testing.B) {
	l := NewLivePattern(1280, 720, 100_000)
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := l.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

// A closed live source ends like an unplugged camera: a Read waiting for
// the next frame returns io.EOF instead of blocking for ever.
func TestLivePatternCloseEndsRead(t *testing.T) {
	p := NewLivePattern(64, 36, 1) // one frame a second: Read waits
	errc := make(chan error, 1)
	go func() {
		_, _, err := p.Read()
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Read after Close: %v, want io.EOF", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read still blocked 2 s after Close")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
