// One video tile. It can be fed a MediaStream (browser engine: a <video>)
// or decoded VideoFrames (desktop engine: drawn on a <canvas>), and it
// reports what it shows through data-* attributes, a contract for tests and
// tools:
//
//   data-tile                     on every tile
//   data-name="<display name>"
//   data-state="connecting|live|video-off|stale"
//                                 live = a frame was rendered in the last
//                                 second (requestVideoFrameCallback, or the
//                                 frame feed's own frames), never a guess
//   data-screen                   on screen-share tiles
//   data-muted="true|false"       the participant's microphone
//   data-self                     your own tile
//   data-speaking="true|false", data-active (active speaker), data-pinned
//   data-reconnecting             the participant's connection dropped and
//                                 they may come back (a "reconnecting…" badge)
//   data-paused                   a camera tile on the stage has had no frame
//                                 for pausedAfterMs: its last picture is
//                                 dimmed under a "video paused" badge
//   data-decoding="true|false"    whether the tile takes frames: a tile
//                                 laid out off the stage (hidden) does
//                                 not, so its video is not decoded
//   data-rate="full|half"         a tile drawn small asks for half the
//                                 frames (desktop engine; fullFrameRate)
//   [data-stats]                  the stats overlay's text, when it is on

import { h } from "../dom";
import type { VideoSource } from "../engine/types";
import { initials, type TileModel } from "../meeting/state";
import type { Rect } from "../meeting/layout";
import { FramePainter } from "./framepainter";
import { converterModule } from "./i420";
import { icon } from "./icons";

export type TileState = "connecting" | "live" | "video-off" | "stale";

export const liveWindowMs = 1000;

// Long enough that a camera switch or a keyframe after loss (a second or
// less) passes without the sign.
export const pausedAfterMs = 3000;

// The pure rule behind data-state.
export function tileState(opts: {
  videoOff: boolean;
  hasSource: boolean;
  lastFrameAt: number | null;
  now: number;
}): TileState {
  if (opts.videoOff) return "video-off";
  if (!opts.hasSource || opts.lastFrameAt === null) return "connecting";
  return opts.now - opts.lastFrameAt <= liveWindowMs ? "live" : "stale";
}

// Whether a tile says its video is paused: a camera whose frames stopped
// while the tile was waiting for them (since it came on the stage). Not a
// screen: a still screen may send no frames at all, and looks the same.
export function videoPaused(opts: {
  state: TileState;
  screen: boolean;
  lastFrameAt: number | null;
  waitingSince: number;
  now: number;
}): boolean {
  if (opts.state !== "stale" || opts.screen || opts.lastFrameAt === null) return false;
  return opts.now - Math.max(opts.lastFrameAt, opts.waitingSince) >= pausedAfterMs;
}

type VideoWithRVFC = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: () => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

export class Tile {
  readonly el: HTMLElement;
  private media: HTMLElement;
  private avatar: HTMLElement;
  private label: HTMLElement;
  private nameEl: HTMLElement;
  private micIcon: HTMLElement;
  private quality: HTMLElement;
  private pinButton: HTMLButtonElement;
  private badge: HTMLElement;
  private source: VideoSource | null = null;
  private video: VideoWithRVFC | null = null;
  private unsubscribeFeed: (() => void) | null = null;
  private onFeedFrame: ((frame: VideoFrame) => void) | null = null;
  private halfRate = false;
  private rvfcHandle = 0;
  private lastFrameAt: number | null = null;
  private lastFrameCount = 0;
  // When the tile last started to take frames (source set, or back on
  // the stage): frames missed while it took none are not a pause.
  private waitingSince = performance.now();
  private model: TileModel;
  private visible = true;
  private statsEl: HTMLElement | null = null;

  constructor(
    model: TileModel,
    private readonly onPin: (tileId: string) => void,
  ) {
    this.model = model;
    this.media = h("div", { class: "tile-media" });
    this.avatar = h("div", { class: "avatar", "aria-hidden": "true" });
    this.nameEl = h("span", { class: "tile-name" });
    this.micIcon = h("span", { class: "tile-mic" });
    this.quality = h("span", { class: "quality", "aria-hidden": "true" }, h("i"), h("i"), h("i"));
    this.label = h("div", { class: "tile-label" }, this.micIcon, this.nameEl, this.quality);
    this.pinButton = h("button", {
      class: "tile-pin",
      type: "button",
      onclick: (ev: Event) => {
        ev.stopPropagation();
        this.onPin(this.model.id);
      },
    });
    this.pinButton.append(icon("pin"));
    this.badge = h("div", { class: "tile-badge", hidden: true });
    this.el = h(
      "div",
      { class: "tile", "data-tile": true, "data-state": "connecting", "data-rate": "full", role: "group" },
      this.media,
      this.avatar,
      this.label,
      this.badge,
      this.pinButton,
    );
    this.el.addEventListener("dblclick", () => this.onPin(this.model.id));
    this.update(model);
  }

