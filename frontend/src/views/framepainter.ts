// Draws a tile's decoded VideoFrames on its canvas.
//
// WebKitGTK's drawImage(VideoFrame) converts every frame to BGRx through a
// GStreamer pipeline that it starts and stops again for that one frame (a
// streaming thread woken, caps negotiated, a new buffer pool, converter
// and output buffers): 7 ms of the main thread for a 640×360 frame, 15–18
// ms for 1280×720, measured in the window's WebKit. Frames in I420, what
// VP8 decodes to, are therefore copied out (copyTo), converted by the
// WebAssembly converter (0.3 ms) and put on the canvas with putImageData
// (0.9 ms). Other formats, and every frame while the converter is still
// compiling or where it cannot run, go through drawImage.

import { halfSize, I420Converter } from "./i420";

// What a painter needs of a canvas.
export interface PaintCanvas {
  width: number;
  height: number;
}

export type PaintContext = Pick<CanvasRenderingContext2D, "drawImage" | "putImageData">;

// One painter per canvas. One frame is copied at a time; a frame that
// arrives meanwhile waits, and a newer one replaces it. The painter owns
// (and closes) every frame it is given.
export class FramePainter {
  private converter: I420Converter | null = null;
  private copying = false;
  private waiting: VideoFrame | null = null;
  private image: ImageData | null = null;
  private closed = false;

  constructor(
    private readonly canvas: PaintCanvas,
    private readonly ctx: PaintContext,
    private readonly onDrawn: () => void,
    converter: Promise<WebAssembly.Module | null>,
    // The canvas's size on screen in device pixels (0×0 when unknown:
    // never converted at half size then).
    private readonly shownSize: () => { width: number; height: number },
    private readonly newImageData: (data: Uint8ClampedArray<ArrayBuffer>, w: number, h: number) => ImageData = (d, w, h) => new ImageData(d, w, h),
  ) {
    converter
      .then((m) => {
        if (m && !this.closed) this.converter = new I420Converter(m);
      })
      .catch((e: unknown) => console.warn("parley: no I420 converter for this tile; the webview draws its frames", e));
  }

  paint(frame: VideoFrame): void {
    if (this.closed) {
      frame.close();
      return;
    }
    if (this.copying) {
      this.waiting?.close();
      this.waiting = frame;
      return;
    }
    const w = frame.displayWidth;
    const h = frame.displayHeight;
    const rect = frame.visibleRect;
    const conv = this.converter;
    if (!conv || frame.format !== "I420" || !rect || rect.width !== w || rect.height !== h) {
      try {
        this.fit(w, h);
        this.ctx.drawImage(frame, 0, 0);
        this.onDrawn();
      } finally {
        frame.close();
      }
      return;
    }
    this.copying = true;
    frame
      .copyTo(conv.input(frame.allocationSize()))
      .then((layout) => {
        if (this.closed) return;
        // A frame at least twice the size it is shown at is converted
        // at half size: a 720p own view in a grid cell, a screen share
        // in the strip.
        const shown = this.shownSize();
        const half = shown.width >= 1 && shown.height >= 1 && w >= 2 * shown.width && h >= 2 * shown.height;
        const [cw, ch] = half ? halfSize(w, h) : [w, h];
        this.put(conv.convert(layout, w, h, half), cw, ch);
        this.onDrawn();
      })
      .catch((e: unknown) => {
        // A webview whose copyTo or putImageData fails here gets this
        // tile's next frames drawn its own way.
        console.warn("parley: converting a video frame failed; the webview draws this tile from now on", e);
        this.converter = null;
      })
      .finally(() => {
        frame.close();
        this.copying = false;
        const next = this.waiting;
        this.waiting = null;
        if (next) this.paint(next);
      });
  }

  private put(pixels: Uint8ClampedArray<ArrayBuffer>, w: number, h: number): void {
    // The pixels stay where they are unless the converter's memory grew
    // (which replaces its buffer) or the frame size changed.
    const img = this.image;
    if (!img || img.width !== w || img.height !== h || img.data.buffer !== pixels.buffer || img.data.byteOffset !== pixels.byteOffset) {
      this.image = this.newImageData(pixels, w, h);
    }
    this.fit(w, h);
    this.ctx.putImageData(this.image!, 0, 0);
  }

  // Sizing a canvas clears it: only when the frame size changes.
  private fit(w: number, h: number): void {
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
  }

  close(): void {
    this.closed = true;
    this.waiting?.close();
    this.waiting = null;
  }
}
