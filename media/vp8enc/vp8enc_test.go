package vp8enc_test

import (
	"errors"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"parley/media/vp8enc"
	"parley/media/vp8enc/internal/vpxdec"
)

// scene makes camera-like frames: colour bars with noise (what makes
// bits) and a dark block moving across.
type scene struct {
	w, h  int
	noise []uint8
	n     int
}

func newScene(w, h int) *scene {
	rng := rand.New(rand.NewPCG(1, 2))
	s := &scene{w: w, h: h, noise: make([]uint8, w*h+7919)}
	for i := range s.noise {
		s.noise[i] = uint8(rng.IntN(24))
	}
	return s
}

var bars = [][3]uint8{{180, 128, 128}, {168, 44, 136}, {145, 147, 44}, {133, 63, 52}, {63, 193, 204}, {51, 109, 212}, {28, 212, 120}, {16, 128, 128}}

// next fills img (w×h 4:2:0) with the next frame.
func (s *scene) next(img *image.YCbCr) {
	s.n++
	bx := (s.n * 8) % s.w
	for y := range s.h {
		for x := range s.w {
			bar := bars[x*len(bars)/s.w]
			l := int(bar[0])
			if x >= bx && x < bx+s.w/8 && y > s.h/3 && y < 2*s.h/3 {
				l = 20
			}
			l += int(s.noise[(y*s.w+x+s.n*31)%len(s.noise)]) - 12
			img.Y[y*img.YStride+x] = uint8(min(max(l, 16), 235))
			if x%2 == 0 && y%2 == 0 {
				i := (y/2)*img.CStride + x/2
				img.Cb[i], img.Cr[i] = bar[1], bar[2]
			}
		}
	}
}

func newYCbCr(w, h int) *image.YCbCr {
	return image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
}

func psnr(a, b []byte) float64 {
	var sum float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		sum += d * d
	}
	mse := sum / float64(len(a))
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

func frameTime(i, fps int) time.Duration { return time.Duration(i) * time.Second / time.Duration(fps) }

func mustNew(t testing.TB, o vp8enc.Options) *vp8enc.Encoder {
	t.Helper()
	e, err := vp8enc.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func mustDecoder(t testing.TB) *vpxdec.Decoder {
	t.Helper()
	d, err := vpxdec.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// Frames survive the round trip through libvpx's own decoder at camera
// quality, and only the first is a keyframe.
func TestEncodeDecodeQuality(t *testing.T) {
	const w, h, fps = 640, 360, 30
	for _, speed := range []int{0, 6, 12, 16} {
		e := mustNew(t, vp8enc.Options{Width: w, Height: h, FPS: fps, Bitrate: 1_000_000, Speed: speed})
		d := mustDecoder(t)
		sc, img := newScene(w, h), newYCbCr(w, h)
		var sum float64
		for i := range 60 {
			sc.next(img)
			f, err := e.Encode(img, frameTime(i, fps))
			if err != nil {
				t.Fatal(err)
			}
			if f.Keyframe != (i == 0) || (len(f.Data) > 0 && (f.Data[0]&1 == 0) != f.Keyframe) {
				t.Fatalf("speed %d frame %d: keyframe=%v, tag byte %#x", speed, i, f.Keyframe, f.Data[0])
			}
			out, err := d.Decode(f.Data)
			if err != nil {
				t.Fatalf("speed %d frame %d: %v", speed, i, err)
			}
			if out.Rect.Dx() != w || out.Rect.Dy() != h {
				t.Fatalf("decoded %v", out.Rect)
			}
			sum += psnr(img.Y, out.Y)
		}
		if avg := sum / 60; avg < 30 {
			t.Errorf("speed %d: luma PSNR %.1f dB, want ≥ 30", speed, avg)
		} else {
			t.Logf("speed %d: luma PSNR %.1f dB", speed, avg)
		}
	}
}

func TestForceKeyframe(t *testing.T) {
	const w, h, fps = 320, 180, 30
	e := mustNew(t, vp8enc.Options{Width: w, Height: h, FPS: fps, Bitrate: 300_000})
	sc, img := newScene(w, h), newYCbCr(w, h)
	for i := range 20 {
		if i == 10 || i == 15 {
			e.ForceKeyframe()
		}
		sc.next(img)
		f, err := e.Encode(img, frameTime(i, fps))
		if err != nil {
			t.Fatal(err)
		}
		if want := i == 0 || i == 10 || i == 15; f.Keyframe != want {
			t.Errorf("frame %d: keyframe %v, want %v", i, f.Keyframe, want)
		}
	}
}

// A new bitrate takes effect without a keyframe, and the output follows
// it both ways.
func TestSetBitrate(t *testing.T) {
	const w, h, fps = 640, 360, 30
	e := mustNew(t, vp8enc.Options{Width: w, Height: h, FPS: fps, Bitrate: 1_500_000})
	d := mustDecoder(t)
	sc, img := newScene(w, h), newYCbCr(w, h)
	n := 0
	// bps encodes 2 s and returns the bitrate of the second.
	bps := func() float64 {
		var bytes int
		for i := range 2 * fps {
			sc.next(img)
			f, err := e.Encode(img, frameTime(n, fps))
			n++
			if err != nil {
				t.Fatal(err)
			}
			if f.Keyframe && n > 1 {
				t.Fatalf("frame %d is a keyframe", n)
			}
			if _, err := d.Decode(f.Data); err != nil {
				t.Fatal(err)
			}
			if i >= fps {
				bytes += len(f.Data)
			}
		}
		return float64(bytes * 8)
	}
	high := bps()
	e.SetBitrate(300_000)
	if e.Bitrate() != 300_000 {
		t.Fatalf("Bitrate() = %d", e.Bitrate())
	}
	low := bps()
	e.SetBitrate(1_500_000)
	back := bps()
	t.Logf("1.5 Mbit/s target: %.0f; 300 kbit/s: %.0f; back: %.0f", high, low, back)
	for _, c := range []struct {
		got, target float64
	}{{high, 1_500_000}, {low, 300_000}, {back, 1_500_000}} {
		if c.got < c.target*0.6 || c.got > c.target*1.3 {
			t.Errorf("sent %.0f bit/s for a target of %.0f", c.got, c.target)
		}
	}
}

// Screens arrive as RGBA: colours and text edges survive the conversion
// and screen-content tuning.
func TestScreenRGBA(t *testing.T) {
	const w, h, fps = 640, 360, 15
	e := mustNew(t, vp8enc.Options{Width: w, Height: h, FPS: fps, Bitrate: 1_200_000, Screen: true})
	d := mustDecoder(t)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(3, 4))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 255, 255, 255}
			switch {
			case x < w/4:
				c = color.RGBA{220, 30, 30, 255} // a red sidebar
			case y%12 < 9 && rng.IntN(3) == 0:
				c = color.RGBA{0, 0, 0, 255} // "text"
			}
			img.SetRGBA(x, y, c)
		}
	}
	var out *image.YCbCr
	for i := range 10 {
		f, err := e.Encode(img, frameTime(i, fps))
		if err != nil {
			t.Fatal(err)
		}
		if out, err = d.Decode(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	want := image.NewYCbCr(img.Rect, image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			p := img.RGBAAt(x, y)
			yy, _, _ := color.RGBToYCbCr(p.R, p.G, p.B)
			// Go's conversion is full range; the encoder uses video range.
			want.Y[y*want.YStride+x] = uint8(16 + int(yy)*219/255)
		}
	}
	if q := psnr(want.Y, out.Y); q < 30 {
		t.Errorf("luma PSNR %.1f dB against the source, want ≥ 30", q)
	}
	r, g, b := color.YCbCrToRGB(out.YCbCrAt(w/8, h/2).Y, out.YCbCrAt(w/8, h/2).Cb, out.YCbCrAt(w/8, h/2).Cr)
	if r < 150 || g > 90 || b > 90 {
		t.Errorf("the red sidebar decodes as %d,%d,%d", r, g, b)
	}
}

