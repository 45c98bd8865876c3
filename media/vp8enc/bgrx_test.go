package vp8enc

import (
	"image"
	"math/rand/v2"
	"slices"
	"testing"
)

func newEncoder(t *testing.T, w, h int) *Encoder {
	t.Helper()
	e, err := New(Options{Width: w, Height: h, FPS: 15, Bitrate: 500_000, Screen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func newBGRX(w, h int, colour func(x, y int) (r, g, b uint8)) *BGRX {
	m := &BGRX{Pix: make([]byte, w*h*4), Stride: w * 4, Rect: image.Rect(0, 0, w, h)}
	for y := range h {
		for x := range w {
			r, g, b := colour(x, y)
			i := y*m.Stride + x*4
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = b, g, r, 0
		}
	}
	return m
}

// randomColours gives newBGRX a colour drawn at random for each pixel, the
// same sequence for the same seed.
func randomColours(seed1, seed2 uint64) func(x, y int) (r, g, b uint8) {
	rng := rand.New(rand.NewPCG(seed1, seed2))
	return func(int, int) (uint8, uint8, uint8) {
		return uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))
	}
}

// A BGRX frame of the encoder's size converts exactly as the RGBA frame
// of the same colours does.
func TestBGRXAsRGBA(t *testing.T) {
	const w, h = 64, 36
	bgrx := newBGRX(w, h, randomColours(3, 4))
	rgba := image.NewRGBA(bgrx.Rect)
	for y := range h {
		for x := range w {
			rgba.Set(x, y, bgrx.At(x, y))
		}
	}
	e := newEncoder(t, w, h)
	if err := e.load(rgba); err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(e.y, e.u, e.v)
	if err := e.load(bgrx); err != nil {
		t.Fatal(err)
	}
	if got := slices.Concat(e.y, e.u, e.v); !slices.Equal(got, want) {
		t.Error("the BGRX frame's planes differ from the RGBA frame's")
	}
}

// Scaling a 1920×1080 screen down to 1280×720 averages areas: flat
// colours stay exact, and a line one pixel wide shows in the result with
// at least a third of its contrast, whatever its position.
func TestBGRXScaledDown(t *testing.T) {
	const sw, sh, w, h = 1920, 1080, 1280, 720
	e := newEncoder(t, w, h)
	flat := newBGRX(sw, sh, func(x, y int) (uint8, uint8, uint8) {
		if x < sw/2 {
			return 255, 0, 0
		}
		return 0, 64, 255
	})
	if err := e.load(flat); err != nil {
		t.Fatal(err)
	}
	red := newEncoder(t, 2, 2)
	_ = red.load(newBGRX(2, 2, func(int, int) (uint8, uint8, uint8) { return 255, 0, 0 }))
	blue := newEncoder(t, 2, 2)
	_ = blue.load(newBGRX(2, 2, func(int, int) (uint8, uint8, uint8) { return 0, 64, 255 }))
	for _, c := range []struct {
		x, y int
		want *Encoder
	}{{0, 0, red}, {600, 359, red}, {660, 0, blue}, {1279, 719, blue}} {
		cx, cy := c.x/2, c.y/2
		if e.y[c.y*w+c.x] != c.want.y[0] || e.u[cy*w/2+cx] != c.want.u[0] || e.v[cy*w/2+cx] != c.want.v[0] {
			t.Errorf("pixel %d,%d: YUV %d %d %d, want %d %d %d", c.x, c.y, e.y[c.y*w+c.x], e.u[cy*w/2+cx], e.v[cy*w/2+cx],
				c.want.y[0], c.want.u[0], c.want.v[0])
		}
	}
	for _, vertical := range []bool{true, false} {
		for pos := 900; pos < 906; pos++ {
			line := newBGRX(sw, sh, func(x, y int) (uint8, uint8, uint8) {
				if (vertical && x == pos) || (!vertical && y == pos) {
					return 255, 255, 255
				}
				return 0, 0, 0
			})
			if err := e.load(line); err != nil {
				t.Fatal(err)
			}
			// Across the middle row, or down the middle column.
			brightest, kind := uint8(0), "vertical"
			if vertical {
				for x := range w {
					brightest = max(brightest, e.y[(h/2)*w+x])
				}
			} else {
				kind = "horizontal"
				for y := range h {
					brightest = max(brightest, e.y[y*w+w/2])
				}
			}
			if brightest < 16+219/3 {
				t.Errorf("a %s line at %d: brightest luma %d, want ≥ %d", kind, pos, brightest, 16+219/3)
			}
		}
	}
}

// The encoder takes a larger BGRX frame, but not a smaller one, nor one
// so large that scaling it down would skip pixels.
func TestBGRXSizes(t *testing.T) {
	e := newEncoder(t, 64, 36)
	for _, c := range []struct {
		w, h int
		ok   bool
	}{{64, 36, true}, {128, 72, true}, {100, 36, true}, {62, 36, false}, {64, 34, false}, {64 * 16, 36, false}} {
		_, err := e.Encode(newBGRX(c.w, c.h, func(int, int) (uint8, uint8, uint8) { return 1, 2, 3 }), 0)
		if (err == nil) != c.ok {
			t.Errorf("%dx%d: %v, want ok %v", c.w, c.h, err, c.ok)
		}
	}
}

// A frame equal to the one loaded last is not converted again (the planes
// still hold it); any other frame, or another kind of image, is.
func TestBGRXStillFrameSkipped(t *testing.T) {
	const w, h = 64, 36
	e := newEncoder(t, w, h)
	grey := func(l uint8) *BGRX { return newBGRX(w, h, func(int, int) (uint8, uint8, uint8) { return l, l, l }) }
	load := func(img image.Image) uint8 {
		t.Helper()
		if err := e.load(img); err != nil {
			t.Fatal(err)
		}
		return e.y[0]
	}
	dark := load(grey(10))
	e.y[0] = 99 // a conversion would overwrite it
	if got := load(grey(10)); got != 99 {
		t.Errorf("the same frame again was converted (luma %d)", got)
	}
	bright := load(grey(200))
	if bright == 99 || bright == dark {
		t.Errorf("a new frame gave luma %d", bright)
	}
	load(image.NewRGBA(image.Rect(0, 0, w, h))) // black
	if got := load(grey(200)); got != bright {
		t.Errorf("after an RGBA frame, the BGRX frame before it again gave luma %d, want %d", got, bright)
	}
}

// A frame that differs from the last in a band of rows converts only the
// row pairs those rows reach, and the planes come out as a fresh
// conversion of the whole frame would: at the encoder's size and scaled.
func TestBGRXChangedRowsOnly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sw, sh int
	}{
		{"same size", 64, 36},
		{"scaled 3:2", 96, 54},
		{"scaled unevenly", 101, 61},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const w, h = 64, 36
			random := randomColours(5, 6)
			first := newBGRX(tc.sw, tc.sh, random)
			second := &BGRX{Pix: slices.Clone(first.Pix), Stride: first.Stride, Rect: first.Rect}
			band := newBGRX(tc.sw, 3, random) // rows sh/2 … sh/2+2 change
			copy(second.Pix[tc.sh/2*second.Stride:], band.Pix)

			e := newEncoder(t, w, h)
			load := func(e *Encoder, m *BGRX) []byte {
				t.Helper()
				if err := e.load(m); err != nil {
					t.Fatal(err)
				}
				return slices.Concat(e.y, e.u, e.v)
			}
			load(e, first)
			e.y[0], e.y[w*h-1] = 1, 1 // far from the band: a conversion would overwrite them
			got := load(e, second)
			if e.y[0] != 1 || e.y[w*h-1] != 1 {
				t.Error("rows that did not change were converted again")
			}
			fresh := load(newEncoder(t, w, h), second)
			got[0], got[w*h-1] = fresh[0], fresh[w*h-1]
			if !slices.Equal(got, fresh) {
				t.Error("the planes after a changed band differ from a conversion of the whole frame")
			}
			if slices.Equal(load(newEncoder(t, w, h), first), fresh) {
				t.Fatal("the band changed nothing: the test shows nothing")
			}
		})
	}
}