  get modelNow(): TileModel {
    return this.model;
  }

  update(m: TileModel): void {
    const prev = this.model;
    const first = this.el.dataset.name === undefined;
    this.model = m;
    const el = this.el;
    // Speaking and quality change several times a second: touch the DOM
    // only where something changed.
    setData(el, "name", m.name);
    setData(el, "muted", String(m.micMuted));
    setData(el, "speaking", String(m.speaking));
    setData(el, "quality", m.quality);
    toggleAttr(el, "data-screen", m.screen);
    toggleAttr(el, "data-self", m.self);
    toggleAttr(el, "data-active", m.active);
    toggleAttr(el, "data-pinned", m.pinned);
    toggleAttr(el, "data-reconnecting", m.reconnecting);
    if (first || prev.name !== m.name || prev.self !== m.self || prev.screen !== m.screen) {
      const who = m.self ? `${m.name} (you)` : m.name;
      el.setAttribute("aria-label", m.screen ? `${who}: screen` : who);
      this.nameEl.textContent = m.screen ? `${who} · screen` : who;
      this.avatar.textContent = initials(m.name);
    }
    if (first || prev.micMuted !== m.micMuted || prev.screen !== m.screen) {
      // A screen says so first, where a small tile that cuts its label
      // still shows it; the person's microphone is on their camera tile.
      if (m.screen) this.micIcon.replaceChildren(icon("screen", "screen share"));
      else this.micIcon.replaceChildren(m.micMuted ? icon("mic-off", "microphone off") : icon("mic", "microphone on"));
      this.micIcon.classList.toggle("off", m.micMuted && !m.screen);
    }
    if (first || prev.pinned !== m.pinned || prev.name !== m.name) {
      const who = m.self ? `${m.name} (you)` : m.name;
      this.pinButton.setAttribute("aria-label", m.pinned ? `Unpin ${who}` : `Pin ${who}`);
      this.pinButton.setAttribute("aria-pressed", String(m.pinned));
    }
    this.setSource(m.source);
    this.refresh(performance.now());
  }

  private rect = "";

  setRect(r: Rect | null): void {
    const key = r ? `${r.x},${r.y},${r.w},${r.h}` : "hidden";
    if (key === this.rect) return;
    this.rect = key;
    if (!r) {
      this.el.hidden = true;
      this.setVisible(false);
      return;
    }
    this.el.hidden = false;
    this.setVisible(true);
    const s = this.el.style;
    s.transform = `translate(${r.x}px, ${r.y}px)`;
    s.width = `${r.w}px`;
    s.height = `${r.h}px`;
    this.el.classList.toggle("small", r.w < 220);
  }

  // Recomputes data-state; called after frames and on a short interval.
  refresh(now: number): void {
    if (this.video && !this.video.requestVideoFrameCallback) {
      // No requestVideoFrameCallback: count decoded frames instead.
      const q = this.video.getVideoPlaybackQuality?.();
      const n = q ? q.totalVideoFrames : 0;
      if (n > this.lastFrameCount) {
        this.lastFrameCount = n;
        this.lastFrameAt = now;
      }
    }
    const state = tileState({
      videoOff: this.model.videoOff,
      hasSource: this.source !== null,
      lastFrameAt: this.lastFrameAt,
      now,
    });
    if (this.el.dataset.state !== state) this.el.dataset.state = state;
    const paused =
      this.visible &&
      videoPaused({
        state,
        screen: this.model.screen,
        lastFrameAt: this.lastFrameAt,
        waitingSince: this.waitingSince,
        now,
      });
    toggleAttr(this.el, "data-paused", paused);
    // Reconnecting says more: it is why the video stopped.
    const badge = this.model.reconnecting ? "reconnecting…" : paused ? "video paused" : null;
    this.badge.hidden = badge === null;
    if (badge !== null && this.badge.textContent !== badge) this.badge.textContent = badge;
  }

  private setSource(src: VideoSource | null): void {
    if (sameSource(src, this.source)) return;
    this.detach();
    this.source = src;
    this.lastFrameAt = null;
    this.lastFrameCount = 0;
    this.waitingSince = performance.now();
    if (!src) {
      this.setDecoding();
      return;
    }
    if (src.type === "stream") {
      // No autoplay: a tile off the stage keeps its video paused.
      const v = h("video", { playsinline: true, muted: true }) as VideoWithRVFC;
      v.muted = true;
      v.srcObject = src.stream;
      if (this.model.self && !this.model.screen) v.classList.add("mirror");
      if (this.model.screen) v.classList.add("contain");
      this.video = v;
      this.media.replaceChildren(v);
      if (this.visible) void v.play().catch(() => undefined);
      else src.setWanted?.(false);
      if (this.halfRate) src.setHalfRate?.(true);
      this.watchFrames(v);
    } else {
      this.media.replaceChildren(h("canvas", {}));
      if (this.visible) this.subscribeFeed();
    }
    this.setDecoding();
  }

