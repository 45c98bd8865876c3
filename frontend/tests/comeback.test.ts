import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Comeback, maxAutoJoins, watchEveryMs, watchForMs, type Timers } from "../src/meeting/comeback";
import type { ScreenText } from "../src/meeting/errors";

// Node's timers, which vi.useFakeTimers replaces, in the window's shape.
const timers: Timers = {
  setTimeout: (f, ms) => setTimeout(f, ms) as unknown as number,
  clearTimeout: (id) => clearTimeout(id as unknown as NodeJS.Timeout),
};

const screen = (view: string): ScreenText => ({ view, title: "t", message: "m.", next: ["rejoin"] });

describe("Comeback", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("rejoins once the server answers, and says it will", async () => {
    let up = false;
    const rejoin = vi.fn();
    const c = new Comeback(async () => up, timers);
    expect(c.show(screen("shutdown"), rejoin).message).toMatch(/rejoins by itself/);
    await vi.advanceTimersByTimeAsync(watchEveryMs * 3);
    expect(rejoin).not.toHaveBeenCalled();
    up = true;
    await vi.advanceTimersByTimeAsync(watchEveryMs);
    expect(rejoin).toHaveBeenCalledTimes(1);
  });

  it("does not watch after leaving, an ended meeting or a removal", async () => {
    const rejoin = vi.fn();
    const c = new Comeback(async () => true, timers);
    for (const view of ["left", "host-ended", "removed"]) expect(c.show(screen(view), rejoin).message).toBe("m.");
    await vi.advanceTimersByTimeAsync(watchEveryMs * 2);
    expect(rejoin).not.toHaveBeenCalled();
  });

  it("stops: a check on its way is ignored", async () => {
    let answer: (v: boolean) => void = () => undefined;
    const rejoin = vi.fn();
    const c = new Comeback(() => new Promise<boolean>((r) => (answer = r)), timers);
    c.show(screen("unreachable"), rejoin);
    await vi.advanceTimersByTimeAsync(watchEveryMs);
    c.stop();
    answer(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(rejoin).not.toHaveBeenCalled();
  });

  it("gives up after its time, and after joins that did not get in", async () => {
    const rejoin = vi.fn();
    const slow = new Comeback(async () => false, timers);
    slow.show(screen("shutdown"), rejoin);
    await vi.advanceTimersByTimeAsync(watchForMs + watchEveryMs * 2);
    const checks = vi.getTimerCount();
    expect(checks).toBe(0);

    const c = new Comeback(async () => true, timers);
    for (let i = 0; i < maxAutoJoins; i++) {
      c.show(screen("unreachable"), rejoin);
      await vi.advanceTimersByTimeAsync(watchEveryMs);
    }
    expect(rejoin).toHaveBeenCalledTimes(maxAutoJoins);
    expect(c.show(screen("unreachable"), rejoin).message).toBe("m.");
    // The user's Try again counts afresh.
    const tried = vi.fn();
    c.chosen(tried)();
    expect(tried).toHaveBeenCalledTimes(1);
    expect(c.show(screen("unreachable"), rejoin).message).toMatch(/rejoins by itself/);
  });
});
