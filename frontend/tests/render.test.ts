import { describe, expect, it } from "vitest";
import { Presenter, RenderTrack } from "../src/engine/desktop/render";

// A Presenter whose animation frames never run: these tests only count
// what the track tells the render socket.
const idle = { requestAnimationFrame: () => 1, cancelAnimationFrame: () => undefined };

function track() {
  const changes: { wanted: boolean; half: boolean }[] = [];
  const t: RenderTrack = new RenderTrack(7, () => changes.push({ wanted: t.wanted, half: t.half }), new Presenter(idle));
  return { t, changes };
}

describe("RenderTrack half rate", () => {
  it("is half only while every subscriber draws it small", () => {
    const { t, changes } = track();
    const a = () => undefined;
    const b = () => undefined;
    const unA = t.subscribe(a);
    expect(changes).toEqual([{ wanted: true, half: false }]);
    t.setHalfRate(a, true);
    expect(t.half).toBe(true);
    const unB = t.subscribe(b); // a second tile, drawn large
    expect(t.half).toBe(false);
    t.setHalfRate(b, true);
    expect(t.half).toBe(true);
    t.setHalfRate(b, true); // no change, no message
    unB();
    expect(t.half).toBe(true);
    unA();
    expect(t.wanted).toBe(false);
    expect(t.half).toBe(false);
    expect(changes).toEqual([
      { wanted: true, half: false },
      { wanted: true, half: true },
      { wanted: true, half: false },
      { wanted: true, half: true },
      { wanted: false, half: false },
    ]);
  });

  it("ignores a rate for a listener it does not have", () => {
    const { t, changes } = track();
    t.setHalfRate(() => undefined, true);
    expect(t.half).toBe(false);
    expect(changes).toEqual([]);
  });
});

// Animation frames on a clock the test moves, 60 a second.
class Clock {
  time = 0;
  private tick = 0;
  private cb: ((t: number) => void) | null = null;
  readonly win = {
    requestAnimationFrame: (cb: (t: number) => void) => {
      this.cb = cb;
      return 1;
    },
    cancelAnimationFrame: () => {
      this.cb = null;
    },
  };
  readonly now = () => this.time;

  // Moves to time t (ms), running the animation frames on the way.
  advance(t: number): void {
    while (this.tick + 1000 / 60 <= t) {
      this.tick += 1000 / 60;
      this.time = this.tick;
      const cb = this.cb;
      this.cb = null;
      cb?.(this.tick);
    }
    this.time = t;
  }
}

function frame(timestampUs: number): VideoFrame {
  const f = { timestamp: timestampUs, displayWidth: 640, displayHeight: 360, close: () => undefined, clone: () => f };
  return f as unknown as VideoFrame;
}

// A drawn track whose frames are sent every intervalMs from phaseMs on and
// decoded up to jitterMs later.
function source(presenter: Presenter, id: number, intervalMs: number, phaseMs: number, jitterMs = 0) {
  const t = new RenderTrack(id, () => undefined, presenter);
  let drawn = 0;
  t.subscribe((f) => {
    drawn++;
    f.close();
  });
  let n = 0;
  let seed = id + 1;
  const jitter = () => {
    seed = (seed * 16807) % 2147483647;
    return (seed / 2147483647) * jitterMs;
  };
  let arrival = phaseMs + jitter();
  return {
    track: t,
    drawn: () => drawn,
    // Offers the frames decoded by time ms.
    deliver(ms: number) {
      while (arrival <= ms) {
        presenter.offer(t, frame((phaseMs + n * intervalMs) * 1000));
        n++;
        arrival = Math.max(arrival, phaseMs + n * intervalMs + jitter());
      }
    },
  };
}

// Runs the sources for seconds; returns the number of paints (animation
// frames that drew something).
function run(clock: Clock, sources: ReturnType<typeof source>[], seconds: number): number {
  const total = () => sources.reduce((n, s) => n + s.drawn(), 0);
  let paints = 0;
  let before = total();
  for (let t = 0; t < seconds * 1000; t++) {
    clock.advance(t);
    if (total() !== before) paints++;
    before = total();
    for (const s of sources) s.deliver(t);
  }
  return paints;
}

