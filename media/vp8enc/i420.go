package vp8enc

/*
#include <stdint.h>
#include <stdlib.h>

// BT.601 limited-range integer coefficients, as browsers and libyuv use;
// chroma is a 2×2 block's average colour (cb4 and cr4 take its sums).
static inline unsigned char parley_luma(int r, int g, int b) {
	return (unsigned char)(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
}
static inline unsigned char parley_cb4(int rs, int gs, int bs) {
	return (unsigned char)(((-38 * rs - 74 * gs + 112 * bs + 512) >> 10) + 128);
}
static inline unsigned char parley_cr4(int rs, int gs, int bs) {
	return (unsigned char)(((112 * rs - 94 * gs - 18 * bs + 512) >> 10) + 128);
}

// parley_block writes a 2×2 block (R, G, B of its top left, top right,
// bottom left, bottom right) at y0[0..1], y1[0..1] and its chroma at *cu, *cv.
static inline void parley_block(const int px[4][3], unsigned char *y0, unsigned char *y1,
		unsigned char *cu, unsigned char *cv) {
	y0[0] = parley_luma(px[0][0], px[0][1], px[0][2]);
	y0[1] = parley_luma(px[1][0], px[1][1], px[1][2]);
	y1[0] = parley_luma(px[2][0], px[2][1], px[2][2]);
	y1[1] = parley_luma(px[3][0], px[3][1], px[3][2]);
	int rs = px[0][0] + px[1][0] + px[2][0] + px[3][0];
	int gs = px[0][1] + px[1][1] + px[2][1] + px[3][1];
	int bs = px[0][2] + px[1][2] + px[2][2] + px[3][2];
	*cu = parley_cb4(rs, gs, bs);
	*cv = parley_cr4(rs, gs, bs);
}

// parley_dirty says whether any source row in [from, to) changed since
// the planes were written (dirty NULL: all did, or nothing is known).
static inline int parley_dirty(const unsigned char *dirty, int from, int to) {
	if (dirty == NULL) return 1;
	for (int k = from; k < to; k++) {
		if (dirty[k]) return 1;
	}
	return 0;
}

// 32-bit pixels with red at byte ri, green at 1 and blue at bi (RGBA:
// 0, 2; BGRX: 2, 0) to I420 of the same size, leaving the row pairs whose
// rows did not change (see parley_dirty). In C: several times faster than
// Go here.
static void parley_rgbx_to_i420(const unsigned char *pix, int stride, int w, int h, int ri, int bi,
		const unsigned char *dirty, unsigned char *y, unsigned char *u, unsigned char *v) {
	int cw = w / 2;
	for (int j = 0; j + 1 < h; j += 2) {
		if (!parley_dirty(dirty, j, j + 2)) continue;
		const unsigned char *r0 = pix + (size_t)j * stride, *r1 = r0 + stride;
		unsigned char *y0 = y + (size_t)j * w, *y1 = y0 + w;
		unsigned char *cu = u + (size_t)(j / 2) * cw, *cv = v + (size_t)(j / 2) * cw;
		for (int i = 0; i < cw; i++) {
			const unsigned char *a = r0 + 8 * i, *b = a + 4, *c = r1 + 8 * i, *d = c + 4;
			const int px[4][3] = {{a[ri], a[1], a[bi]}, {b[ri], b[1], b[bi]}, {c[ri], c[1], c[bi]}, {d[ri], d[1], d[bi]}};
			parley_block(px, y0 + 2 * i, y1 + 2 * i, cu + i, cv + i);
		}
	}
}

#define PARLEY_MAX_TAPS 16

// The source pixels under one destination pixel and their shares of it
// (in 1/256, summing to 256).
typedef struct {
	int start, n;
	uint16_t w[PARLEY_MAX_TAPS];
} parley_taps;

// parley_area_taps spreads dn destination pixels over sn source pixels
// (sn >= dn), each weighing the source pixels by how much of them it
// covers; -1 when one would cover more than PARLEY_MAX_TAPS.
static int parley_area_taps(parley_taps *t, int sn, int dn) {
	for (int i = 0; i < dn; i++) {
		// Positions in 1/dn of a source pixel.
		long long a = (long long)i * sn, b = (long long)(i + 1) * sn;
		int k0 = (int)(a / dn), k1 = (int)((b + dn - 1) / dn);
		if (k1 - k0 > PARLEY_MAX_TAPS) return -1;
		t[i].start = k0;
		t[i].n = k1 - k0;
		int sum = 0, big = 0;
		for (int k = k0; k < k1; k++) {
			long long lo = a > (long long)k * dn ? a : (long long)k * dn;
			long long hi = b < (long long)(k + 1) * dn ? b : (long long)(k + 1) * dn;
			int wgt = (int)((hi - lo) * 256 / sn);
			t[i].w[k - k0] = (uint16_t)wgt;
			sum += wgt;
			if (wgt > t[i].w[big]) big = k - k0;
		}
		t[i].w[big] += (uint16_t)(256 - sum);
	}
	return 0;
}

// parley_lanes puts a BGRX pixel's blue, green and red in 16-bit lanes of
// one word: a weight (at most 256) times it, and a sum of such products
// whose weights add up to 256, stay within their lanes, so one multiply
// weighs all three.
static inline uint64_t parley_lanes(const unsigned char *p) {
	return (uint64_t)p[0] | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 32;
}

// One source row (BGRX) averaged across to w pixels: R, G, B times 256.
static void parley_area_row(const unsigned char *row, const parley_taps *tx, int w, uint16_t *out) {
	for (int i = 0; i < w; i++) {
		const unsigned char *p = row + 4 * tx[i].start;
		uint64_t sum;
		if (tx[i].n == 2) { // all of a 1.5 times smaller screen
			sum = tx[i].w[0] * parley_lanes(p) + tx[i].w[1] * parley_lanes(p + 4);
		} else {
			sum = 0;
			for (int k = 0; k < tx[i].n; k++) sum += tx[i].w[k] * parley_lanes(p + 4 * k);
		}
		out[3 * i] = (uint16_t)(sum >> 32);
		out[3 * i + 1] = (uint16_t)(sum >> 16);
		out[3 * i + 2] = (uint16_t)sum;
	}
}

// parley_area_column weighs the rows src (t's taps) into out: in one
// pass the compiler can vectorize for 2 or 3 taps (what a screen up to
// twice the encoder's size takes).
static void parley_area_column(const uint16_t *const *src, const parley_taps *t, int n, int *out) {
	if (t->n == 2) {
		const uint16_t *a = src[0], *b = src[1];
		const unsigned wa = t->w[0], wb = t->w[1];
		for (int i = 0; i < n; i++) out[i] = (int)((wa * a[i] + wb * b[i] + 32768) >> 16);
		return;
	}
	if (t->n == 3) {
		const uint16_t *a = src[0], *b = src[1], *c = src[2];
		const unsigned wa = t->w[0], wb = t->w[1], wc = t->w[2];
		for (int i = 0; i < n; i++) out[i] = (int)((wa * a[i] + wb * b[i] + wc * c[i] + 32768) >> 16);
		return;
	}
	for (int i = 0; i < n; i++) {
		unsigned sum = 32768;
		for (int k = 0; k < t->n; k++) sum += t->w[k] * src[k][i];
		out[i] = (int)(sum >> 16);
	}
}

// parley_bgrx_scale_to_i420 scales a BGRX frame (sw×sh) down to w×h by
// area averaging, in which every source pixel counts (a line of text one
// pixel wide fades rather than vanishing, as it can with bilinear taps),
// and converts it to I420, leaving the row pairs made only of source rows
// that did not change (see parley_dirty). -1: out of memory, or scaled
// down more than PARLEY_MAX_TAPS - 1 times.
static int parley_bgrx_scale_to_i420(const unsigned char *pix, int stride, int sw, int sh, int w, int h,
		const unsigned char *dirty, unsigned char *y, unsigned char *u, unsigned char *v) {
	// Source rows averaged across, cached by row: a row pair needs at most
	// 2 * PARLEY_MAX_TAPS consecutive ones.
	enum { slots = 2 * PARLEY_MAX_TAPS + 1 };
	parley_taps *tx = malloc(sizeof *tx * w), *ty = malloc(sizeof *ty * h);
	uint16_t *rows = malloc(sizeof *rows * 3 * w * slots);
	int *rgb = malloc(sizeof *rgb * 3 * w * 2);
	int tags[slots];
	int err = -1;
	if (!tx || !ty || !rows || !rgb || parley_area_taps(tx, sw, w) < 0 || parley_area_taps(ty, sh, h) < 0) goto done;
	for (int s = 0; s < slots; s++) tags[s] = -1;
	int cw = w / 2;
	for (int j = 0; j + 1 < h; j += 2) {
		if (!parley_dirty(dirty, ty[j].start, ty[j + 1].start + ty[j + 1].n)) continue;
		for (int half = 0; half < 2; half++) {
			const parley_taps *t = &ty[j + half];
			int *out = rgb + 3 * w * half;
			const uint16_t *src[PARLEY_MAX_TAPS];
			for (int k = 0; k < t->n; k++) {
				int r = t->start + k, slot = r % slots;
				uint16_t *row = rows + (size_t)3 * w * slot;
				if (tags[slot] != r) {
					parley_area_row(pix + (size_t)r * stride, tx, w, row);
					tags[slot] = r;
				}
				src[k] = row;
			}
			parley_area_column(src, t, 3 * w, out);
		}
		const int *r0 = rgb, *r1 = rgb + 3 * w;
		unsigned char *y0 = y + (size_t)j * w, *y1 = y0 + w;
		unsigned char *cu = u + (size_t)(j / 2) * cw, *cv = v + (size_t)(j / 2) * cw;
		for (int i = 0; i < cw; i++) {
			const int *a = r0 + 6 * i, *b = a + 3, *c = r1 + 6 * i, *d = c + 3;
			const int px[4][3] = {{a[0], a[1], a[2]}, {b[0], b[1], b[2]}, {c[0], c[1], c[2]}, {d[0], d[1], d[2]}};
			parley_block(px, y0 + 2 * i, y1 + 2 * i, cu + i, cv + i);
		}
	}
	err = 0;
done:
	free(tx);
	free(ty);
	free(rows);
	free(rgb);
	return err;
}
*/
import "C"

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"unsafe"
)

