package testsrc

import (
	"context"
	"errors"
	"image"
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

// The eight-at-a-time noise adder gives what the clamping table gives,
// for every base luma of video range and every noise value, at every
// length (the words and the leftover bytes).
func TestAddNoiseMatchesTheTable(t *testing.T) {
	noise := make([]uint8, 64)
	for i := range noise {
		noise[i] = uint8((i * 7) % noiseAmp) // every value, in no order
	}
	for base := 16; base <= 235; base++ {
		for _, n := range []int{0, 1, 7, 8, 9, 16, 63, 64} {
			got := make([]uint8, n)
			addNoise(got, noise[:n], uint8(base))
			for i, g := range got {
				if want := lumaClamp[base+int(noise[i])]; g != want {
					t.Fatalf("base %d, length %d: pixel %d (noise %d) = %d, want %d", base, n, i, noise[i], g, want)
				}
			}
		}
	}
}

// The frame is the bars plus noise, with the dark block on its rows: each
// pixel as the clamping table makes it from the frame's own noise.
func TestLivePatternFrame(t *testing.T) {
	const w, h = 160, 90
	l := NewLivePattern(w, h, 100_000)
	defer l.Close()
	for frame := 1; frame <= 3; frame++ {
		img, _, err := l.Read()
		if err != nil {
			t.Fatal(err)
		}
		y := img.(*image.YCbCr)
		total := 2 * l.fps
		blockW := w / 8
		blockX := (w - blockW) * ((frame - 1) % total) / (total - 1)
		shift := frame * 7919
		for r := 0; r < h; r++ {
			for x := 0; x < w; x++ {
				luma := bars[x*len(bars)/w][0]
				if r > h/3 && r < 2*h/3 && x >= blockX && x < blockX+blockW {
					luma = 16
				}
				want := lumaClamp[int(luma)+int(l.noise[(r*w+x+shift)%(w*h)])]
				if got := y.Y[r*y.YStride+x]; got != want {
					t.Fatalf("frame %d, pixel (%d,%d) = %d, want %d", frame, x, r, got, want)
				}
			}
		}
	}
}