describe("Presenter", () => {
  // Painting each frame as it came (at most 30 times a second) made 120
  // paints here. With jitter a frame now and then cannot wait for the last
  // tile's and is painted on its own.
  it.each([
    { name: "on time", jitter: 0, maxPaints: 62 },
    { name: "decoded up to 8 ms late", jitter: 8, maxPaints: 70 },
  ])("paints a grid of 15 fps tiles about 15 times a second with every frame ($name)", ({ jitter, maxPaints }) => {
    const clock = new Clock();
    const p = new Presenter(clock.win, clock.now);
    const tiles = [0, 17, 29, 48].map((phase, i) => source(p, i, 1000 / 15, phase, jitter));
    const paints = run(clock, tiles, 4);
    expect(paints).toBeGreaterThanOrEqual(58);
    expect(paints).toBeLessThanOrEqual(maxPaints);
    for (const s of tiles) {
      expect(s.drawn()).toBeGreaterThanOrEqual(58);
      expect(s.track.replaced).toBeLessThanOrEqual(1);
    }
  });

  it("gives a 30 fps tile every frame beside 15 fps ones", () => {
    const clock = new Clock();
    const p = new Presenter(clock.win, clock.now);
    const slow = source(p, 1, 1000 / 15, 5, 4);
    const fast = source(p, 2, 1000 / 30, 11, 4);
    const paints = run(clock, [slow, fast], 2);
    expect(paints).toBeGreaterThanOrEqual(58);
    expect(paints).toBeLessThanOrEqual(61);
    expect(fast.drawn()).toBeGreaterThanOrEqual(58);
    expect(fast.track.replaced).toBeLessThanOrEqual(1);
    expect(slow.track.replaced).toBeLessThanOrEqual(1);
  });

  it("does not wait for a track that stopped sending", () => {
    const clock = new Clock();
    const p = new Presenter(clock.win, clock.now);
    const stalled = source(p, 1, 1000 / 15, 0);
    const live = source(p, 2, 1000 / 15, 20);
    run(clock, [stalled, live], 1); // both send for a second
    const drawnBefore = live.drawn();
    for (let t = 1000; t < 3000; t++) {
      clock.advance(t);
      live.deliver(t);
    }
    expect(live.drawn() - drawnBefore).toBeGreaterThanOrEqual(29);
    expect(live.track.replaced).toBeLessThanOrEqual(1);
  });

  // A frozen tile (its sender stalled, or only keyframes come) must not
  // cost the others frames. Painting on the timing rule alone, frames
  // decoded up to 30 ms late were replaced before their paint (52 of 60
  // drawn here; in the window, three 15 fps tiles drew 10.4–11.5 fps).
  it("draws every frame of the others while one tile is frozen", () => {
    const clock = new Clock();
    const p = new Presenter(clock.win, clock.now);
    const frozen = source(p, 9, 1000 / 15, 3);
    const live = [0, 17, 29].map((phase, i) => source(p, i, 1000 / 15, phase, 30));
    run(clock, [frozen, ...live], 1);
    const before = live.map((s) => s.drawn());
    const replacedBefore = live.map((s) => s.track.replaced);
    for (let t = 1000; t < 5000; t++) {
      clock.advance(t);
      for (const s of live) s.deliver(t);
    }
    live.forEach((s, i) => {
      expect(s.drawn() - before[i]!).toBeGreaterThanOrEqual(58);
      expect(s.track.replaced - replacedBefore[i]!).toBeLessThanOrEqual(1);
    });
  });
});

describe("RenderTrack frame interval", () => {
  it("follows a faster rate at once, a slower one gradually, and ignores gaps", () => {
    const t = new RenderTrack(1, () => undefined, new Presenter(idle));
    t.noteFrameTime(0);
    expect(t.frameIntervalMs).toBeNull();
    t.noteFrameTime(66_667);
    expect(t.frameIntervalMs).toBeCloseTo(66.7, 1);
    t.noteFrameTime(100_000); // a tile made large: 30 fps from here
    expect(t.frameIntervalMs).toBeCloseTo(33.3, 1);
    t.noteFrameTime(166_667);
    expect(t.frameIntervalMs).toBeGreaterThan(33.3);
    expect(t.frameIntervalMs).toBeLessThan(40);
    const before = t.frameIntervalMs;
    t.noteFrameTime(5_000_000); // paused for seconds
    t.noteFrameTime(5_000_000); // a repeated timestamp
    expect(t.frameIntervalMs).toBe(before);
  });
});