// BGRX is a frame in the X server's 32-bit layout: blue, green, red and an
// unused byte a pixel (a screen grab). The encoder converts it straight
// to I420, scaling it down to its own size when it is larger.
type BGRX struct {
	Pix    []byte
	Stride int
	Rect   image.Rectangle
}

func (m *BGRX) ColorModel() color.Model { return color.RGBAModel }
func (m *BGRX) Bounds() image.Rectangle { return m.Rect }

func (m *BGRX) At(x, y int) color.Color {
	if !(image.Point{x, y}.In(m.Rect)) {
		return color.RGBA{}
	}
	i := (y-m.Rect.Min.Y)*m.Stride + (x-m.Rect.Min.X)*4
	return color.RGBA{m.Pix[i+2], m.Pix[i+1], m.Pix[i], 0xff}
}

// maxDownscale is how many times smaller than a BGRX frame the encoder
// may be (see PARLEY_MAX_TAPS).
const maxDownscale = C.PARLEY_MAX_TAPS - 1

var errScale = errors.New("cannot scale the frame down to the encoder's size")

// load converts img into the encoder's I420 planes. Cameras deliver
// 4:2:0 or 4:2:2 YCbCr, screens BGRX; anything else is drawn to RGBA
// first (slow, but no source of ours makes it).
func (e *Encoder) load(img image.Image) error {
	if m, ok := img.(*BGRX); ok {
		return e.loadBGRX(m)
	}
	e.lastBGRX.Rect = image.Rectangle{} // the planes will no longer hold it
	switch m := img.(type) {
	case *image.YCbCr:
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio420:
			e.loadYCbCr(m, false)
			return nil
		case image.YCbCrSubsampleRatio422:
			e.loadYCbCr(m, true)
			return nil
		}
	case *image.RGBA:
		e.loadRGBX(m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, 0, 2, nil)
		return nil
	}
	if e.scratch == nil {
		e.scratch = image.NewRGBA(image.Rect(0, 0, e.w, e.h))
	}
	draw.Draw(e.scratch, e.scratch.Rect, img, img.Bounds().Min, draw.Src)
	e.loadRGBX(e.scratch.Pix, e.scratch.Stride, 0, 2, nil)
	return nil
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

