// Package vpxdec decodes VP8 with libvpx, for checking what vp8enc makes
// (cgo cannot be used from test files).
package vpxdec

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

static vpx_codec_err_t parley_dec_init(vpx_codec_ctx_t *ctx) {
	return vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), NULL, 0);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// Decoder is a libvpx VP8 decoder.
type Decoder struct {
	ctx *C.vpx_codec_ctx_t
}

// New returns a decoder.
func New() (*Decoder, error) {
	ctx := (*C.vpx_codec_ctx_t)(C.calloc(1, C.sizeof_vpx_codec_ctx_t))
	if err := C.parley_dec_init(ctx); err != C.VPX_CODEC_OK {
		C.free(unsafe.Pointer(ctx))
		return nil, fmt.Errorf("vpxdec: init: %s", C.GoString(C.vpx_codec_err_to_string(err)))
	}
	return &Decoder{ctx: ctx}, nil
}

// Decode decodes one frame into a new 4:2:0 image.
func (d *Decoder) Decode(frame []byte) (*image.YCbCr, error) {
	if len(frame) == 0 {
		return nil, errors.New("vpxdec: empty frame")
	}
	buf := C.CBytes(frame)
	defer C.free(buf)
	if err := C.vpx_codec_decode(d.ctx, (*C.uint8_t)(buf), C.uint(len(frame)), nil, 0); err != C.VPX_CODEC_OK {
		return nil, fmt.Errorf("vpxdec: decode: %s", C.GoString(C.vpx_codec_err_to_string(err)))
	}
	var iter C.vpx_codec_iter_t
	img := C.vpx_codec_get_frame(d.ctx, &iter)
	if img == nil {
		return nil, errors.New("vpxdec: no picture")
	}
	w, h := int(img.d_w), int(img.d_h)
	out := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	plane := func(i int, dst []byte, stride, pw, ph int) {
		src := unsafe.Slice((*byte)(unsafe.Pointer(img.planes[i])), int(img.stride[i])*ph)
		for y := range ph {
			copy(dst[y*stride:y*stride+pw], src[y*int(img.stride[i]):])
		}
	}
	plane(0, out.Y, out.YStride, w, h)
	plane(1, out.Cb, out.CStride, (w+1)/2, (h+1)/2)
	plane(2, out.Cr, out.CStride, (w+1)/2, (h+1)/2)
	return out, nil
}

// Close frees the decoder.
func (d *Decoder) Close() {
	C.vpx_codec_destroy(d.ctx)
	C.free(unsafe.Pointer(d.ctx))
}