  // A tile off the stage stops taking frames: the desktop engine then
  // neither decodes its track nor receives it from Go; a <video> pauses,
  // and the host stops sending it.
  private setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    if (visible) this.waitingSince = performance.now();
    const src = this.source;
    if (src?.type === "frames") {
      if (visible) this.subscribeFeed();
      else {
        this.unsubscribeFeed?.();
        this.unsubscribeFeed = null;
      }
    } else if (this.video) {
      if (src?.type === "stream") src.setWanted?.(visible);
      if (visible) void this.video.play().catch(() => undefined);
      else this.video.pause();
    }
    this.setDecoding();
  }

  private setDecoding(): void {
    setData(this.el, "decoding", String(this.source !== null && this.visible));
  }

  private subscribeFeed(): void {
    const src = this.source;
    const c = this.media.querySelector("canvas");
    if (src?.type !== "frames" || !c || this.unsubscribeFeed) return;
    const ctx = c.getContext("2d");
    if (!ctx) return;
    const painter = new FramePainter(
      c,
      ctx,
      () => {
        this.lastFrameAt = performance.now();
        this.refresh(this.lastFrameAt);
      },
      converterModule(),
      () => ({ width: c.clientWidth * devicePixelRatio, height: c.clientHeight * devicePixelRatio }),
    );
    const onFrame = (frame: VideoFrame) => painter.paint(frame);
    const unsubscribe = src.feed.subscribe(onFrame);
    this.onFeedFrame = onFrame;
    this.unsubscribeFeed = () => {
      unsubscribe();
      painter.close();
      if (this.onFeedFrame === onFrame) this.onFeedFrame = null;
    };
    if (this.halfRate) src.feed.setHalfRate?.(onFrame, true);
  }

  // A tile drawn small may take half the frames (see fullFrameRate).
  setHalfRate(half: boolean): void {
    if (half === this.halfRate) return;
    this.halfRate = half;
    this.el.dataset.rate = half ? "half" : "full";
    const src = this.source;
    if (src?.type === "frames" && this.onFeedFrame) src.feed.setHalfRate?.(this.onFeedFrame, half);
    else if (src?.type === "stream") src.setHalfRate?.(half);
  }

  private watchFrames(v: VideoWithRVFC): void {
    if (!v.requestVideoFrameCallback) return;
    const onFrame = () => {
      if (this.video !== v) return;
      this.lastFrameAt = performance.now();
      if (this.el.dataset.state !== "live") this.refresh(this.lastFrameAt);
      this.rvfcHandle = v.requestVideoFrameCallback!(onFrame);
    };
    this.rvfcHandle = v.requestVideoFrameCallback(onFrame);
  }

  private detach(): void {
    if (this.video) {
      if (this.rvfcHandle && this.video.cancelVideoFrameCallback) this.video.cancelVideoFrameCallback(this.rvfcHandle);
      this.video.srcObject = null;
      this.video = null;
    }
    this.unsubscribeFeed?.();
    this.unsubscribeFeed = null;
    this.media.replaceChildren();
  }

  // Shows the stats overlay's lines (null hides it).
  setStats(lines: string[] | null): void {
    if (!lines) {
      this.statsEl?.remove();
      this.statsEl = null;
      return;
    }
    if (!this.statsEl) {
      this.statsEl = h("div", { class: "tile-stats", "data-stats": true, "aria-hidden": "true" });
      this.el.append(this.statsEl);
    }
    const text = lines.join("\n");
    if (this.statsEl.textContent !== text) this.statsEl.textContent = text;
  }

  destroy(): void {
    this.detach();
    this.el.remove();
  }
}

function sameSource(a: VideoSource | null, b: VideoSource | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.type !== b.type) return false;
  if (a.type === "stream" && b.type === "stream") {
    const ta = a.stream.getVideoTracks()[0];
    const tb = b.stream.getVideoTracks()[0];
    return ta !== undefined && ta === tb;
  }
  return a.type === "frames" && b.type === "frames" && a.feed === b.feed;
}

function setData(el: HTMLElement, key: string, value: string): void {
  if (el.dataset[key] !== value) el.dataset[key] = value;
}

function toggleAttr(el: HTMLElement, name: string, on: boolean): void {
  if (on) {
    if (!el.hasAttribute(name)) el.setAttribute(name, "");
  } else if (el.hasAttribute(name)) {
    el.removeAttribute(name);
  }
}
