package testsrc

import (
	"image"
	"io"
	"sync"
	"time"
)

// LivePattern is the test pattern as a live video source (a virtual
// camera): frames made in real time for a live encoder, so that a
// benchmark measures encoding as a camera would cost it. The noise is
// drawn once and shifted each frame, which keeps making frames cheap.
type LivePattern struct {
	w, h  int
	fps   int
	n     int
	tick  *time.Ticker
	done  chan struct{} // closed by Close: a waiting Read returns
	noise []uint8
	bars  []uint8 // luma of the bar under each column
	// blocked is bars with the moving block, for the block's rows.
	blocked []uint8
	img     *image.YCbCr
	once    sync.Once
}

// NewLivePattern returns a w×h source producing fps frames per second.
func NewLivePattern(w, h, fps int) *LivePattern {
	p := newPattern(w, h)
	for i := range p.noise {
		p.noise[i] = uint8(p.rng.IntN(noiseAmp))
	}
	l := &LivePattern{w: w, h: h, fps: fps, tick: time.NewTicker(time.Second / time.Duration(fps)), done: make(chan struct{}),
		noise: p.noise, img: image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420), bars: make([]uint8, w), blocked: make([]uint8, w)}
	// The bars' colours never change: chroma is drawn once.
	for x := range w {
		bar := bars[x*len(bars)/w]
		l.bars[x] = bar[0]
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
	// This frame's luma under the block's rows: the bars with a dark block.
	copy(l.blocked, l.bars)
	for x := blockX; x < blockX+blockW; x++ {
		l.blocked[x] = 16
	}
	for y := 0; y < l.h; y++ {
		row := img.Y[y*img.YStride : y*img.YStride+l.w]
		base := l.bars
		if y > l.h/3 && y < 2*l.h/3 {
			base = l.blocked
		}
		start := (y*l.w + shift) % len(l.noise)
		// The row's noise, wrapping around the end of the table.
		a := l.noise[start:min(start+l.w, len(l.noise))]
		addNoise(row[:len(a)], base[:len(a)], a)
		addNoise(row[len(a):], base[len(a):], l.noise[:l.w-len(a)])
	}
	return img, func() {}, nil
}

// lumaClamp[l+n] is luma l plus noise n (centred), kept to video range.
var lumaClamp = func() (t [256 + noiseAmp]uint8) {
	for i := range t {
		t[i] = uint8(min(max(i-noiseAmp/2, 16), 235))
	}
	return t
}()

func addNoise(dst, base, noise []uint8) {
	base, noise = base[:len(dst)], noise[:len(dst)]
	for i := range dst {
		dst[i] = lumaClamp[int(base[i])+int(noise[i])]
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