// loadRGBX converts 32-bit pixels with red at byte ri and blue at bi, all
// rows, or with dirty only the row pairs it marks (see parley_dirty).
func (e *Encoder) loadRGBX(pix []byte, stride, ri, bi int, dirty *C.uchar) {
	C.parley_rgbx_to_i420((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(stride), C.int(e.w), C.int(e.h), C.int(ri), C.int(bi),
		dirty, (*C.uchar)(unsafe.Pointer(&e.y[0])), (*C.uchar)(unsafe.Pointer(&e.u[0])), (*C.uchar)(unsafe.Pointer(&e.v[0])))
}

// loadBGRX converts (and scales) the rows of m that changed since the
// frame loaded last; the planes still hold the rest. Most of a share is
// still or changes in a band (typing, a scrolled pane): at 1080p a still
// screen then costs the comparison, and a band of 48 changed rows about
// a tenth of converting the whole (BenchmarkLoadBGRX1080p).
func (e *Encoder) loadBGRX(m *BGRX) error {
	sw, sh := m.Rect.Dx(), m.Rect.Dy()
	rowBytes := sw * 4
	pix := m.Pix[:m.Stride*(sh-1)+rowBytes] // from Rect.Min, as in image.RGBA
	last := &e.lastBGRX
	var dirty *C.uchar // every row
	if m.Rect.Size() == last.Rect.Size() && m.Stride == last.Stride {
		if !e.takeChangedRows(pix, m.Stride, rowBytes, sh) {
			return nil
		}
		dirty = (*C.uchar)(unsafe.Pointer(&e.changed[0]))
	} else {
		last.Pix = append(last.Pix[:0], pix...)
	}
	// Until the planes hold m (last.Pix already does): a failed
	// conversion leaves the next frame to convert whole.
	last.Rect = image.Rectangle{}
	if sw == e.w && sh == e.h {
		e.loadRGBX(pix, m.Stride, 2, 0, dirty)
	} else if C.parley_bgrx_scale_to_i420((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(m.Stride), C.int(sw), C.int(sh), C.int(e.w), C.int(e.h),
		dirty, (*C.uchar)(unsafe.Pointer(&e.y[0])), (*C.uchar)(unsafe.Pointer(&e.u[0])), (*C.uchar)(unsafe.Pointer(&e.v[0]))) != 0 {
		return errScale
	}
	last.Stride, last.Rect = m.Stride, m.Rect
	return nil
}

// takeChangedRows sets e.changed[y] for each of the sh rows of pix that
// differs from the last BGRX frame's (of the same size and stride),
// copying it there while it is at hand, and says whether any did.
func (e *Encoder) takeChangedRows(pix []byte, stride, rowBytes, sh int) bool {
	if cap(e.changed) < sh {
		e.changed = make([]byte, sh)
	}
	e.changed = e.changed[:sh]
	some := false
	for y := range sh {
		row, old := pix[y*stride:y*stride+rowBytes], e.lastBGRX.Pix[y*stride:y*stride+rowBytes]
		if bytes.Equal(row, old) {
			e.changed[y] = 0
		} else {
			copy(old, row)
			e.changed[y] = 1
			some = true
		}
	}
	return some
}
