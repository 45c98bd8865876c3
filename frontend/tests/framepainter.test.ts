import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FramePainter, type PaintCanvas, type PaintContext } from "../src/views/framepainter";
import { compileConverter, halfSize, I420Converter } from "../src/views/i420";

// The converter as the app builds it (npm run build:wasm).
const wasm = readFileSync(new URL("../src/generated/i420.wasm", import.meta.url));
const module = (await compileConverter(wasm))!;

// An I420 frame in one buffer, each plane with a stride wider than its
// row and some bytes before it, as a decoder's output can be.
interface Planes {
  w: number;
  h: number;
  data: Uint8Array;
  layout: PlaneLayout[];
}

function planes(w: number, h: number, fill: (plane: number, x: number, y: number) => number): Planes {
  const cw = (w + 1) >> 1;
  const ch = (h + 1) >> 1;
  const layout: PlaneLayout[] = [];
  let offset = 5;
  for (const [pw, ph] of [
    [w, h],
    [cw, ch],
    [cw, ch],
  ] as const) {
    const stride = pw + 3;
    layout.push({ offset, stride });
    offset += stride * ph + 7;
  }
  const data = new Uint8Array(offset);
  layout.forEach((l, p) => {
    const [pw, ph] = p === 0 ? [w, h] : [cw, ch];
    for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) data[l.offset + y * l.stride + x] = fill(p, x, y);
  });
  return { w, h, data, layout };
}

const at = (f: Planes, p: number, x: number, y: number) => f.data[f.layout[p]!.offset + y * f.layout[p]!.stride + x]!;

// BT.601 limited range in floating point.
function rgb(luma: number, cb: number, cr: number): number[] {
  const l = 1.164 * (luma - 16);
  const c = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  return [c(l + 1.596 * (cr - 128)), c(l - 0.391 * (cb - 128) - 0.813 * (cr - 128)), c(l + 2.018 * (cb - 128))];
}

function convert(f: Planes, half: boolean): Uint8ClampedArray {
  const conv = new I420Converter(module);
  conv.input(f.data.length).set(f.data);
  return conv.convert(f.layout, f.w, f.h, half).slice();
}

// The largest difference of any channel from the reference, checking that
// every pixel is opaque.
function maxError(out: Uint8ClampedArray, w: number, h: number, want: (x: number, y: number) => number[]): number {
  expect(out.length).toBe(w * h * 4);
  let worst = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      const [r, g, b] = want(x, y);
      worst = Math.max(worst, Math.abs(out[i]! - r!), Math.abs(out[i + 1]! - g!), Math.abs(out[i + 2]! - b!));
      if (out[i + 3] !== 255) throw new Error(`pixel ${x},${y} is not opaque`);
    }
  }
  return worst;
}

// Every value of each plane, mixed so that neighbours differ.
const noise = (p: number, x: number, y: number) => (x * 7919 + y * 104729 + p * 31) % 256;

describe("I420 to RGBA (WebAssembly)", () => {
  it.each([
    [640, 360],
    [33, 17],
    [16, 2],
    [17, 3],
    [1, 1],
  ])("converts %i×%i within 1 of BT.601", (w, h) => {
    const f = planes(w, h, noise);
    const out = convert(f, false);
    expect(maxError(out, w, h, (x, y) => rgb(at(f, 0, x, y), at(f, 1, x >> 1, y >> 1), at(f, 2, x >> 1, y >> 1)))).toBeLessThanOrEqual(1);
  });

  it.each([
    [1280, 720],
    [35, 19],
    [2, 2],
  ])("converts %i×%i at half size from 2×2 means", (w, h) => {
    const f = planes(w, h, noise);
    const [ow, oh] = halfSize(w, h);
    const out = convert(f, true);
    const mean = (x: number, y: number) =>
      (at(f, 0, 2 * x, 2 * y) + at(f, 0, 2 * x + 1, 2 * y) + at(f, 0, 2 * x, 2 * y + 1) + at(f, 0, 2 * x + 1, 2 * y + 1)) / 4;
    // The means are rounded twice (rows, then columns): one more level.
    expect(maxError(out, ow, oh, (x, y) => rgb(mean(x, y), at(f, 1, x, y), at(f, 2, x, y)))).toBeLessThanOrEqual(2);
  });

  it.each([
    ["white", 235, 128, 128, [255, 255, 255]],
    ["black", 16, 128, 128, [0, 0, 0]],
    ["red", 81, 90, 240, [255, 0, 0]],
    ["green", 145, 54, 34, [0, 255, 0]],
    ["blue", 41, 240, 110, [0, 0, 255]],
  ])("keeps %s", (_name, luma, cb, cr, want) => {
    const f = planes(18, 4, (p) => [luma, cb, cr][p]!);
    const out = convert(f, false);
    expect(maxError(out, 18, 4, () => want)).toBeLessThanOrEqual(1);
  });
});

