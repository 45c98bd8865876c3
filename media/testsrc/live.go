package testsrc

import (
	"encoding/binary"
	"image"
	"io"
	"sync"
	"time"
)

// LivePattern is the test pattern as a live video source (a virtual
// camera): frames made in real time for a live encoder, so that a
// benchmark measures encoding as a camera would cost it. The noise is
// drawn once and shifted each frame, and a row is made of stretches of
// one base luma (the bars, the block) with the noise added eight pixels
// at a time, so that the virtual camera itself costs little: a real
// camera's frames arrive made.
type LivePattern struct {
	w, h int
	fps  int
	n    int
	tick *time.Ticker
	done chan struct{} // closed by Close: a waiting Read returns
	// noise is the w×h noise table followed by its own first row again,
	// so that a row's noise never wraps.
	noise []uint8
	img   *image.YCbCr
	once  sync.Once
}

// NewLivePattern returns a w×h source producing fps frames per second.
func NewLivePattern(w, h, fps int) *LivePattern {
	p := newPattern(w, h)
	for i := range p.noise {
		p.noise[i] = uint8(p.rng.IntN(noiseAmp))
	}
	l := &LivePattern{w: w, h: h, fps: fps, tick: time.NewTicker(time.Second / time.Duration(fps)), done: make(chan struct{}),
		noise: append(p.noise, p.noise[:w]...), img: image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)}
	// The bars' colours never change: chroma is drawn once.
	for x := range w {
		bar := bars[x*len(bars)/w]
		for y := 0; y < h/2; y++ {
			ci := y*l.img.CStride + x/2
			l.img.Cb[ci], l.img.Cr[ci] = bar[1], bar[2]
		}
	}
	return l
}

// Size is the frame size.
func (l *LivePattern) Size() (int, int) { return l.w, l.h }

// Read waits for the next frame time and returns the frame (valid until
// the next Read); io.EOF once closed.
func (l *LivePattern) Read() (image.Image, func(), error) {
	select {
	case <-l.tick.C:
	case <-l.done:
		return nil, func() {}, io.EOF
	}
	total := 2 * l.fps // the block sweeps across in 2 s
	n := l.n % total
	l.n++
	img := l.img
	blockW := l.w / 8
	blockX := (l.w - blockW) * n / max(total-1, 1)
	shift := l.n * 7919 // a prime stride: the noise never repeats in place
	area := l.w * l.h
	for y := 0; y < l.h; y++ {
		row := img.Y[y*img.YStride : y*img.YStride+l.w]
		start := (y*l.w + shift) % area
		noise := l.noise[start : start+l.w]
		inBlock := y > l.h/3 && y < 2*l.h/3
		for b := range bars {
			x0, x1 := barStart(b, l.w), barStart(b+1, l.w)
			if !inBlock || x1 <= blockX || x0 >= blockX+blockW {
				addNoise(row[x0:x1], noise[x0:x1], bars[b][0])
				continue
			}
			// A dark block moving over the bars.
			bx0, bx1 := max(x0, blockX), min(x1, blockX+blockW)
			addNoise(row[x0:bx0], noise[x0:bx0], bars[b][0])
			addNoise(row[bx0:bx1], noise[bx0:bx1], 16)
			addNoise(row[bx1:x1], noise[bx1:x1], bars[b][0])
		}
	}
	return img, func() {}, nil
}

// barStart is the first column of bar b (of len(bars)) in a row of w:
// the column x lies under bar x*len(bars)/w.
func barStart(b, w int) int { return (b*w + len(bars) - 1) / len(bars) }

// lumaClamp[l+n] is luma l plus noise n (centred), kept to video range.
var lumaClamp = func() (t [256 + noiseAmp]uint8) {
	for i := range t {
		t[i] = uint8(min(max(i-noiseAmp/2, 16), 235))
	}
	return t
}()

// addNoise sets dst to luma base plus noise (centred), kept to video
// range: the same as lumaClamp[base+noise[i]], for eight pixels in one
// 64-bit word. Noise is under 16, so each byte's arithmetic stays within
// its byte: clamping the result is clamping the noise to a threshold
// (min or max), which a byte compares by borrowing from its top bit.
func addNoise(dst, noise []uint8, base uint8) {
	noise = noise[:len(dst)]
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	lo := int(base) - noiseAmp/2
	floor := max(16-lo, 0)   // noise below this would fall under 16
	ceil := min(235-lo, 255) // noise above this would rise over 235
	i := 0
	if lo >= 0 {
		add, fl, ce := uint64(lo)*ones, uint64(floor)*ones, uint64(ceil)*ones
		for ; i+8 <= len(dst); i += 8 {
			v := binary.LittleEndian.Uint64(noise[i:])
			if floor > 0 { // max(v, floor): keep the bytes at or over it
				keep := (((v | tops) - fl) & tops) >> 7 * 0xff
				v = v&keep | fl&^keep
			}
			if ceil < noiseAmp-1 { // min(v, ceil): replace the bytes over it
				over := (((v | tops) - ce - ones) & tops) >> 7 * 0xff
				v = v&^over | ce&over
			}
			binary.LittleEndian.PutUint64(dst[i:], v+add)
		}
	}
	for ; i < len(dst); i++ {
		dst[i] = lumaClamp[int(base)+int(noise[i])]
	}
}

// Close stops the source; a Read waiting for a frame returns io.EOF.
func (l *LivePattern) Close() error {
	l.once.Do(func() {
		l.tick.Stop()
		close(l.done)
	})
	return nil
}
