import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defaultReconnectPolicy, Reconnector, type AttemptResult } from "../src/engine/reconnect";

const timers = {
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms) as unknown as number,
  clearTimeout: (id: number) => clearTimeout(id),
};

// A Reconnector whose attempts answer from `results` (then "retry"), each
// after `attemptMs`, recording when they started and what it was told.
function setup(results: AttemptResult[] = [], attemptMs = 0) {
  const started: number[] = [];
  const waits: [number, number][] = [];
  let gaveUp = 0;
  const t0 = Date.now();
  const rc = new Reconnector(
    defaultReconnectPolicy,
    timers,
    async () => {
      started.push(Date.now() - t0);
      if (attemptMs > 0) await new Promise((r) => setTimeout(r, attemptMs));
      return results.shift() ?? "retry";
    },
    { waiting: (n, ms) => waits.push([n, ms]), gaveUp: () => gaveUp++ },
  );
  return { rc, started, waits, gaveUps: () => gaveUp };
}

describe("Reconnector", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("tries at once, then backs off 250 ms, 500 ms, … up to 5 s", async () => {
    const { rc, started, waits } = setup();
    rc.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(started.slice(0, 8)).toEqual([0, 250, 750, 1750, 3750, 7750, 12750, 17750]);
    expect(waits.slice(0, 4)).toEqual([
      [1, 0],
      [2, 250],
      [3, 500],
      [4, 1000],
    ]);
    rc.stop();
  });

  it("stops after a success", async () => {
    const { rc, started, gaveUps } = setup(["retry", "done"]);
    rc.start();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(started).toEqual([0, 250]);
    expect(rc.active).toBe(false);
    expect(gaveUps()).toBe(0);
  });

  it("stops after a fatal attempt without giving up", async () => {
    const { rc, started, gaveUps } = setup(["fatal"]);
    rc.start();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(started).toEqual([0]);
    expect(gaveUps()).toBe(0);
  });

  it("gives up 60 s after the drop, exactly once, and tries no more", async () => {
    const { rc, started, gaveUps } = setup();
    rc.start();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(gaveUps()).toBe(0);
    expect(rc.active).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(gaveUps()).toBe(1);
    expect(rc.active).toBe(false);
    const n = started.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(started.length).toBe(n);
    expect(gaveUps()).toBe(1);
  });

  it("gives up on time even while an attempt hangs, and ignores its late success", async () => {
    const { rc, started, gaveUps } = setup(["retry", "done"], 40_000);
    rc.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(gaveUps()).toBe(1);
    expect(started).toEqual([0, 40_250]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(gaveUps()).toBe(1);
    expect(rc.active).toBe(false);
  });

  it("now() skips the pause; start() again restarts the clock", async () => {
    const { rc, started, gaveUps } = setup();
    rc.start();
    await vi.advanceTimersByTimeAsync(5_000); // attempts at 0, 250, 750, 1750, 3750; next at 7750
    rc.now();
    await vi.advanceTimersByTimeAsync(0);
    expect(started.at(-1)).toBe(5_000);
    await vi.advanceTimersByTimeAsync(50_000); // 55 s after the first start
    rc.start();
    await vi.advanceTimersByTimeAsync(59_000);
    expect(gaveUps()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(gaveUps()).toBe(1);
  });

  it("an attempt that throws counts as a failure", async () => {
    let n = 0;
    const rc = new Reconnector(
      defaultReconnectPolicy,
      timers,
      async () => {
        n++;
        if (n === 1) throw new Error("boom");
        return "done";
      },
      { waiting: () => undefined, gaveUp: () => undefined },
    );
    rc.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(n).toBe(2);
    expect(rc.active).toBe(false);
  });
});
