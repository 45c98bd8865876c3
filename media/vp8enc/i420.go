package vp8enc

// #include <stddef.h>
// void parley_rgba_to_i420(const unsigned char *pix, int stride, int w, int h, unsigned char *y, unsigned char *u, unsigned char *v);
import "C"

import (
	"image"
	"image/draw"
	"unsafe"
)

// load converts img into the encoder's I420 planes. Cameras deliver
// 4:2:0 or 4:2:2 YCbCr, screens RGBA; anything else is drawn to RGBA
// first (slow, but no source of ours makes it).
func (e *Encoder) load(img image.Image) {
	switch m := img.(type) {
	case *image.YCbCr:
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio420:
			e.loadYCbCr(m, false)
			return
		case image.YCbCrSubsampleRatio422:
			e.loadYCbCr(m, true)
			return
		}
	case *image.RGBA:
		e.loadRGBA(m)
		return
	}
	if e.scratch == nil {
		e.scratch = image.NewRGBA(image.Rect(0, 0, e.w, e.h))
	}
	draw.Draw(e.scratch, e.scratch.Rect, img, img.Bounds().Min, draw.Src)
	e.loadRGBA(e.scratch)
}

// loadYCbCr copies the planes; 4:2:2 chroma (full height) is averaged
// over row pairs.
func (e *Encoder) loadYCbCr(m *image.YCbCr, halveRows bool) {
	w, h, cw := e.w, e.h, e.w/2
	x0, y0 := m.Rect.Min.X, m.Rect.Min.Y
	for y := range h {
		i := m.YOffset(x0, y0+y)
		copy(e.y[y*w:(y+1)*w], m.Y[i:i+w])
	}
	for y := range h / 2 {
		dst := y * cw
		if !halveRows {
			i := m.COffset(x0, y0+2*y)
			copy(e.u[dst:dst+cw], m.Cb[i:i+cw])
			copy(e.v[dst:dst+cw], m.Cr[i:i+cw])
			continue
		}
		a, b := m.COffset(x0, y0+2*y), m.COffset(x0, y0+2*y+1)
		u0, u1 := m.Cb[a:a+cw], m.Cb[b:b+cw]
		v0, v1 := m.Cr[a:a+cw], m.Cr[b:b+cw]
		du, dv := e.u[dst:dst+cw], e.v[dst:dst+cw]
		for x := range du {
			du[x] = uint8((int(u0[x]) + int(u1[x]) + 1) >> 1)
			dv[x] = uint8((int(v0[x]) + int(v1[x]) + 1) >> 1)
		}
	}
}

// loadRGBA converts m (see parley_rgba_to_i420).
func (e *Encoder) loadRGBA(m *image.RGBA) {
	pix := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):]
	C.parley_rgba_to_i420((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(m.Stride), C.int(e.w), C.int(e.h),
		(*C.uchar)(unsafe.Pointer(&e.y[0])), (*C.uchar)(unsafe.Pointer(&e.u[0])), (*C.uchar)(unsafe.Pointer(&e.v[0])))
}
