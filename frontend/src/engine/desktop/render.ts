// The webview end of the render socket (media/render in Go): encoded VP8
// frames arrive as binary WebSocket messages, one VideoDecoder per visible
// track turns them into VideoFrames, and each track is a FrameFeed that
// tiles subscribe to. A track nobody subscribes to is not sent by Go and
// not decoded here.
//
// Message header (big-endian), then the frame:
//   0 u8 type (1 = frame)   1 u8 flags (bit 0 keyframe)   2 u16 reserved
//   4 u32 render track id   8 u64 timestamp (µs)

import type { FrameFeed } from "../types";

export const headerSize = 16;
const msgFrame = 1;
const flagKeyframe = 1;

export interface FrameMessage {
  id: number;
  keyframe: boolean;
  timestamp: number; // µs
  data: Uint8Array;
}

// Parses one binary message; null if it is not a frame.
export function parseFrame(buf: ArrayBuffer): FrameMessage | null {
  if (buf.byteLength < headerSize) return null;
  const v = new DataView(buf);
  if (v.getUint8(0) !== msgFrame) return null;
  return {
    id: v.getUint32(4),
    keyframe: (v.getUint8(1) & flagKeyframe) !== 0,
    timestamp: Number(v.getBigUint64(8)),
    data: new Uint8Array(buf, headerSize),
  };
}

// Frames drawn per second over the last `windowMs`, from draw times.
export class RateWindow {
  private times: number[] = [];
  private first: number | null = null;
  constructor(private readonly windowMs = 10000) {}

  add(now: number): void {
    this.first ??= now;
    this.times.push(now);
    this.trim(now);
  }

  private trim(now: number): void {
    let drop = 0;
    while (drop < this.times.length && now - this.times[drop]! > this.windowMs) drop++;
    if (drop > 0) this.times.splice(0, drop);
  }

  // Average over the window, or over the time since the first frame when
  // that is shorter (a tile that just started is not reported at a third
  // of its rate).
  rate(now: number): number {
    this.trim(now);
    if (this.first === null) return 0;
    const span = Math.min(this.windowMs, now - this.first);
    return span < 1000 ? 0 : (this.times.length * 1000) / span;
  }
}

type Listener = (frame: VideoFrame) => void;

// Every canvas update makes the webview repaint, and without a GPU
// (WebKitGTK in software, CI under Xvfb) a repaint costs more than
// decoding a frame: WebKit paints the bounding box of what changed into a
// fresh shared bitmap (2.9 MB for a 2×2 grid), and on a VM each new page
// of it is a page fault. So the tiles are drawn together, in one animation
// frame with the newest frame of each track, at most 30 times a second,
// and only when it is time: once every track drawn has a new frame, or
// when waiting one more animation frame would let a track's next frame
// replace the one waiting. Four tiles at 15 fps then repaint 15 times a
// second (each of their frames arriving in its own animation frame made
// up to 30), and a tile at 30 fps still gets every frame. A track whose
// next frame is overdue (a frozen sender, a self view fed keyframes only)
// is not waited for: painting on the timing rule alone, the window drew
// the other tiles at 10–13 of their 15 fps.
const minPaintIntervalMs = 1000 / 30 - 6;
// One animation frame and some arrival jitter.
const waitMarginMs = 1000 / 60 + 4;

interface Waiting {
  frame: VideoFrame;
  since: number; // ms, when it was decoded
}

// Presenter batches the tracks' newest frames into animation frames.
export class Presenter {
  private pending = new Map<RenderTrack, Waiting>();
  // Tracks being drawn (they have listeners).
  private tracks = new Set<RenderTrack>();
  // When each track's latest frame was offered.
  private arrivals = new Map<RenderTrack, number>();
  private scheduled = 0;
  private last = -Infinity;

  constructor(
    private readonly win: Pick<Window, "requestAnimationFrame" | "cancelAnimationFrame"> = window,
    private readonly now: () => number = () => performance.now(),
  ) {}

  offer(track: RenderTrack, frame: VideoFrame): void {
    track.noteFrameTime(frame.timestamp);
    this.tracks.add(track);
    this.arrivals.set(track, this.now());
    const older = this.pending.get(track);
    if (older) {
      older.frame.close();
      track.replaced++;
    }
    this.pending.set(track, { frame, since: this.now() });
    this.schedule();
  }

  private schedule(): void {
    if (!this.scheduled) this.scheduled = this.win.requestAnimationFrame((t) => this.flush(t));
  }

