// Tile geometry as pure functions: the grid (up to 49 tiles, then a "+N"
// tile) and the stage (one large tile — a screen share or a pinned tile —
// with the others in a strip).

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface GridOptions {
  aspect?: number; // tile width / height
  gap?: number;
  maxTiles?: number; // most tiles shown at once, "+N" included
  minTileWidth?: number; // below this, fewer tiles and a "+N" tile
}

export interface GridLayout {
  cols: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
  // One rect per shown slot; when overflow > 0 the last rect is the "+N" tile.
  rects: Rect[];
  // Real tiles shown (excluding the "+N" tile).
  visible: number;
  // Tiles not shown, counted by the "+N" tile.
  overflow: number;
}

const defaults = { aspect: 16 / 9, gap: 8, maxTiles: 49, minTileWidth: 128 };

// The best column count for n tiles: the one that makes tiles largest.
function bestFit(n: number, width: number, height: number, aspect: number, gap: number) {
  let best = { cols: 1, rows: n, tileWidth: 0, tileHeight: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const wByWidth = (width - gap * (cols - 1)) / cols;
    const wByHeight = ((height - gap * (rows - 1)) / rows) * aspect;
    const w = Math.floor(Math.min(wByWidth, wByHeight));
    if (w > best.tileWidth) best = { cols, rows, tileWidth: w, tileHeight: Math.floor(w / aspect) };
  }
  return best;
}

export function gridLayout(count: number, width: number, height: number, options: GridOptions = {}): GridLayout {
  const { aspect, gap, maxTiles, minTileWidth } = { ...defaults, ...options };
  width = Math.max(0, width);
  height = Math.max(0, height);
  if (count <= 0 || width === 0 || height === 0) {
    return { cols: 0, rows: 0, tileWidth: 0, tileHeight: 0, rects: [], visible: 0, overflow: 0 };
  }
  // Slots: all tiles if they fit, else as many as keep tiles at least
  // minTileWidth wide, the last slot being "+N".
  let slots = Math.min(count, Math.max(1, maxTiles));
  let fit = bestFit(slots, width, height, aspect, gap);
  while (slots > 2 && fit.tileWidth < minTileWidth) {
    slots--;
    fit = bestFit(slots, width, height, aspect, gap);
  }
  const overflow = count > slots ? count - (slots - 1) : 0;
  const visible = overflow > 0 ? slots - 1 : slots;
  const { cols, rows, tileWidth, tileHeight } = fit;
  const totalH = rows * tileHeight + (rows - 1) * gap;
  const top = Math.floor((height - totalH) / 2);
  const rects: Rect[] = [];
  for (let i = 0; i < slots; i++) {
    const row = Math.floor(i / cols);
    const inRow = row === rows - 1 ? slots - row * cols : cols;
    const col = i - row * cols;
    const rowW = inRow * tileWidth + (inRow - 1) * gap;
    const left = Math.floor((width - rowW) / 2);
    rects.push({ x: left + col * (tileWidth + gap), y: top + row * (tileHeight + gap), w: tileWidth, h: tileHeight });
  }
  return { cols, rows, tileWidth, tileHeight, rects, visible, overflow };
}

export interface StageLayout {
  main: Rect;
  strip: Rect[]; // as in GridLayout.rects: the last one is "+N" when overflow > 0
  visible: number;
  overflow: number;
  side: "right" | "bottom" | "none";
}

export interface StageOptions {
  aspect?: number;
  gap?: number;
}

// A large main tile with `count` other tiles in a strip: on the right in a
// landscape window, along the bottom in a portrait one.
export function stageLayout(count: number, width: number, height: number, options: StageOptions = {}): StageLayout {
  const aspect = options.aspect ?? 16 / 9;
  const gap = options.gap ?? 8;
  width = Math.max(0, width);
  height = Math.max(0, height);
  if (count <= 0) {
    return { main: { x: 0, y: 0, w: width, h: height }, strip: [], visible: 0, overflow: 0, side: "none" };
  }
  const landscape = width >= height * 1.2;
  let main: Rect;
  let slotRects: (i: number) => Rect;
  let capacity: number;
  let side: "right" | "bottom";
  if (landscape) {
    side = "right";
    const stripW = Math.round(Math.min(280, Math.max(140, width * 0.2)));
    const tileH = Math.floor(stripW / aspect);
    capacity = Math.max(1, Math.floor((height + gap) / (tileH + gap)));
    const shown = Math.min(count, capacity);
    const totalH = shown * tileH + (shown - 1) * gap;
    const top = Math.max(0, Math.floor((height - totalH) / 2));
    main = { x: 0, y: 0, w: width - stripW - gap, h: height };
    slotRects = (i) => ({ x: width - stripW, y: top + i * (tileH + gap), w: stripW, h: tileH });
  } else {
    side = "bottom";
    const stripH = Math.round(Math.min(160, Math.max(72, height * 0.2)));
    const tileW = Math.floor(stripH * aspect);
    capacity = Math.max(1, Math.floor((width + gap) / (tileW + gap)));
    const shown = Math.min(count, capacity);
    const totalW = shown * tileW + (shown - 1) * gap;
    const left = Math.max(0, Math.floor((width - totalW) / 2));
    main = { x: 0, y: 0, w: width, h: height - stripH - gap };
    slotRects = (i) => ({ x: left + i * (tileW + gap), y: height - stripH, w: tileW, h: stripH });
  }
  const slots = Math.min(count, capacity);
  const overflow = count > slots ? count - (slots - 1) : 0;
  const visible = overflow > 0 ? slots - 1 : slots;
  const strip: Rect[] = [];
  for (let i = 0; i < slots; i++) strip.push(slotRects(i));
  return { main, strip, visible, overflow, side };
}

// Fits a box of the given aspect inside r, centred (letterboxing).
export function fitAspect(r: Rect, aspect: number): Rect {
  if (r.w <= 0 || r.h <= 0) return r;
  let w = r.w;
  let h = Math.floor(w / aspect);
  if (h > r.h) {
    h = r.h;
    w = Math.floor(h * aspect);
  }
  return { x: r.x + Math.floor((r.w - w) / 2), y: r.y + Math.floor((r.h - h) / 2), w, h };
}

// Orders ids for display so that the active speaker is among the first
// `visible` (swapping them into the last visible slot if needed); everyone
// else keeps their order.
export function keepVisible<T>(items: T[], visible: number, isActive: (t: T) => boolean): T[] {
  const idx = items.findIndex(isActive);
  if (idx < 0 || visible <= 0 || idx < visible) return items;
  const out = [...items];
  const [active] = out.splice(idx, 1);
  out.splice(visible - 1, 0, active!);
  return out;
}

// Whether a tile's video is drawn at the full frame rate. Painting video
// is most of what the desktop window spends CPU on, so tiles drawn small
// take half the frames (15 of a camera's 30): your own view, the strip
// beside a large tile, and a grid of three or more — except the active
// speaker, whom people watch. Screen shares are always whole (their frames
// are few and each may carry text).
export function fullFrameRate(
  tile: { self: boolean; screen: boolean; active: boolean },
  place: { layout: "grid" | "stage"; main: boolean; count: number },
): boolean {
  if (tile.screen) return true;
  if (tile.self) return false;
  if (place.layout === "stage") return place.main;
  return place.count <= 2 || tile.active;
}