// A decoded frame as the painter sees it.
class FakeFrame {
  closed = false;
  copyFails = false;
  readonly displayWidth: number;
  readonly displayHeight: number;
  readonly visibleRect: { width: number; height: number };
  constructor(
    private readonly f: Planes,
    readonly format = "I420",
  ) {
    this.displayWidth = f.w;
    this.displayHeight = f.h;
    this.visibleRect = { width: f.w, height: f.h };
  }
  allocationSize(): number {
    return this.f.data.length;
  }
  copyTo(dest: Uint8Array): Promise<PlaneLayout[]> {
    if (this.closed || this.copyFails) return Promise.reject(new Error("cannot copy"));
    dest.set(this.f.data);
    return Promise.resolve(this.f.layout);
  }
  close(): void {
    this.closed = true;
  }
}

function painter(opts: { converter?: Promise<WebAssembly.Module | null>; shown?: { width: number; height: number } } = {}) {
  const canvas: PaintCanvas = { width: 0, height: 0 };
  const puts: { width: number; height: number; first: number[] }[] = [];
  const draws: unknown[] = [];
  const ctx = {
    drawImage: (img: unknown) => draws.push(img),
    putImageData: (img: { width: number; height: number; data: Uint8ClampedArray }) =>
      puts.push({ width: img.width, height: img.height, first: [...img.data.slice(0, 4)] }),
  } as unknown as PaintContext;
  let drawn = 0;
  const p = new FramePainter(
    canvas,
    ctx,
    () => drawn++,
    opts.converter ?? Promise.resolve(module),
    () => opts.shown ?? { width: 0, height: 0 },
    (data, width, height) => ({ data, width, height }) as ImageData,
  );
  return { p, canvas, puts, draws, drawn: () => drawn };
}

const settle = () => new Promise((r) => setTimeout(r, 0));
const white = () => planes(32, 18, (p) => [235, 128, 128][p]!);
const frame = (f: Planes, format?: string) => new FakeFrame(f, format) as unknown as VideoFrame & FakeFrame;

describe("FramePainter", () => {
  it("converts an I420 frame and puts it on the canvas", async () => {
    const t = painter();
    await settle();
    const f = frame(white());
    t.p.paint(f);
    await settle();
    expect(t.draws).toEqual([]);
    expect(t.puts).toEqual([{ width: 32, height: 18, first: [255, 255, 255, 255] }]);
    expect([t.canvas.width, t.canvas.height]).toEqual([32, 18]);
    expect(t.drawn()).toBe(1);
    expect(f.closed).toBe(true);
  });

  it("lets the webview draw until the converter is ready, and where there is none", async () => {
    const never = new Promise<WebAssembly.Module | null>(() => undefined);
    for (const t of [painter({ converter: never }), painter({ converter: Promise.resolve(null) })]) {
      await settle();
      const f = frame(white());
      t.p.paint(f);
      expect(t.draws).toEqual([f]);
      expect(t.puts).toEqual([]);
      expect(t.drawn()).toBe(1);
      expect(f.closed).toBe(true);
    }
  });

  it("lets the webview draw formats other than I420", async () => {
    const t = painter();
    await settle();
    const f = frame(white(), "NV12");
    t.p.paint(f);
    expect(t.draws).toEqual([f]);
    expect(f.closed).toBe(true);
  });

  it("copies one frame at a time and draws the newest of those waiting", async () => {
    const t = painter();
    await settle();
    const [a, b, c] = [frame(white()), frame(white()), frame(white())];
    t.p.paint(a);
    t.p.paint(b);
    t.p.paint(c);
    expect(b.closed).toBe(true); // replaced by c before it was copied
    await settle();
    expect(t.puts).toHaveLength(2);
    expect([a.closed, c.closed]).toEqual([true, true]);
    expect(t.drawn()).toBe(2);
  });

  it("converts at half size a frame shown at half its size or less", async () => {
    const big = painter({ shown: { width: 16, height: 9 } });
    const small = painter({ shown: { width: 17, height: 9 } });
    await settle();
    big.p.paint(frame(white()));
    small.p.paint(frame(white()));
    await settle();
    expect(big.puts).toEqual([{ width: 16, height: 9, first: [255, 255, 255, 255] }]);
    expect([big.canvas.width, big.canvas.height]).toEqual([16, 9]);
    expect(small.puts[0]).toMatchObject({ width: 32, height: 18 });
  });

  it("keeps a frame too small to halve at full size", async () => {
    const t = painter({ shown: { width: 0.5, height: 0.5 } });
    await settle();
    t.p.paint(frame(planes(1, 1, (p) => [235, 128, 128][p]!)));
    await settle();
    expect(t.puts).toEqual([{ width: 1, height: 1, first: [255, 255, 255, 255] }]);
  });

  it("lets the webview draw a tile whose frames cannot be copied", async () => {
    const t = painter();
    await settle();
    const [a, b] = [frame(white()), frame(white())];
    a.copyFails = true;
    t.p.paint(a);
    await settle();
    expect(a.closed).toBe(true);
    expect(t.drawn()).toBe(0);
    t.p.paint(b);
    expect(t.draws).toEqual([b]);
    expect(t.drawn()).toBe(1);
  });

  it("draws nothing after close, and closes what it was given", async () => {
    const t = painter();
    await settle();
    const [a, b] = [frame(white()), frame(white())];
    t.p.paint(a);
    t.p.paint(b);
    t.p.close();
    const c = frame(white());
    t.p.paint(c);
    await settle();
    expect(t.puts).toEqual([]);
    expect([a.closed, b.closed, c.closed]).toEqual([true, true, true]);
  });
});