  // Whether the animation frame at time now should paint (see above). A
  // track whose rate is not known yet is painted at once.
  private due(now: number): boolean {
    if (now - this.last < minPaintIntervalMs) return false;
    if (this.roundComplete(now)) return true;
    for (const [track, w] of this.pending) {
      if (now + waitMarginMs >= w.since + (track.frameIntervalMs ?? 0)) return true;
    }
    return false;
  }

  // Whether every track that is sending has a frame waiting.
  private roundComplete(now: number): boolean {
    for (const track of this.tracks) {
      if (this.pending.has(track)) continue;
      const interval = track.frameIntervalMs;
      const at = this.arrivals.get(track);
      if (interval !== null && at !== undefined && now < at + 1.5 * interval + waitMarginMs) return false;
    }
    return true;
  }

  private flush(now: number): void {
    this.scheduled = 0;
    if (!this.due(now)) {
      this.schedule();
      return;
    }
    this.last = now;
    const batch = [...this.pending];
    this.pending.clear();
    for (const [track, w] of batch) track.present(w.frame);
  }

  // Drops a track's waiting frame (it stopped or closed).
  forget(track: RenderTrack): void {
    this.pending.get(track)?.frame.close();
    this.pending.delete(track);
    this.tracks.delete(track);
    this.arrivals.delete(track);
  }

  close(): void {
    if (this.scheduled) this.win.cancelAnimationFrame(this.scheduled);
    this.scheduled = 0;
    for (const w of this.pending.values()) w.frame.close();
    this.pending.clear();
    this.tracks.clear();
    this.arrivals.clear();
  }
}

// One render track: a FrameFeed with its decoder and counters.
export class RenderTrack implements FrameFeed {
  // Each listener with whether it draws the track small.
  private listeners = new Map<Listener, boolean>();
  private decoder: VideoDecoder | null = null;
  private waitKey = true;
  private drawn = 0;
  private rateWindow = new RateWindow();
  width = 0;
  height = 0;
  // Decoded frames replaced by a newer one before they could be drawn.
  replaced = 0;
  // The track's frame interval in media time, once two frames have been
  // seen: a sender's frame rate, or half of it for a tile drawn small.
  frameIntervalMs: number | null = null;
  private lastFrameTime: number | null = null;

  // onDemand hears when the track becomes wanted or not, or changes
  // between full and half rate.
  constructor(
    readonly id: number,
    private readonly onDemand: () => void,
    private readonly presenter: Presenter,
    private readonly now: () => number = () => performance.now(),
  ) {}

  subscribe(onFrame: Listener): () => void {
    const halfBefore = this.half;
    this.listeners.set(onFrame, false);
    if (this.listeners.size === 1 || halfBefore) this.onDemand();
    return () => {
      const halfBefore = this.half;
      if (!this.listeners.delete(onFrame)) return;
      if (this.listeners.size === 0) {
        this.onDemand();
        this.closeDecoder();
        this.presenter.forget(this);
      } else if (this.half !== halfBefore) this.onDemand();
    };
  }

  setHalfRate(onFrame: Listener, half: boolean): void {
    if (!this.listeners.has(onFrame)) return;
    const before = this.half;
    this.listeners.set(onFrame, half);
    if (this.half !== before) this.onDemand();
  }

  get wanted(): boolean {
    return this.listeners.size > 0;
  }

  // Half rate only when every subscriber draws the track small.
  get half(): boolean {
    return this.listeners.size > 0 && [...this.listeners.values()].every((h) => h);
  }

  // A frame from the socket. Go starts a newly wanted track at a keyframe;
  // after a decoder error we wait for the next one.
  push(f: FrameMessage): void {
    if (this.listeners.size === 0) return;
    if (this.waitKey && !f.keyframe) return;
    const dec = this.decoder ?? this.openDecoder();
    if (!dec) return;
    this.waitKey = false;
    try {
      dec.decode(new EncodedVideoChunk({ type: f.keyframe ? "key" : "delta", timestamp: f.timestamp, data: f.data }));
    } catch (e) {
      console.warn("parley: decode failed", this.id, e);
      this.closeDecoder();
    }
  }

  private openDecoder(): VideoDecoder | null {
    try {
      const dec = new VideoDecoder({
        output: (frame) => this.presenter.offer(this, frame),
        error: (e) => {
          console.warn("parley: video decoder error", this.id, e);
          if (this.decoder === dec) this.closeDecoder();
        },
      });
      // Frames arrive in decode order with no B-frames: ask for the lowest
      // latency the decoder offers.
      dec.configure({ codec: "vp8", optimizeForLatency: true });
      this.decoder = dec;
      return dec;
    } catch (e) {
      console.warn("parley: cannot create a VP8 decoder", e);
      return null;
    }
  }

