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
	noise []uint8
	img   *image.YCbCr
	// done ends a Read waiting for the next frame: a closed source ends
	// like an unplugged camera, with io.EOF.
	done chan struct{}
	once sync.Once
}

// NewLivePattern returns a w×h source producing fps frames per second.
func NewLivePattern(w, h, fps int) *LivePattern {
	p := newPattern(w, h)
	for i := range p.noise {
		p.noise[i] = uint8(p.rng.IntN(noiseAmp))
	}
	return &LivePattern{w: w, h: h, fps: fps, tick: time.NewTicker(time.Second / time.Duration(fps)),
		noise: p.noise, img: image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420), done: make(chan struct{})}
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
	for y := 0; y < l.h; y++ {
		row := img.Y[y*img.YStride : y*img.YStride+l.w]
		for x := range row {
			bar := bars[x*len(bars)/l.w]
			luma := bar[0]
			if x >= blockX && x < blockX+blockW && y > l.h/3 && y < 2*l.h/3 {
				luma = 16
			}
			v := int(luma) + int(l.noise[(y*l.w+x+shift)%len(l.noise)]) - noiseAmp/2
			row[x] = uint8(min(max(v, 16), 235))
		}
		if y%2 == 0 {
			for x := 0; x < l.w; x += 2 {
				bar := bars[x*len(bars)/l.w]
				ci := (y/2)*img.CStride + x/2
				img.Cb[ci], img.Cr[ci] = bar[1], bar[2]
			}
		}
	}
	return img, func() {}, nil
}

// Close stops the source; a Read waiting for a frame returns io.EOF.
func (l *LivePattern) Close() error {
	l.once.Do(func() {
		l.tick.Stop()
		close(l.done)
	})
	return nil
}
