// I420 to RGBA for the desktop window's tiles, compiled to WebAssembly
// with SIMD (AssemblyScript). WebKitGTK draws a VideoFrame by converting it
// through a GStreamer pipeline that it builds and tears down for every
// frame; copying the frame out, converting it here and putting it on the
// canvas costs a sixth of that (see framepainter.ts).
//
// BT.601 limited range, as VP8 is coded, in fixed point with 6 fractional
// bits: every term fits an i16 lane, saturating adds and the unsigned
// narrowing clamp to 0..255. Off by at most 1 from the exact conversion.
//
//   R = 1.164 (Y − 16) + 1.596 Cr
//   G = 1.164 (Y − 16) − 0.391 Cb − 0.813 Cr
//   B = 1.164 (Y − 16) + 2.018 Cb

// 1.164 × 64 = 74.5: the luma term is 74 (Y − 16) + (Y − 16) / 2.
const kY: i16 = 74;
const kRV: i16 = 102;
const kGU: i16 = 25;
const kGV: i16 = 52;
const kBU: i16 = 129;
const half: i16 = 32; // rounds the final shift

// The luma term of eight pixels (i16 lanes).
@inline
function luma8(y: v128): v128 {
  const d = i16x8.sub(y, i16x8.splat(16));
  return i16x8.add(i16x8.mul(d, i16x8.splat(kY)), i16x8.shr_s(d, 1));
}

// The chroma terms of eight chroma samples (cb, cr: i16 lanes, centred on
// 0), each with the rounding of the final shift.
@inline
function redTerm(cr: v128): v128 {
  return i16x8.add(i16x8.mul(cr, i16x8.splat(kRV)), i16x8.splat(half));
}

@inline
function greenTerm(cb: v128, cr: v128): v128 {
  return i16x8.sub(i16x8.splat(half), i16x8.add(i16x8.mul(cb, i16x8.splat(kGU)), i16x8.mul(cr, i16x8.splat(kGV))));
}

@inline
function blueTerm(cb: v128): v128 {
  return i16x8.add(i16x8.mul(cb, i16x8.splat(kBU)), i16x8.splat(half));
}

// One channel of eight pixels: luma term plus chroma term, scaled back.
@inline
function channel(luma: v128, term: v128): v128 {
  return i16x8.shr_s(i16x8.add_sat_s(luma, term), 6);
}