  private closeDecoder(): void {
    const dec = this.decoder;
    this.decoder = null;
    this.waitKey = true;
    if (dec && dec.state !== "closed") {
      try {
        dec.close();
      } catch {
        // already closed by an error
      }
    }
  }

  // timestamp is the frame's media time in µs. A shorter interval counts
  // at once (a tile made large gets every frame from the next one on), a
  // longer one slowly; a gap of a second or more (a pause, a stalled
  // sender) says nothing about the rate.
  noteFrameTime(timestamp: number): void {
    const last = this.lastFrameTime;
    this.lastFrameTime = timestamp;
    if (last === null) return;
    const ms = (timestamp - last) / 1000;
    if (ms <= 0 || ms >= 1000) return;
    const avg = this.frameIntervalMs;
    this.frameIntervalMs = avg === null || ms < avg ? ms : avg + (ms - avg) / 8;
  }

  // Draws a frame: hands it to every listener (called by the Presenter).
  present(frame: VideoFrame): void {
    const ls = [...this.listeners.keys()];
    if (ls.length === 0) {
      frame.close();
      return;
    }
    this.width = frame.displayWidth;
    this.height = frame.displayHeight;
    this.drawn++;
    this.rateWindow.add(this.now());
    // Each listener owns (and closes) its frame.
    for (let i = 0; i < ls.length; i++) {
      const f = i === ls.length - 1 ? frame : frame.clone();
      try {
        ls[i]!(f);
      } catch (e) {
        console.error("parley: frame listener failed", e);
      }
    }
  }

  stats(): { renderId: number; width: number; height: number; framesDecoded: number; decodedFps: number } {
    return {
      renderId: this.id,
      width: this.width,
      height: this.height,
      framesDecoded: this.drawn,
      decodedFps: this.rateWindow.rate(this.now()),
    };
  }

  close(): void {
    this.listeners.clear();
    this.closeDecoder();
    this.presenter.forget(this);
  }
}

// The render socket: one WebSocket for every track, reconnected while the
// engine is in a meeting.
export class RenderSocket {
  private ws: WebSocket | null = null;
  private tracks = new Map<number, RenderTrack>();
  private presenter: Presenter;
  private retry = 0;
  private closed = false;
  private readonly onVisibility = () => this.sendWanted();

  constructor(
    private readonly url: string,
    private readonly win: Window = window,
  ) {
    this.presenter = new Presenter(win);
    win.document?.addEventListener("visibilitychange", this.onVisibility);
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      console.warn("parley: render socket", e);
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => this.sendWanted();
    ws.onmessage = (ev) => {
      if (!(ev.data instanceof ArrayBuffer)) return;
      const f = parseFrame(ev.data);
      if (f) this.tracks.get(f.id)?.push(f);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retry) return;
    this.retry = this.win.setTimeout(() => {
      this.retry = 0;
      this.connect();
    }, 500);
  }

  // The feed of render track id (made on first use).
  track(id: number): RenderTrack {
    let t = this.tracks.get(id);
    if (!t) {
      t = new RenderTrack(id, () => this.sendWanted(), this.presenter);
      this.tracks.set(id, t);
    }
    return t;
  }

  drop(id: number): void {
    const t = this.tracks.get(id);
    if (!t) return;
    t.close();
    this.tracks.delete(id);
    this.sendWanted();
  }

  // Tells Go which tracks have a subscriber, and which of those are drawn
  // small; a hidden window wants none.
  sendWanted(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const hidden = this.win.document?.visibilityState === "hidden";
    const wanted = hidden ? [] : [...this.tracks.values()].filter((t) => t.wanted);
    ws.send(JSON.stringify({ type: "want", ids: wanted.map((t) => t.id), half: wanted.filter((t) => t.half).map((t) => t.id) }));
  }

  stats(): ReturnType<RenderTrack["stats"]>[] {
    return [...this.tracks.values()].map((t) => t.stats());
  }

  close(): void {
    this.closed = true;
    this.win.document?.removeEventListener("visibilitychange", this.onVisibility);
    if (this.retry) this.win.clearTimeout(this.retry);
    for (const t of this.tracks.values()) t.close();
    this.tracks.clear();
    this.presenter.close();
    this.ws?.close();
    this.ws = null;
  }
}
