package testsrc

import (
	"image"
	"math/rand/v2"
)

// pattern draws colour bars with a bright block that sweeps across once per
// loop, over fine noise. The noise gives the encoder real work (so the
// bitrate resembles a camera's) and the block makes motion visible in a
// screenshot.
type pattern struct {
	w, h  int
	noise []uint8
	rng   *rand.Rand
}

func newPattern(w, h int) *pattern {
	return &pattern{w: w, h: h, noise: make([]uint8, w*h), rng: rand.New(rand.NewPCG(1, 2))}
}

// Colour bars in YCbCr (BT.601): white, yellow, cyan, green, magenta, red, blue.
var bars = [][3]uint8{
	{235, 128, 128}, {210, 16, 146}, {170, 166, 16}, {145, 54, 34},
	{106, 202, 222}, {81, 90, 240}, {41, 240, 110},
}

func (p *pattern) frame(n, total int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, p.w, p.h), image.YCbCrSubsampleRatio420)
	for i := range p.noise {
		p.noise[i] = uint8(p.rng.IntN(noiseAmp))
	}
	blockW := p.w / 8
	blockX := (p.w - blockW) * n / max(total-1, 1)
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			bar := bars[x*len(bars)/p.w]
			luma := bar[0]
			if x >= blockX && x < blockX+blockW && y > p.h/3 && y < 2*p.h/3 {
				luma = 16 // a dark block moving over the bars
			}
			v := int(luma) + int(p.noise[y*p.w+x]) - noiseAmp/2
			img.Y[y*img.YStride+x] = uint8(min(max(v, 16), 235))
			if x%2 == 0 && y%2 == 0 {
				ci := (y/2)*img.CStride + x/2
				img.Cb[ci], img.Cr[ci] = bar[1], bar[2]
			}
		}
	}
	return img
}

const noiseAmp = 16