// BenchmarkLoadBGRX1080p converts 1920×1080 screens to the encoder's
// 1280×720 planes: one that changes everywhere each frame, one where a
// band of 48 rows changes (typing, a scrolled pane), one that is still.
func BenchmarkLoadBGRX1080p(b *testing.B) {
	const sw, sh = 1920, 1080
	noise := randomColours(7, 8)
	full := []*BGRX{newBGRX(sw, sh, noise), newBGRX(sw, sh, noise)}
	band := []*BGRX{full[0], {Pix: slices.Clone(full[0].Pix), Stride: full[0].Stride, Rect: full[0].Rect}}
	copy(band[1].Pix[500*sw*4:548*sw*4], full[1].Pix)
	for _, bc := range []struct {
		name   string
		frames []*BGRX
	}{
		{"everywhere", full},
		{"band", band},
		{"still", full[:1]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := New(Options{Width: 1280, Height: 720, FPS: 15, Bitrate: 1_200_000, Screen: true})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			for i := 0; b.Loop(); i++ {
				if err := e.load(bc.frames[i%len(bc.frames)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The scaler's fast arithmetic (three colours in the lanes of one word,
// two or three taps in one pass) gives what plain area averaging with
// the same 1/256 weights gives, for scales that take 2 to 5 taps.
func TestBGRXScaleMatchesReference(t *testing.T) {
	for _, c := range []struct{ sw, sh, w, h int }{
		{1920, 1080, 1280, 720}, // 2 taps
		{101, 61, 64, 36},       // 2 or 3
		{192, 108, 64, 36},      // 3
		{200, 113, 64, 36},      // 4 or 5
	} {
		src := newBGRX(c.sw, c.sh, randomColours(uint64(c.sw), uint64(c.sh)))
		e := newEncoder(t, c.w, c.h)
		if err := e.load(src); err != nil {
			t.Fatal(err)
		}
		wantY, wantU, wantV := referenceScale(src, c.w, c.h)
		if !slices.Equal(e.y, wantY) || !slices.Equal(e.u, wantU) || !slices.Equal(e.v, wantV) {
			t.Errorf("%dx%d to %dx%d: the planes differ from plain area averaging", c.sw, c.sh, c.w, c.h)
		}
	}
}

// referenceScale is area averaging written out plainly: each destination
// pixel weighs the source pixels it covers, in 1/256 across and down (the
// largest share takes the rounding), and rounds once at the end.
func referenceScale(m *BGRX, w, h int) (y, u, v []byte) {
	taps := func(sn, dn int) (start []int, weights [][]int) {
		for i := range dn {
			a, b := i*sn, (i+1)*sn
			k0, k1 := a/dn, (b+dn-1)/dn
			ws := make([]int, k1-k0)
			sum, big := 0, 0
			for k := k0; k < k1; k++ {
				ws[k-k0] = (min(b, (k+1)*dn) - max(a, k*dn)) * 256 / sn
				sum += ws[k-k0]
				if ws[k-k0] > ws[big] {
					big = k - k0
				}
			}
			ws[big] += 256 - sum
			start, weights = append(start, k0), append(weights, ws)
		}
		return start, weights
	}
	xs, xw := taps(m.Rect.Dx(), w)
	ys, yw := taps(m.Rect.Dy(), h)
	rgb := make([][3]int, w*h)
	for j := range h {
		for i := range w {
			for ch := range 3 {
				sum := 32768
				for l, wy := range yw[j] {
					row := 0
					for k, wx := range xw[i] {
						row += wx * int(m.Pix[(ys[j]+l)*m.Stride+(xs[i]+k)*4+2-ch])
					}
					sum += wy * row
				}
				rgb[j*w+i][ch] = sum >> 16
			}
		}
	}
	y, u, v = make([]byte, w*h), make([]byte, w*h/4), make([]byte, w*h/4)
	for j := range h {
		for i := range w {
			p := rgb[j*w+i]
			y[j*w+i] = byte((66*p[0]+129*p[1]+25*p[2]+128)>>8 + 16)
		}
	}
	for j := 0; j < h; j += 2 {
		for i := 0; i < w; i += 2 {
			var s [3]int
			for _, p := range [][3]int{rgb[j*w+i], rgb[j*w+i+1], rgb[(j+1)*w+i], rgb[(j+1)*w+i+1]} {
				s[0], s[1], s[2] = s[0]+p[0], s[1]+p[1], s[2]+p[2]
			}
			u[j/2*w/2+i/2] = byte((-38*s[0]-74*s[1]+112*s[2]+512)>>10 + 128)
			v[j/2*w/2+i/2] = byte((112*s[0]-94*s[1]-18*s[2]+512)>>10 + 128)
		}
	}
	return y, u, v
}