// Cameras deliver 4:2:2 (YUYV): chroma rows are halved.
func TestYCbCr422(t *testing.T) {
	const w, h = 320, 180
	e := mustNew(t, vp8enc.Options{Width: w, Height: h, FPS: 30, Bitrate: 500_000})
	d := mustDecoder(t)
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio422)
	for i := range img.Y {
		img.Y[i] = 120
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 60, 200
	}
	var out *image.YCbCr
	for i := range 5 {
		f, err := e.Encode(img, frameTime(i, 30))
		if err != nil {
			t.Fatal(err)
		}
		if out, err = d.Decode(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	c := out.YCbCrAt(w/2, h/2)
	if absDiff(c.Y, 120) > 3 || absDiff(c.Cb, 60) > 3 || absDiff(c.Cr, 200) > 3 {
		t.Errorf("decoded %v, want Y 120 Cb 60 Cr 200", c)
	}
}

func absDiff(a, b uint8) int { return int(math.Abs(float64(a) - float64(b))) }

func TestErrors(t *testing.T) {
	if _, err := vp8enc.New(vp8enc.Options{Width: 641, Height: 360, FPS: 30, Bitrate: 1}); err == nil {
		t.Error("odd width accepted")
	}
	e, err := vp8enc.New(vp8enc.Options{Width: 320, Height: 180, FPS: 30, Bitrate: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Encode(newYCbCr(640, 360), 0); err == nil {
		t.Error("a frame of the wrong size was encoded")
	}
	e.Close()
	e.Close()
	if _, err := e.Encode(newYCbCr(320, 180), 0); !errors.Is(err, vp8enc.ErrClosed) {
		t.Errorf("Encode after Close: %v", err)
	}
}

func TestNoAllocationsPerFrame(t *testing.T) {
	const w, h = 640, 360
	e := mustNew(t, vp8enc.Options{Width: w, Height: h, FPS: 30, Bitrate: 1_000_000})
	sc, img := newScene(w, h), newYCbCr(w, h)
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	sc.next(img)
	i := 0
	encode := func(m image.Image) {
		if i%10 == 0 {
			e.ForceKeyframe() // grows the output buffer to keyframe size early
		}
		if _, err := e.Encode(m, frameTime(i, 30)); err != nil {
			t.Fatal(err)
		}
		i++
	}
	for range 20 {
		encode(img)
	}
	if a := testing.AllocsPerRun(30, func() { encode(img) }); a != 0 {
		t.Errorf("%.1f allocations per YCbCr frame", a)
	}
	if a := testing.AllocsPerRun(30, func() { encode(rgba) }); a != 0 {
		t.Errorf("%.1f allocations per RGBA frame", a)
	}
}

func benchmarkEncode(b *testing.B, o vp8enc.Options, rgba bool) {
	e := mustNew(b, o)
	sc := newScene(o.Width, o.Height)
	frames := make([]image.Image, 30)
	for i := range frames {
		img := newYCbCr(o.Width, o.Height)
		sc.next(img)
		frames[i] = img
		if rgba {
			m := image.NewRGBA(img.Rect)
			for y := range o.Height {
				for x := range o.Width {
					m.Set(x, y, img.At(x, y))
				}
			}
			frames[i] = m
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := e.Encode(frames[i%len(frames)], frameTime(i, o.FPS)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode720p is one 1280×720 camera frame (noisy, moving) at 1
// Mbit/s, per speed setting.
func BenchmarkEncode720p(b *testing.B) {
	for _, speed := range []int{6, 8, 10, 12, 16} {
		b.Run("speed"+string(rune('0'+speed/10))+string(rune('0'+speed%10)), func(b *testing.B) {
			benchmarkEncode(b, vp8enc.Options{Width: 1280, Height: 720, FPS: 30, Bitrate: 1_000_000, Speed: speed}, false)
		})
	}
}

// BenchmarkEncodeScreen720p is a 1280×720 RGBA screen frame, converted and
// encoded with the screen settings.
func BenchmarkEncodeScreen720p(b *testing.B) {
	benchmarkEncode(b, vp8enc.Options{Width: 1280, Height: 720, FPS: 15, Bitrate: 1_200_000, Screen: true}, true)
}

// BenchmarkEncodeScreen1080p is a 1920×1080 screen grab (BGRX) that
// changes every frame, scaled down to 1280×720 and encoded with the
// screen settings.
func BenchmarkEncodeScreen1080p(b *testing.B) {
	const sw, sh = 1920, 1080
	e := mustNew(b, vp8enc.Options{Width: 1280, Height: 720, FPS: 15, Bitrate: 1_200_000, Screen: true})
	sc := newScene(sw, sh)
	frames := make([]*vp8enc.BGRX, 8)
	for i := range frames {
		img := newYCbCr(sw, sh)
		sc.next(img)
		m := &vp8enc.BGRX{Pix: make([]byte, sw*sh*4), Stride: sw * 4, Rect: img.Rect}
		for y := range sh {
			for x := range sw {
				r, g, bl, _ := img.At(x, y).RGBA()
				j := y*m.Stride + x*4
				m.Pix[j], m.Pix[j+1], m.Pix[j+2] = uint8(bl>>8), uint8(g>>8), uint8(r>>8)
			}
		}
		frames[i] = m
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := e.Encode(frames[i%len(frames)], frameTime(i, 15)); err != nil {
			b.Fatal(err)
		}
	}
}

// With the half-rate layer, every other frame can be skipped: a decoder
// given only the others still decodes them all, at full quality.
func TestHalfRateLayer(t *testing.T) {
	const w, h, fps = 640, 360, 30
	e := mustNew(t, vp8enc.Options{Width: w, Height: h, FPS: fps, Bitrate: 1_000_000, HalfRateLayer: true})
	all, half := mustDecoder(t), mustDecoder(t)
	sc, img := newScene(w, h), newYCbCr(w, h)
	var sumAll, sumHalf float64
	var nHalf int
	for i := range 60 {
		if i == 31 {
			e.ForceKeyframe() // an odd frame: the pattern restarts there
		}
		sc.next(img)
		f, err := e.Encode(img, frameTime(i, fps))
		if err != nil {
			t.Fatal(err)
		}
		wantDrop := (i < 31 && i%2 == 1) || (i > 31 && (i-31)%2 == 1)
		if f.Droppable != wantDrop {
			t.Fatalf("frame %d: droppable %v, want %v (keyframe %v)", i, f.Droppable, wantDrop, f.Keyframe)
		}
		out, err := all.Decode(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		sumAll += psnr(img.Y, out.Y)
		if f.Droppable {
			continue
		}
		if out, err = half.Decode(f.Data); err != nil {
			t.Fatalf("frame %d without the droppable ones: %v", i, err)
		}
		sumHalf += psnr(img.Y, out.Y)
		nHalf++
	}
	pAll, pHalf := sumAll/60, sumHalf/float64(nHalf)
	t.Logf("luma PSNR: all frames %.1f dB, half-rate decoder %.1f dB", pAll, pHalf)
	if pHalf < 30 || pHalf < pAll-1 {
		t.Errorf("the half-rate decoder's picture is %.1f dB (all frames: %.1f)", pHalf, pAll)
	}
}
