import { describe, expect, it } from "vitest";
import { fitAspect, fullFrameRate, gridLayout, keepVisible, stageLayout, type Rect } from "../src/meeting/layout";

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

// Collects the faults and expects none: an expect per pair of 100 tiles
// took the grid test to within a second of vitest's 5 s timeout.
function assertSane(rects: Rect[], width: number, height: number): void {
  const faults: string[] = [];
  rects.forEach((r, i) => {
    if (!(r.w > 0 && r.h > 0 && r.x >= 0 && r.y >= 0 && r.x + r.w <= width && r.y + r.h <= height))
      faults.push(`tile ${i} ${JSON.stringify(r)} is empty or outside ${width}×${height}`);
  });
  for (let i = 0; i < rects.length; i++)
    for (let j = i + 1; j < rects.length; j++) if (overlaps(rects[i]!, rects[j]!)) faults.push(`tiles ${i} and ${j} overlap`);
  expect(faults).toEqual([]);
}

describe("gridLayout", () => {
  it("gives one tile the whole area at 16:9", () => {
    const L = gridLayout(1, 1280, 720);
    expect(L).toMatchObject({ cols: 1, rows: 1, visible: 1, overflow: 0 });
    expect(L.rects[0]).toEqual({ x: 0, y: 0, w: 1280, h: 720 });
  });

  it.each([
    [2, 1264, 640, 2, 1],
    [3, 1264, 640, 2, 2],
    [4, 1264, 640, 2, 2],
    [6, 1264, 640, 3, 2],
    [9, 1264, 640, 3, 3],
    [3, 784, 520, 2, 2],
    [2, 400, 800, 1, 2],
  ])("%i tiles in %i×%i use %i columns, %i rows", (n, w, h, cols, rows) => {
    const L = gridLayout(n, w, h);
    expect([L.cols, L.rows]).toEqual([cols, rows]);
    expect(L.rects).toHaveLength(n);
    assertSane(L.rects, w, h);
  });

  it("keeps tiles at the aspect ratio and centres the last row", () => {
    const L = gridLayout(3, 1264, 640, { gap: 8 });
    for (const r of L.rects) expect(Math.abs(r.w / r.h - 16 / 9)).toBeLessThan(0.02);
    const [a, b, c] = L.rects as [Rect, Rect, Rect];
    expect(a.y).toBe(b.y);
    expect(c.y).toBeGreaterThan(a.y);
    // The single tile of the last row sits in the middle.
    expect(Math.abs(c.x + c.w / 2 - 1264 / 2)).toBeLessThanOrEqual(1);
  });

  it("fits 49 tiles in a large window", () => {
    const L = gridLayout(49, 1920, 1080);
    expect(L).toMatchObject({ cols: 7, rows: 7, visible: 49, overflow: 0 });
    assertSane(L.rects, 1920, 1080);
  });

  it("shows 48 tiles and a +N tile beyond 49", () => {
    const L = gridLayout(100, 1920, 1080);
    expect(L.visible).toBe(48);
    expect(L.overflow).toBe(52);
    expect(L.rects).toHaveLength(49);
    assertSane(L.rects, 1920, 1080);
  });

  it("uses fewer, readable tiles in a small window", () => {
    const L = gridLayout(49, 784, 520);
    expect(L.tileWidth).toBeGreaterThanOrEqual(128);
    expect(L.visible + L.overflow).toBe(49);
    expect(L.overflow).toBeGreaterThan(0);
    expect(L.rects).toHaveLength(L.visible + 1);
    assertSane(L.rects, 784, 520);
  });

  it("never overlaps or leaves the area for any count", () => {
    for (const [w, h] of [
      [1264, 640],
      [784, 520],
      [375, 600],
      [1920, 1000],
    ] as const) {
      for (let n = 1; n <= 100; n++) {
        const L = gridLayout(n, w, h);
        expect(L.visible + L.overflow).toBe(n);
        expect(L.rects.length).toBe(L.overflow > 0 ? L.visible + 1 : L.visible);
        assertSane(L.rects, w, h);
      }
    }
  });

  it("is empty for no tiles or no room", () => {
    expect(gridLayout(0, 800, 600).rects).toEqual([]);
    expect(gridLayout(3, 0, 600).rects).toEqual([]);
  });
});

describe("stageLayout", () => {
  it("puts the strip on the right in a landscape window", () => {
    const L = stageLayout(3, 1264, 640);
    expect(L.side).toBe("right");
    expect(L.strip).toHaveLength(3);
    expect(L.main.w).toBeGreaterThan(900);
    assertSane([L.main, ...L.strip], 1264, 640);
  });

  it("puts the strip at the bottom in a portrait window", () => {
    const L = stageLayout(3, 500, 800);
    expect(L.side).toBe("bottom");
    assertSane([L.main, ...L.strip], 500, 800);
  });

  it("uses the whole area when nobody else is there", () => {
    expect(stageLayout(0, 800, 600).main).toEqual({ x: 0, y: 0, w: 800, h: 600 });
  });

  it("ends the strip with +N when it is full", () => {
    const L = stageLayout(30, 1264, 640);
    expect(L.overflow).toBeGreaterThan(0);
    expect(L.visible + L.overflow).toBe(30);
    expect(L.strip).toHaveLength(L.visible + 1);
    assertSane([L.main, ...L.strip], 1264, 640);
  });

  it("stays sane at 800×600", () => {
    for (let n = 0; n < 20; n++) {
      const L = stageLayout(n, 784, 520);
      assertSane([L.main, ...L.strip], 784, 520);
    }
  });
});

describe("keepVisible", () => {
  const isB = (x: string) => x === "e";
  it("leaves the order alone when the active one is visible", () => {
    expect(keepVisible(["a", "b", "e"], 3, isB)).toEqual(["a", "b", "e"]);
  });
  it("moves the active one into the last visible slot", () => {
    expect(keepVisible(["a", "b", "c", "d", "e"], 3, isB)).toEqual(["a", "b", "e", "c", "d"]);
  });
  it("does nothing without an active one", () => {
    expect(keepVisible(["a", "b"], 1, () => false)).toEqual(["a", "b"]);
  });
});

describe("fitAspect", () => {
  it("letterboxes a wide box", () => {
    expect(fitAspect({ x: 0, y: 0, w: 1000, h: 300 }, 16 / 9)).toEqual({ x: 233, y: 0, w: 533, h: 300 });
  });
});

describe("fullFrameRate", () => {
  const cam = { self: false, screen: false, active: false };
  it.each([
    ["a 1:1 call", cam, { layout: "grid", main: false, count: 2 }, true],
    ["a grid of three", cam, { layout: "grid", main: false, count: 3 }, false],
    ["the active speaker in a grid of four", { ...cam, active: true }, { layout: "grid", main: false, count: 4 }, true],
    ["your own view, even 1:1", { ...cam, self: true }, { layout: "grid", main: false, count: 2 }, false],
    ["the pinned tile", cam, { layout: "stage", main: true, count: 5 }, true],
    ["the strip beside it, active speaker or not", { ...cam, active: true }, { layout: "stage", main: false, count: 5 }, false],
    ["a screen share in the strip", { ...cam, screen: true }, { layout: "stage", main: false, count: 5 }, true],
    ["your own screen share", { ...cam, self: true, screen: true }, { layout: "stage", main: true, count: 2 }, true],
  ] as const)("%s: %s", (_, tile, place, want) => {
    expect(fullFrameRate(tile, place)).toBe(want);
  });
});