// Sixteen pixels of one row: the luma at yp, each chroma term for eight
// pixel pairs widened to sixteen lanes (lo: pixels 0–7, hi: 8–15).
@inline
function row16(yp: usize, op: usize, rl: v128, rh: v128, gl: v128, gh: v128, bl: v128, bh: v128): void {
  const y = v128.load(yp);
  const ylo = luma8(i16x8.extend_low_i8x16_u(y));
  const yhi = luma8(i16x8.extend_high_i8x16_u(y));
  const r = i8x16.narrow_i16x8_u(channel(ylo, rl), channel(yhi, rh));
  const g = i8x16.narrow_i16x8_u(channel(ylo, gl), channel(yhi, gh));
  const b = i8x16.narrow_i16x8_u(channel(ylo, bl), channel(yhi, bh));
  const a = i8x16.splat(-1);
  const rgLo = i8x16.shuffle(r, g, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const rgHi = i8x16.shuffle(r, g, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const baLo = i8x16.shuffle(b, a, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const baHi = i8x16.shuffle(b, a, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  v128.store(op, i8x16.shuffle(rgLo, baLo, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
  v128.store(op, i8x16.shuffle(rgLo, baLo, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 16);
  v128.store(op, i8x16.shuffle(rgHi, baHi, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), 32);
  v128.store(op, i8x16.shuffle(rgHi, baHi, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 48);
}

// Each i16 lane of v twice: lanes 0–3 (low) or 4–7 (high) of v, each
// repeated for the two pixels that share a chroma sample.
@inline
function pairsLo(v: v128): v128 {
  return i8x16.shuffle(v, v, 0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7);
}

@inline
function pairsHi(v: v128): v128 {
  return i8x16.shuffle(v, v, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15);
}

@inline
function clamp(v: i32): u32 {
  v >>= 6;
  return <u32>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// One pixel, for the columns left over after the SIMD steps: cb and cr
// centred on 0.
@inline
function pixel(luma: i32, cb: i32, cr: i32, op: usize): void {
  const d = luma - 16;
  const l = d * kY + (d >> 1);
  const r = kRV * cr + half;
  const g = half - kGU * cb - kGV * cr;
  const b = kBU * cb + half;
  store<u32>(op, 0xff000000 | (clamp(l + b) << 16) | (clamp(l + g) << 8) | clamp(l + r));
}

// Converts a w×h I420 frame whose planes start at y, u and v (byte
// offsets in this module's memory, with their row strides) into w×h
// RGBA pixels at out. Odd sizes are fine: the last column and row share
// the chroma of the one before.
export function i420ToRGBA(y: usize, yStride: i32, u: usize, uStride: i32, v: usize, vStride: i32, w: i32, h: i32, out: usize): void {
  const c128 = i16x8.splat(128);
  const outStride = w * 4;
  for (let row = 0; row < h; row += 2) {
    const y0 = y + <usize>(row * yStride);
    const o0 = out + <usize>(row * outStride);
    // The last row of an odd height is converted twice, onto itself.
    const y1 = row + 1 < h ? y0 + <usize>yStride : y0;
    const o1 = row + 1 < h ? o0 + <usize>outStride : o0;
    const up = u + <usize>((row >> 1) * uStride);
    const vp = v + <usize>((row >> 1) * vStride);
    let x = 0;
    for (; x + 16 <= w; x += 16) {
      const cb = i16x8.sub(v128.load8x8_u(up + <usize>(x >> 1)), c128);
      const cr = i16x8.sub(v128.load8x8_u(vp + <usize>(x >> 1)), c128);
      const r = redTerm(cr);
      const g = greenTerm(cb, cr);
      const b = blueTerm(cb);
      const rl = pairsLo(r);
      const rh = pairsHi(r);
      const gl = pairsLo(g);
      const gh = pairsHi(g);
      const bl = pairsLo(b);
      const bh = pairsHi(b);
      row16(y0 + <usize>x, o0 + <usize>(x * 4), rl, rh, gl, gh, bl, bh);
      row16(y1 + <usize>x, o1 + <usize>(x * 4), rl, rh, gl, gh, bl, bh);
    }
    for (; x < w; x++) {
      const cb = <i32>load<u8>(up + <usize>(x >> 1)) - 128;
      const cr = <i32>load<u8>(vp + <usize>(x >> 1)) - 128;
      pixel(<i32>load<u8>(y0 + <usize>x), cb, cr, o0 + <usize>(x * 4));
      pixel(<i32>load<u8>(y1 + <usize>x), cb, cr, o1 + <usize>(x * 4));
    }
  }
}

// Eight output pixels at op from eight 2×2 luma means (i16 lanes) and the
// eight chroma terms they share: the half-size conversion needs no
// widening of the chroma.
@inline
function half8(l: v128, r: v128, g: v128, b: v128, op: usize): void {
  const yv = luma8(l);
  // r0..r7 g0..g7, and b0..b7 then eight opaque alphas, as bytes
  const rg = i8x16.narrow_i16x8_u(channel(yv, r), channel(yv, g));
  const ba = i8x16.narrow_i16x8_u(channel(yv, b), i16x8.splat(255));
  v128.store(op, i8x16.shuffle(rg, ba, 0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27));
  v128.store(op, i8x16.shuffle(rg, ba, 4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31), 16);
}

// Converts a w×h I420 frame like i420ToRGBA, at half its width and height
// (rounded down): each output pixel is the mean of a 2×2 block of luma
// with the chroma sample that block shares. A tile drawn at half a
// frame's size or less then costs a quarter of the pixels to put on its
// canvas and to scale when the window repaints.
export function i420ToRGBAHalf(y: usize, yStride: i32, u: usize, uStride: i32, v: usize, vStride: i32, w: i32, h: i32, out: usize): void {
  const ow = w >> 1;
  const oh = h >> 1;
  const c128 = i16x8.splat(128);
  const one = i16x8.splat(1);
  for (let row = 0; row < oh; row++) {
    const y0 = y + <usize>(2 * row * yStride);
    const y1 = y0 + <usize>yStride;
    const up = u + <usize>(row * uStride);
    const vp = v + <usize>(row * vStride);
    const o = out + <usize>(row * ow * 4);
    let x = 0;
    for (; x + 8 <= ow; x += 8) {
      // Vertical mean of two rows of 16 luma, then the sums of pairs.
      const m = i8x16.avgr_u(v128.load(y0 + <usize>(2 * x)), v128.load(y1 + <usize>(2 * x)));
      const l = i16x8.shr_u(i16x8.add(i16x8.extadd_pairwise_i8x16_u(m), one), 1);
      const cb = i16x8.sub(v128.load8x8_u(up + <usize>x), c128);
      const cr = i16x8.sub(v128.load8x8_u(vp + <usize>x), c128);
      half8(l, redTerm(cr), greenTerm(cb, cr), blueTerm(cb), o + <usize>(x * 4));
    }
    for (; x < ow; x++) {
      const a = y0 + <usize>(2 * x);
      const c = y1 + <usize>(2 * x);
      const l = (<i32>load<u8>(a) + <i32>load<u8>(a + 1) + <i32>load<u8>(c) + <i32>load<u8>(c + 1) + 2) >> 2;
      const cb = <i32>load<u8>(up + <usize>x) - 128;
      const cr = <i32>load<u8>(vp + <usize>x) - 128;
      pixel(l, cb, cr, o + <usize>(x * 4));
    }
  }
}
