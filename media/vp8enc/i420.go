package vp8enc

import (
	"image"
	"image/draw"
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

// loadRGBA converts with BT.601 limited-range integer coefficients, as
// browsers and libyuv do; chroma is the 2×2 block's average colour.
func (e *Encoder) loadRGBA(m *image.RGBA) {
	w, cw := e.w, e.w/2
	for y := 0; y < e.h; y += 2 {
		r0 := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:w*4]
		r1 := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y+1):][:w*4]
		y0, y1 := e.y[y*w:(y+1)*w], e.y[(y+1)*w:(y+2)*w]
		cu, cv := e.u[(y/2)*cw:][:cw], e.v[(y/2)*cw:][:cw]
		for x := range cw {
			p, q := r0[x*8:x*8+8], r1[x*8:x*8+8]
			var rs, gs, bs int
			for i, px := range [4][]byte{p[:4], p[4:], q[:4], q[4:]} {
				r, g, b := int(px[0]), int(px[1]), int(px[2])
				luma := uint8(((66*r + 129*g + 25*b + 128) >> 8) + 16)
				if i < 2 {
					y0[2*x+i] = luma
				} else {
					y1[2*x+i-2] = luma
				}
				rs, gs, bs = rs+r, gs+g, bs+b
			}
			cu[x] = uint8(((-38*rs - 74*gs + 112*bs + 512) >> 10) + 128)
			cv[x] = uint8(((112*rs - 94*gs - 18*bs + 512) >> 10) + 128)
		}
	}
}
